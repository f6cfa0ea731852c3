package athenaquery_test

import (
	"cmp"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver, test-only

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// record is one generated line, split by the default format's positions.
type record struct {
	iface, src, dst, action, status string
	dstport, protocol               string
	packets, bytes, start, end      int64
	partition                       string // the partition key of the file holding it
}

// world is what the test delivered: the records, and the files under dir.
type world struct {
	dir     string
	records []record
	ifaces  [][]string // interfaces of each generator
	// tallies are each generator's own exact summary of what it wrote
	// (flowrecordtest's tally, which the digest tests hold the S3 digest
	// to).
	tallies []flowrecord.Summary
}

// twoGenerators write three hours from hour0, then, with interfaces of
// their own, the third hour again: those interfaces are new there.
var twoGenerators = []flowrecordtest.Config{
	{Seed: 1, Records: records1, StartTime: hour0, Span: 3 * 3600, Interfaces: 8, SkipDataShare: 0.01, MalformedShare: -1},
	{Seed: 2, Records: records2, StartTime: hour0 + 2*3600, Span: 3600, Interfaces: 3, SkipDataShare: 0.01, MalformedShare: -1},
}

const (
	hour0 = 1_767_225_600 // 2026-01-01T00:00:00Z
	// The first generator writes three hours from hour0; the second, with
	// interfaces of its own, the third hour only: its interfaces are new
	// there.
	records1, records2 = 6000, 1500
)

// deliver generates the records, delivers them in layout l as AWS would
// (one file a 5-minute period, by each record's end: the s3-reader's
// writer, flowrecordtest.Deliver) and writes the files under a directory
// at their keys.
func deliver(t *testing.T, l flowrecordtest.S3Layout, gens ...flowrecordtest.Config) world {
	t.Helper()
	w := world{dir: t.TempDir()}
	for _, c := range gens {
		g := flowrecordtest.NewGenerator(c)
		var lines []string
		var ends []int64
		for g.Next() {
			r := parseRecord(t, g.Line())
			lines, ends = append(lines, g.Line()), append(ends, r.end)
			r.partition = athenaquery.PartitionKey(flowrecordtest.PublishTime(r.end), l.PerHour)
			w.records = append(w.records, r)
		}
		w.ifaces = append(w.ifaces, g.InterfaceIDs())
		w.tallies = append(w.tallies, g.Expected(flowrecord.Options{}))
		objs, err := flowrecordtest.Deliver(l, g.Format(), lines, ends, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			path := filepath.Join(w.dir, filepath.FromSlash(o.Key))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, o.Body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// parseRecord splits a default-format line on its own, without the
// project's parser: the count the queries are checked against is
// independent of both the SQL engine and package flowrecord.
func parseRecord(t *testing.T, line string) record {
	t.Helper()
	f := strings.Split(line, " ")
	if len(f) != 14 {
		t.Fatalf("line %q has %d fields", line, len(f))
	}
	num := func(s string) int64 {
		if s == "-" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		return n
	}
	return record{iface: f[2], src: f[3], dst: f[4], dstport: f[6], protocol: f[7], packets: num(f[8]), bytes: num(f[9]),
		start: num(f[10]), end: num(f[11]), action: f[12], status: f[13]}
}

// group sums records by a key of strings.
type group struct {
	key                    []string
	records, packets, bytb int64
	ports, targets         map[string]bool
	first                  int64
	firstPartition         string
}

func groupBy(rs []record, keep func(record) bool, key func(record) []string) []*group {
	m := map[string]*group{}
	var out []*group
	for _, r := range rs {
		if !keep(r) {
			continue
		}
		k := key(r)
		g := m[strings.Join(k, "\x00")]
		if g == nil {
			g = &group{key: k, ports: map[string]bool{}, targets: map[string]bool{}, first: r.start, firstPartition: r.partition}
			m[strings.Join(k, "\x00")] = g
			out = append(out, g)
		}
		g.records, g.packets, g.bytb = g.records+1, g.packets+r.packets, g.bytb+r.bytes
		g.ports[r.dstport], g.targets[r.dst] = true, true
		g.first, g.firstPartition = min(g.first, r.start), min(g.firstPartition, r.partition)
	}
	return out
}

func str(v ...any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprint(x)
	}
	return out
}

func limit(rows [][]string, n int) [][]string { return rows[:min(n, len(rows))] }

// expected computes each named query's answer from the records, for the
// range [from, to) of partitions (lookback: the NewInterfaces query's
// first partition), in the queries' order and with their ORDER BY.
func expected(w world, name, lookback, from, to, iface string, minPorts int) [][]string {
	in := func(lo, hi string) func(record) bool {
		return func(r record) bool { return r.partition >= lo && r.partition < hi }
	}
	inRange := in(from, to)
	var rows [][]string
	switch name {
	case "TopTalkers":
		gs := groupBy(w.records, func(r record) bool { return inRange(r) && r.status == "OK" }, func(r record) []string { return []string{r.src, r.dst} })
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(b.bytb, a.bytb), slices.Compare(a.key, b.key))
		})
		for _, g := range gs {
			rows = append(rows, str(g.key[0], g.key[1], g.bytb, g.packets, g.records))
		}
		return limit(rows, 20)
	case "RejectedBySource", "RejectedPortScans":
		gs := groupBy(w.records, func(r record) bool { return inRange(r) && r.action == "REJECT" }, func(r record) []string { return []string{r.src} })
		if name == "RejectedBySource" {
			slices.SortFunc(gs, func(a, b *group) int {
				return cmp.Or(cmp.Compare(b.records, a.records), cmp.Compare(a.key[0], b.key[0]))
			})
			for _, g := range gs {
				rows = append(rows, str(g.key[0], g.records, g.packets, g.bytb))
			}
			return limit(rows, 20)
		}
		gs = slices.DeleteFunc(gs, func(g *group) bool { return len(g.ports) < minPorts })
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(len(b.ports), len(a.ports)), cmp.Compare(a.key[0], b.key[0]))
		})
		for _, g := range gs {
			rows = append(rows, str(g.key[0], len(g.ports), len(g.targets), g.records))
		}
		return limit(rows, 50)
	case "InterfaceTraffic":
		gs := groupBy(w.records, func(r record) bool { return inRange(r) && r.iface == iface },
			func(r record) []string { return []string{r.src, r.dst, r.dstport, r.protocol, r.action} })
		// A group of NODATA and SKIPDATA records (no action) sums no
		// bytes: NULL, which ORDER BY … DESC puts last.
		null := func(g *group) bool { return g.key[4] == "-" }
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(boolInt(null(a)), boolInt(null(b))), cmp.Compare(b.bytb, a.bytb), compareNullsLast(a.key, b.key))
		})
		for _, g := range gs {
			sums := str(g.bytb, g.packets, g.records)
			if null(g) {
				sums[0], sums[1] = "-", "-"
			}
			rows = append(rows, append(slices.Clone(g.key), sums...))
		}
		return limit(rows, 100)
	case "SkipDataWindows":
		gs := groupBy(w.records, func(r record) bool { return inRange(r) && r.status == "SKIPDATA" },
			func(r record) []string { return str(r.iface, r.start, r.end) })
		slices.SortFunc(gs, func(a, b *group) int {
			return cmp.Or(cmp.Compare(num(a.key[1]), num(b.key[1])), cmp.Compare(a.key[0], b.key[0]), cmp.Compare(num(a.key[2]), num(b.key[2])))
		})
		for _, g := range gs {
			rows = append(rows, append(slices.Clone(g.key), str(g.records)...))
		}
		return rows
	case "NewInterfaces":
		gs := groupBy(w.records, in(lookback, to), func(r record) []string { return []string{r.iface} })
		gs = slices.DeleteFunc(gs, func(g *group) bool { return g.firstPartition < from })
		slices.SortFunc(gs, func(a, b *group) int { return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(a.key[0], b.key[0])) })
		for _, g := range gs {
			rows = append(rows, str(g.key[0], g.first, g.records))
		}
		return rows
	}
	panic("no expectation for query " + name)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func num(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// compareNullsLast orders keys as SQL's ORDER BY does ascending: "-" (NULL
// in the table) after every value, as DuckDB and Athena place NULLs by
// default; the port and protocol numerically.
func compareNullsLast(a, b []string) int {
	for i := range a {
		switch {
		case a[i] == b[i]:
			continue
		case a[i] == "-":
			return 1
		case b[i] == "-":
			return -1
		case i == 2 || i == 3:
			return cmp.Compare(num(a[i]), num(b[i]))
		}
		return cmp.Compare(a[i], b[i])
	}
	return 0
}

// query runs sql with args and renders every value as the expectations do
// (NULL as "-").
func query(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "-"
			if v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNamedQueriesInDuckDB runs the Glue table, rendered for DuckDB, and
// every named query, with the very SQL the stack gives Athena, over files
// written in AWS's key layout and Parquet schema (and gzip text), and
// checks every row against an independent computation over the generated
// records: the table's partitions, columns and types, and the queries'
// SQL, are right for the files AWS writes.
func TestNamedQueriesInDuckDB(t *testing.T) {
	cases := []struct {
		name   string
		layout flowrecordtest.S3Layout
	}{
		{"parquet, hive, hourly, prefix", flowrecordtest.S3Layout{Prefix: "org/flows", HiveCompatible: true, PerHour: true}},
		{"parquet, plain folders, daily", flowrecordtest.S3Layout{}},
		{"plain text, hive, hourly", flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatPlainText, HiveCompatible: true, PerHour: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.layout
			w := deliver(t, l, twoGenerators...)
			cols, err := athenaquery.Columns("")
			if err != nil {
				t.Fatal(err)
			}
			table := athenaquery.Table{Bucket: "bucket", Prefix: l.Prefix, Parquet: l.FileFormat != flowrecordtest.FileFormatPlainText,
				HiveCompatible: l.HiveCompatible, PerHour: l.PerHour, Columns: cols}
			db, err := sql.Open("duckdb", "")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(table.DuckDBView(w.dir)); err != nil {
				t.Fatalf("the view: %v\n%s", err, table.DuckDBView(w.dir))
			}
			checkEveryFileMatchesTheLayout(t, db, len(w.records))
			at := func(h int) string { return athenaquery.PartitionKey(time.Unix(hour0+int64(h)*3600, 0), l.PerHour) }
			lookback, from, to := at(0), at(2), at(4)
			if !l.PerHour {
				// Daily partitions: the whole day, and nothing before it.
				lookback, from, to = at(-24), at(0), at(24)
			}
			iface := w.ifaces[0][0]
			for _, q := range athenaquery.Queries(l.PerHour) {
				args := map[string][]any{
					"TopTalkers": {from, to}, "RejectedBySource": {from, to}, "RejectedPortScans": {from, to, 3},
					"InterfaceTraffic": {from, to, iface}, "SkipDataWindows": {from, to}, "NewInterfaces": {lookback, to, from},
				}[q.Name]
				got := query(t, db, q.SQL, args...)
				want := expected(w, q.Name, lookback, from, to, iface, 3)
				if len(want) == 0 {
					t.Errorf("%s: the data gives no rows to compare", q.Name)
				}
				if !slices.EqualFunc(got, want, slices.Equal) {
					t.Errorf("%s: DuckDB gave %d rows, the records %d\n got %v\nwant %v", q.Name, len(got), len(want), limit(got, 5), limit(want, 5))
				}
			}
			if l.PerHour {
				// The new interfaces of the third hour are exactly the
				// second generator's.
				var got []string
				for _, r := range query(t, db, athenaquery.Queries(true)[5].SQL, lookback, at(3), at(2)) {
					got = append(got, r[0])
				}
				slices.Sort(got)
				if want := slices.Sorted(slices.Values(w.ifaces[1])); !slices.Equal(got, want) {
					t.Errorf("new interfaces %v, want the second generator's %v", got, want)
				}
			}
		})
	}
}

// checkEveryFileMatchesTheLayout proves that the partition pattern took
// every delivered record's partitions from its key: no row is left with an
// empty partition, and every record is read once.
func checkEveryFileMatchesTheLayout(t *testing.T, db *sql.DB, records int) {
	t.Helper()
	got := query(t, db, "SELECT count(*), count(*) FILTER (WHERE aws_account_id = '' OR aws_region = '' OR day = '') FROM flow_logs")
	if want := str(records, 0); !slices.Equal(got[0], want) {
		t.Errorf("rows and rows outside the layout %v, want %v", got[0], want)
	}
}

// TestDuckDBViewAgreesWithFlowRecord proves the columns AWS's Parquet
// schema gives (the writer's) are the table's, in order.
func TestDuckDBViewAgreesWithFlowRecord(t *testing.T) {
	cols, _ := athenaquery.Columns("")
	for i, fd := range flowrecord.DefaultFormat().Fields() {
		name, _ := flowrecordtest.ParquetColumn(fd)
		if cols[i].Name != name {
			t.Errorf("column %d: table %s, Parquet files %s", i, cols[i].Name, name)
		}
	}
}

// TestNamedQueriesAgreeWithTheTally runs the named queries over every
// partition of one generator's files and checks their numbers against the
// generator's own exact tally, the summary the S3 digest is held to in
// lambda/digest's tests: total and rejected records, each top talker's
// bytes and each top rejected source's records. (A digest run itself needs
// that package's moto fixture; the tally is what it must equal.)
func TestNamedQueriesAgreeWithTheTally(t *testing.T) {
	l := flowrecordtest.S3Layout{HiveCompatible: true, PerHour: true}
	w := deliver(t, l, twoGenerators[0])
	cols, _ := athenaquery.Columns("")
	table := athenaquery.Table{Bucket: "bucket", Parquet: true, HiveCompatible: true, PerHour: true, Columns: cols}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(table.DuckDBView(w.dir)); err != nil {
		t.Fatal(err)
	}
	tally := w.tallies[0]
	from, to := "0000000000", "9999999999"
	totals := query(t, db, "SELECT count(*), count(*) FILTER (WHERE action = 'REJECT'), count(*) FILTER (WHERE action = 'ACCEPT') FROM flow_logs WHERE "+
		"concat(year, month, day, hour) >= ? AND concat(year, month, day, hour) < ?", from, to)
	if want := str(tally.Totals.Records, tally.Totals.Rejected, tally.Totals.Accepted); !slices.Equal(totals[0], want) {
		t.Errorf("records, rejected, accepted %v; the tally %v", totals[0], want)
	}
	byName := map[string]athenaquery.Query{}
	for _, q := range athenaquery.Queries(true) {
		byName[q.Name] = q
	}
	talkers := map[string]string{}
	for _, r := range query(t, db, byName["TopTalkers"].SQL, from, to) {
		talkers[r[0]+" "+r[1]] = r[2]
	}
	for _, tk := range tally.TopTalkers {
		if got := talkers[tk.Src.String()+" "+tk.Dst.String()]; got != fmt.Sprint(tk.Bytes) {
			t.Errorf("talker %s -> %s: %s bytes in Athena's answer, %d in the tally", tk.Src, tk.Dst, got, tk.Bytes)
		}
	}
	rejected := map[string]string{}
	for _, r := range query(t, db, byName["RejectedBySource"].SQL, from, to) {
		rejected[r[0]] = r[1]
	}
	for _, s := range tally.TopRejectedSources {
		if got := rejected[s.Src.String()]; got != fmt.Sprint(s.Records) {
			t.Errorf("rejected source %s: %s records in Athena's answer, %d in the tally", s.Src, got, s.Records)
		}
	}
	if len(tally.TopTalkers) == 0 || len(tally.TopRejectedSources) == 0 {
		t.Fatal("the tally has no top lists to compare")
	}
}
