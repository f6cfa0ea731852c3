package athenaquery_test

import (
	"database/sql"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// TestForAccountInDuckDB proves the account-scoped named queries (the
// organization's central bucket, where the account partition is injected)
// run in DuckDB over two accounts' files and return, for one account,
// exactly the rows the unscoped queries return over that account's files
// alone; and that the other account's files do change the unscoped
// answers, so the scoping is what keeps them out.
func TestForAccountInDuckDB(t *testing.T) {
	const account, other = "123456789012", "210987654321"
	l := flowrecordtest.S3Layout{Prefix: "org", Account: account, HiveCompatible: true, PerHour: true}
	w := deliver(t, l, twoGenerators...)
	lo := l
	lo.Account = other
	wo := deliver(t, lo, flowrecordtest.Config{Seed: 9, Records: 3000, StartTime: hour0, Span: 4 * 3600, Interfaces: 5, MalformedShare: -1})
	cols, err := athenaquery.Columns("")
	if err != nil {
		t.Fatal(err)
	}
	table := athenaquery.Table{Bucket: "bucket", Prefix: l.Prefix, Parquet: true, HiveCompatible: true, PerHour: true, Columns: cols}
	open := func() *sql.DB {
		db, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Exec(table.DuckDBView(w.dir)); err != nil {
			t.Fatal(err)
		}
		return db
	}
	at := func(h int) string { return athenaquery.PartitionKey(time.Unix(hour0+int64(h)*3600, 0), true) }
	iface := w.ifaces[0][0]
	args := map[string][]any{
		"TopTalkers": {at(0), at(4)}, "RejectedBySource": {at(0), at(4)}, "RejectedPortScans": {at(0), at(4), 3},
		"InterfaceTraffic": {at(0), at(4), iface}, "SkipDataWindows": {at(0), at(4)}, "NewInterfaces": {at(0), at(4), at(2)},
	}
	alone := map[string][][]string{}
	single := open()
	for _, q := range athenaquery.Queries(true) {
		alone[q.Name] = query(t, single, q.SQL, args[q.Name]...)
	}
	if err := os.CopyFS(w.dir, os.DirFS(wo.dir)); err != nil {
		t.Fatal(err)
	}
	both := open()
	for _, q := range athenaquery.ForAccount(athenaquery.Queries(true)) {
		t.Run(q.Name, func(t *testing.T) {
			if !strings.Contains(q.SQL, "aws_account_id = ?") || q.Params[0] != athenaquery.AccountParam {
				t.Fatalf("not scoped to an account: %s %v", q.SQL, q.Params)
			}
			got := query(t, both, q.SQL, append([]any{account}, args[q.Name]...)...)
			if len(got) == 0 || !slices.EqualFunc(got, alone[q.Name], slices.Equal) {
				t.Errorf("scoped over both accounts: %d rows, over the account alone %d\n got %v\nwant %v", len(got), len(alone[q.Name]), limit(got, 5), limit(alone[q.Name], 5))
			}
		})
	}
	top := athenaquery.Queries(true)[0]
	if got := query(t, both, top.SQL, args[top.Name]...); slices.EqualFunc(got, alone[top.Name], slices.Equal) {
		t.Errorf("the other account's files change nothing unscoped: the test proves nothing")
	}
}
