package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// TestAnswerEqualsTheGeneratorsTopTalkers proves the command's answer to
// TopTalkers, over files in AWS's layouts, is the generator's own exact
// top talkers (the tally the digest is held to): the numbers the demo
// prints next to the digest's.
func TestAnswerEqualsTheGeneratorsTopTalkers(t *testing.T) {
	cases := []struct {
		name   string
		layout flowrecordtest.S3Layout
	}{
		{"parquet, hive, per hour", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true}},
		{"plain text, plain folders, daily, prefix", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatPlainText, Prefix: "central"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
			g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 3, Records: 2000, Interfaces: 5, StartTime: start.Unix(), Span: 3600, MalformedShare: -1})
			objs, err := flowrecordtest.GenerateObjects(g, c.layout, 500)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, o := range objs {
				path := filepath.Join(dir, filepath.FromSlash(o.Key))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, o.Body, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := g.Expected(flowrecord.Options{TopK: 20}) // of the lines the objects hold
			var out bytes.Buffer
			from := athenaquery.PartitionKey(start.Add(-24*time.Hour), c.layout.PerHour)
			to := athenaquery.PartitionKey(start.Add(48*time.Hour), c.layout.PerHour)
			if err := run(&out, dir, c.layout.Prefix, c.layout.FileFormat, c.layout.HiveCompatible, c.layout.PerHour, "TopTalkers", from, to); err != nil {
				t.Fatal(err)
			}
			var a Answer
			if err := json.Unmarshal(out.Bytes(), &a); err != nil {
				t.Fatalf("the answer is not JSON: %v\n%s", err, out.String())
			}
			got := map[string]string{}
			for _, r := range a.Rows {
				got[r[0]+" "+r[1]] = r[2]
			}
			if len(want.TopTalkers) < 10 || len(a.Rows) != len(want.TopTalkers) {
				t.Fatalf("%d rows, the generator's top list %d (want at least 10 to compare)", len(a.Rows), len(want.TopTalkers))
			}
			for _, w := range want.TopTalkers {
				if b := got[w.Src.String()+" "+w.Dst.String()]; b != strconv.FormatUint(w.Bytes, 10) {
					t.Errorf("%s -> %s: the query says %q bytes, the generator %d", w.Src, w.Dst, b, w.Bytes)
				}
			}
		})
	}
}

// TestRefusesBadArguments proves the bounds are checked before they reach
// the SQL, and only queries of a range are taken.
func TestRefusesBadArguments(t *testing.T) {
	cases := []struct{ name, format, query, from, want string }{
		{"a bound that is not a partition key", "parquet", "TopTalkers", "2026'; DROP", "partition key"},
		{"a query with more parameters", "parquet", "InterfaceTraffic", "2026120300", "no named query"},
		{"an unknown format", "orc", "TopTalkers", "2026120300", "want parquet or plain-text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(&bytes.Buffer{}, t.TempDir(), "", c.format, true, true, c.query, c.from, "2026120400")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestShippedBinariesDoNotLinkDuckDB keeps DuckDB out of what ships and
// out of the default demo: only this command links it. (Checked by
// importing this command's driver in the demo: the test then fails naming
// it.)
func TestShippedBinariesDoNotLinkDuckDB(t *testing.T) {
	for _, pkg := range []string{"lambda/summarizer", "lambda/enabler", "lambda/internal/e2e/demo"} {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "../../../../../"+pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if strings.Contains(dep, "duckdb") {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		})
	}
}
