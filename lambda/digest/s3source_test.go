package digest_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// moto's S3 holds the objects; moto delivers no flow logs, so the tests
// play the delivery service with flowrecordtest's writer (AWS's key layout,
// file names and Parquet columns, cited there).

const bucket = "flow-logs-bucket"

// s3Fixture is a fixture whose summarizer reads a bucket.
type s3Fixture struct {
	*fixture
	s3     *s3.Client
	layout flowrecordtest.S3Layout
}

func newS3Fixture(t *testing.T, layout flowrecordtest.S3Layout) *s3Fixture {
	t.Helper()
	f := newFixture(t)
	awsCfg, err := awsconfig.Load(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Path-style addressing: a loopback endpoint has no bucket subdomains.
	c := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	if _, err := c.CreateBucket(f.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	layout.Account, layout.Region = account, testenv.Region
	f.cfg.S3 = &digest.S3Source{Bucket: bucket, Prefix: layout.Prefix, HiveCompatible: layout.HiveCompatible, PerHour: layout.PerHour}
	return &s3Fixture{fixture: f, s3: c, layout: layout}
}

func (f *s3Fixture) clients() digest.Clients {
	c := f.fixture.clients()
	c.S3 = f.s3
	return c
}

func (f *s3Fixture) runS3() (digest.Result, error) {
	f.t.Helper()
	s, err := digest.New(f.cfg, f.clients())
	if err != nil {
		f.t.Fatal(err)
	}
	return s.Run(f.ctx)
}

func (f *s3Fixture) put(key string, body []byte) {
	f.t.Helper()
	if _, err := f.s3.PutObject(f.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		f.t.Fatal(err)
	}
}

// deliver generates records over the 40 minutes that end ten minutes
// before the fixture's real minute, puts them in the bucket as the
// service would, and returns each line with its object's delivery time as
// its timestamp: the time that places it in a window.
func (f *s3Fixture) deliver(seed int64, records int, malformed float64) []line {
	f.t.Helper()
	cfg := flowrecordtest.Config{
		Seed: seed, Records: records, Interfaces: 6, MalformedShare: malformed,
		StartTime: f.real.Add(-50 * time.Minute).Unix(), Span: int64((40 * time.Minute).Seconds()),
	}
	objs, err := flowrecordtest.GenerateObjects(flowrecordtest.NewGenerator(cfg), f.layout, 700)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, o := range objs {
		f.put(o.Key, o.Body)
	}
	// The same lines again, with the delivery times the writer used.
	g := flowrecordtest.NewGenerator(cfg)
	p := flowrecord.NewParser(g.Format())
	var rec flowrecord.Record
	var out []line
	var ts int64
	for g.Next() {
		if err := p.Parse(g.Line(), &rec); err == nil {
			ts = flowrecordtest.PublishTime(rec.End).UnixMilli()
		}
		if g.Line() == "" {
			continue // a text object holds no empty line, nor counts one
		}
		out = append(out, line{ts: ts, text: g.Line()})
	}
	return out
}

// TestS3DigestEqualsGenerator proves a run over S3 objects gives the same
// digest as the generator's own tally, for both file formats and AWS's
// four layouts, Parquet read column-wise across several row groups.
func TestS3DigestEqualsGenerator(t *testing.T) {
	cases := []struct {
		name      string
		layout    flowrecordtest.S3Layout
		malformed float64
	}{
		{"parquet, hive, per hour", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true}, 0},
		{"parquet, daily, with a prefix", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatParquet, Prefix: "central/vpc"}, 0},
		{"text, hive, per hour, malformed lines", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatPlainText, HiveCompatible: true, PerHour: true}, 0.003},
		{"text, plain per hour", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatPlainText, PerHour: true}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newS3Fixture(t, c.layout)
			lines := f.deliver(11, 6000, c.malformed)
			res, err := f.runS3()
			if err != nil {
				t.Fatal(err)
			}
			ds := f.digests()
			if len(ds) != 1 {
				t.Fatalf("%d digests, want 1", len(ds))
			}
			want, accRej := expectWindow(lines, flowrecord.DefaultFormat(), res.From, res.To)
			if want.Totals.Records+want.Malformed.Count != uint64(len(lines)) {
				t.Fatalf("the window [%s, %s) holds %d of %d lines: the test's clock is off", res.From, res.To, want.Totals.Records+want.Malformed.Count, len(lines))
			}
			checkDigest(t, ds[0], want, accRej)
			// Findings live after the reading step, so S3 digests have
			// them as log group digests do: evaluated, with a baseline.
			if fb := ds[0].FindingsBasis; fb == nil || fb.Baseline == "" || ds[0].Findings == nil {
				t.Errorf("S3 digest without findings: findings %v, basis %+v", ds[0].Findings, fb)
			}
			if ds[0].Read.Objects < 8 || ds[0].Read.BadObjects != 0 {
				t.Errorf("read %d objects, %d bad; want at least 8 (one a 5-minute period) and none bad", ds[0].Read.Objects, ds[0].Read.BadObjects)
			}
		})
	}
}

// TestS3ExactlyOnceAcrossWindows proves each object is counted by exactly
// one of consecutive runs: the totals of three runs whose windows cut the
// delivery periods at arbitrary minutes equal the generator's.
func TestS3ExactlyOnceAcrossWindows(t *testing.T) {
	f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
	lines := f.deliver(5, 8000, 0)
	final := f.now
	f.cfg.SchedulePeriod = time.Hour
	f.now = final.Add(-23 * time.Minute)
	for range 3 {
		if _, err := f.runS3(); err != nil {
			t.Fatal(err)
		}
		f.now = f.now.Add(17 * time.Minute)
	}
	f.now = final.Add(time.Hour)
	if _, err := f.runS3(); err != nil {
		t.Fatal(err)
	}
	ds := f.digests()
	checkContiguous(t, ds)
	got, _, _, _ := sumTotals(ds)
	want, _ := expectWindow(lines, flowrecord.DefaultFormat(), ds[0].Window.From, ds[len(ds)-1].Window.To)
	if got.Records != want.Totals.Records || got.Bytes != want.Totals.Bytes || got.Records != uint64(len(lines)) {
		t.Errorf("%d digests counted %d records, %d bytes; want %d records (%d lines), %d bytes",
			len(ds), got.Records, got.Bytes, want.Totals.Records, len(lines), want.Totals.Bytes)
	}
	if len(ds) < 3 {
		t.Errorf("%d digests, want the windows cut at least three times", len(ds))
	}
}

// TestS3HostileObjects proves objects another principal put in the folders
// are named in the digest and not counted, while every good object is:
// keys off the layout, an object over the size bound, a truncated Parquet
// file, gzip that is not, a Parquet file with a column no flow log has,
// and Parquet strings that would shift the fields of a line.
func TestS3HostileObjects(t *testing.T) {
	f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
	f.cfg.S3.MaxObjectBytes = 1 << 20
	lines := f.deliver(9, 3000, 0)
	at := f.real.Truncate(5 * time.Minute)
	folder := f.layout.PartitionPrefix(at)
	key := func(hash string, ext string) string {
		return strings.TrimSuffix(f.layout.Key(at, hash), ".log.parquet") + ext
	}
	var good bytes.Buffer
	if err := flowrecordtest.WriteObject(&good, flowrecordtest.FileFormatParquet, flowrecord.DefaultFormat(),
		[]string{lines[0].text}, 0); err != nil {
		t.Fatal(err)
	}
	spacedBody := spacedParquet(t, at)
	bad := map[string][]byte{
		folder + "notes.txt": []byte("not a flow log"),
		folder + "999999999999_vpcflowlogs_us-east-1_fl-0123456789abcdef0_" + at.Format("20060102T1504Z") + "_00000001.log.parquet": good.Bytes(),
		key("0000000a", ".log.parquet"): good.Bytes()[:len(good.Bytes())/2],
		key("0000000b", ".log.gz"):      []byte("plain bytes, not gzip"),
		key("0000000c", ".log.parquet"): bytes.Repeat([]byte{'x'}, 2<<20),
		key("0000000d", ".log.parquet"): bytes.Replace(good.Bytes(), []byte("log_status"), []byte("log_statux"), 1),
	}
	for k, body := range bad {
		f.put(k, body)
	}
	f.put(key("0000000e", ".log.parquet"), spacedBody)
	res, err := f.runS3()
	if err != nil {
		t.Fatal(err)
	}
	d := f.digests()[0]
	want, _ := expectWindow(lines, flowrecord.DefaultFormat(), res.From, res.To)
	if d.Totals.Records != want.Totals.Records || d.Totals.Bytes != want.Totals.Bytes {
		t.Errorf("counted %d records, %d bytes; want the good objects' %d, %d", d.Totals.Records, d.Totals.Bytes, want.Totals.Records, want.Totals.Bytes)
	}
	if d.Read.BadObjects != uint64(len(bad)) {
		t.Errorf("%d bad objects, want %d", d.Read.BadObjects, len(bad))
	}
	all := strings.Join(d.Warnings, "\n")
	for k := range bad {
		if !strings.Contains(all, k) {
			t.Errorf("no warning names %s:\n%s", k, all)
		}
	}
	if d.Malformed.Count != 1 {
		t.Errorf("%d malformed records, want 1 (the row with a space in a string)", d.Malformed.Count)
	}
}

// spacedParquet is a Parquet object of one record whose vpc_id holds a
// space: rendered as a line, it would shift the fields after it.
func spacedParquet(t *testing.T, at time.Time) []byte {
	t.Helper()
	f, err := flowrecord.ParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id}")
	if err != nil {
		t.Fatal(err)
	}
	vals := []parquet.Value{
		parquet.Int32Value(3), parquet.ByteArrayValue([]byte(account)), parquet.ByteArrayValue([]byte("eni-0123456789abcdef0")),
		parquet.ByteArrayValue([]byte("10.0.0.1")), parquet.ByteArrayValue([]byte("10.0.0.2")), parquet.Int32Value(1), parquet.Int32Value(443),
		parquet.Int32Value(6), parquet.Int64Value(1), parquet.Int64Value(40), parquet.Int64Value(at.Unix() - 60), parquet.Int64Value(at.Unix() - 1),
		parquet.ByteArrayValue([]byte("ACCEPT")), parquet.ByteArrayValue([]byte("OK")), parquet.ByteArrayValue([]byte("vpc-01234 6789abcdef0")),
	}
	row := make(parquet.Row, len(vals))
	for i, v := range vals {
		row[i] = v.Level(0, 1, i)
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, flowrecordtest.ParquetSchema(f))
	if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestS3FailureAfterDigestIsNotCountedTwice proves S3 mode keeps the run
// state protocol: a run that wrote its digest and failed to advance the
// checkpoint is adopted by the next (its digest names the bucket, as the
// intent's does), and no object is counted twice.
func TestS3FailureAfterDigestIsNotCountedTwice(t *testing.T) {
	f := newS3Fixture(t, flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true})
	lines := f.deliver(4, 5000, 0)
	final := f.now
	f.now = final.Add(-25 * time.Minute)
	f.state = &failCheckpointWrite{API: f.db, armed: true}
	if _, err := f.runS3(); err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("run with the checkpoint write denied: err = %v, want a checkpoint error", err)
	}
	f.state = nil
	f.now = final
	if _, err := f.runS3(); err != nil {
		t.Fatal(err)
	}
	ds := f.digests()
	if len(ds) != 2 {
		t.Fatalf("%d digests, want the failed run's, adopted, and the next", len(ds))
	}
	checkContiguous(t, ds)
	got, _, _, _ := sumTotals(ds)
	if got.Records != uint64(len(lines)) || ds[0].LogGroup != "s3://"+bucket {
		t.Errorf("%d records over the digests, want %d; the first names %q", got.Records, len(lines), ds[0].LogGroup)
	}
}
