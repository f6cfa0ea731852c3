package flowrecordtest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// TestS3LayoutKeys proves the keys follow AWS's documented layouts
// (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html): the
// plain and Hive-compatible folders, daily and per hour, and the file name
// of the page's example.
func TestS3LayoutKeys(t *testing.T) {
	at := time.Date(2018, 6, 20, 16, 20, 0, 0, time.UTC)
	base := flowrecordtest.S3Layout{Account: "123456789012", Region: "us-east-1", FlowLogID: "fl-1234abcd", FileFormat: flowrecordtest.FileFormatPlainText}
	cases := []struct {
		name   string
		edit   func(*flowrecordtest.S3Layout)
		prefix string
	}{
		{"daily", func(*flowrecordtest.S3Layout) {}, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/"},
		{"per hour", func(l *flowrecordtest.S3Layout) { l.PerHour = true }, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/16/"},
		{"hive daily", func(l *flowrecordtest.S3Layout) { l.HiveCompatible = true },
			"AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/"},
		{"hive per hour with a prefix", func(l *flowrecordtest.S3Layout) { l.HiveCompatible, l.PerHour, l.Prefix = true, true, "my-logs" },
			"my-logs/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2018/month=06/day=20/hour=16/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := base
			c.edit(&l)
			if got := l.PartitionPrefix(at); got != c.prefix {
				t.Errorf("PartitionPrefix = %q, want %q", got, c.prefix)
			}
			want := c.prefix + "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
			if got := l.Key(at, "fe123456"); got != want {
				t.Errorf("Key = %q, want %q", got, want)
			}
			l.FileFormat = flowrecordtest.FileFormatParquet
			if got := l.Key(at, "fe123456"); !strings.HasSuffix(got, "_fe123456.log.parquet") {
				t.Errorf("Parquet key = %q, want the .log.parquet extension", got)
			}
		})
	}
}

// TestPublishTime proves a record goes to the file of the 5-minute period
// (t-5 min, t] holding its end, as the page's example (16:15:01 to 16:20:00
// in the 1620Z file) says.
func TestPublishTime(t *testing.T) {
	day := time.Date(2018, 6, 20, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		end  time.Time
		want time.Time
	}{
		{"first second of the period", day.Add(16*time.Hour + 15*time.Minute + time.Second), day.Add(16*time.Hour + 20*time.Minute)},
		{"last second of the period", day.Add(16*time.Hour + 20*time.Minute), day.Add(16*time.Hour + 20*time.Minute)},
		{"the hour's last period", day.Add(16*time.Hour + 59*time.Minute), day.Add(17 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := flowrecordtest.PublishTime(c.end.Unix()); !got.Equal(c.want) {
				t.Errorf("PublishTime(%s) = %s, want %s", c.end, got, c.want)
			}
		})
	}
}

// TestParquetSchema proves the Parquet files carry AWS's column names,
// order and types (flow-log-records.html, "Parquet data type"): INT_32,
// INT_64 and STRING, every column optional ("-" is null).
func TestParquetSchema(t *testing.T) {
	f, err := flowrecord.ParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${tcp-flags} ${flow-direction} ${traffic-path}")
	if err != nil {
		t.Fatal(err)
	}
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 3, Records: 50, Format: f})
	objs, err := flowrecordtest.GenerateObjects(g, flowrecordtest.S3Layout{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(objs[0].Body), int64(len(objs[0].Body)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		typ  string
	}{
		{"version", "INT32"}, {"account_id", "BYTE_ARRAY"}, {"interface_id", "BYTE_ARRAY"}, {"srcaddr", "BYTE_ARRAY"},
		{"dstaddr", "BYTE_ARRAY"}, {"srcport", "INT32"}, {"dstport", "INT32"}, {"protocol", "INT32"},
		{"packets", "INT64"}, {"bytes", "INT64"}, {"start", "INT64"}, {"end", "INT64"}, {"action", "BYTE_ARRAY"},
		{"log_status", "BYTE_ARRAY"}, {"vpc_id", "BYTE_ARRAY"}, {"tcp_flags", "INT32"}, {"flow_direction", "BYTE_ARRAY"},
		{"traffic_path", "INT32"},
	}
	cols := pf.Schema().Fields()
	if len(cols) != len(want) {
		t.Fatalf("%d columns, want %d", len(cols), len(want))
	}
	for i, c := range cols {
		if c.Name() != want[i].name || c.Type().Kind().String() != want[i].typ || !c.Optional() {
			t.Errorf("column %d = %s %s optional=%v, want optional %s %s", i, c.Name(), c.Type().Kind(), c.Optional(), want[i].name, want[i].typ)
		}
	}
}

// TestObjectsRoundTrip proves both file formats give back exactly the
// generator's lines, every layout files each line in its period's object,
// and a Parquet file holds several row groups when asked.
func TestObjectsRoundTrip(t *testing.T) {
	for _, ff := range []string{flowrecordtest.FileFormatParquet, flowrecordtest.FileFormatPlainText} {
		t.Run(ff, func(t *testing.T) {
			cfg := flowrecordtest.Config{Seed: 7, Records: 3000, StartTime: 1_767_225_600, Span: 1800}
			var lines []string
			ref := flowrecordtest.NewGenerator(cfg)
			for ref.Next() {
				lines = append(lines, ref.Line())
			}
			objs, err := flowrecordtest.GenerateObjects(flowrecordtest.NewGenerator(cfg), flowrecordtest.S3Layout{FileFormat: ff, PerHour: true, HiveCompatible: true}, 500)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) < 6 {
				t.Fatalf("%d objects for 30 minutes, want at least 6 (one a 5-minute period)", len(objs))
			}
			var got []string
			for _, o := range objs {
				ls := readBack(t, ff, o.Body)
				if len(ls) != o.Lines {
					t.Errorf("%s: %d lines, want %d", o.Key, len(ls), o.Lines)
				}
				got = append(got, ls...)
			}
			// Lines move between files by their period, so compare them as
			// multisets.
			slices.Sort(got)
			slices.Sort(lines)
			if strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("the objects' lines differ from the generator's (%d vs %d lines)", len(got), len(lines))
			}
		})
	}
}

// TestParquetRefusesWhatItCannotHold proves a line that a typed column
// cannot hold is refused, naming the field and the value.
func TestParquetRefusesWhatItCannotHold(t *testing.T) {
	f := flowrecord.DefaultFormat()
	err := flowrecordtest.WriteObject(io.Discard, flowrecordtest.FileFormatParquet, f,
		[]string{"2 123456789012 eni-0123456789abcdef0 10.0.0.1 10.0.0.2 1 2 6 1 12x4 1 2 ACCEPT OK"}, 0)
	if err == nil || !strings.Contains(err.Error(), `"12x4"`) {
		t.Errorf("err = %v, want one naming 12x4", err)
	}
}

// readBack decodes a file row by row, independently of the digest's
// column-wise reader, and prints each row as a line.
func readBack(t *testing.T, ff string, body []byte) []string {
	t.Helper()
	if ff == flowrecordtest.FileFormatPlainText {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		var out []string
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		if len(out) == 0 || out[0] != flowrecordtest.TextHeader(flowrecord.DefaultFormat()) {
			t.Fatalf("the text file does not start with the header line")
		}
		return out[1:]
	}
	pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.RowGroups()) < 2 && pf.NumRows() > 500 {
		t.Errorf("%d rows in %d row groups, want groups of at most 500", pf.NumRows(), len(pf.RowGroups()))
	}
	r := parquet.NewReader(pf)
	rows := make([]parquet.Row, 64)
	var out []string
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			toks := make([]string, len(row))
			for i, v := range row {
				switch {
				case v.IsNull():
					toks[i] = "-"
				case v.Kind() == parquet.Int32:
					toks[i] = strconv.FormatInt(int64(v.Int32()), 10)
				case v.Kind() == parquet.Int64:
					toks[i] = strconv.FormatInt(v.Int64(), 10)
				default:
					toks[i] = string(v.ByteArray())
				}
			}
			out = append(out, strings.Join(toks, " "))
		}
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
