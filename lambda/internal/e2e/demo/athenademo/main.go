// Command athenademo answers one of the stack's named queries
// (lambda/athenaquery) over a local copy of the flow log bucket, in DuckDB,
// the engine the tests run the named queries in (Athena does not run
// locally), and prints the answer as JSON. The S3 demo (`make demo
// DEMO_ARGS=-destination=s3`) runs it after the digest.
//
// It is a command of its own so that only the S3 demo builds DuckDB, a cgo
// library that the default demo and the shipped binaries never link
// (TestShippedBinariesDoNotLinkDuckDB). The SQL is the named query's own
// text; the table is its DuckDB rendering (athenaquery.Table.DuckDBView),
// whose differences from the Glue table are listed there.
package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver; test and demo only

	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
)

// Answer is what the command prints: the query, its parameters and its
// rows, each value as DuckDB gives it rendered with %v.
type Answer struct {
	Query   string     `json:"query"`
	SQL     string     `json:"sql"`
	Params  []string   `json:"params"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

func main() {
	dir := flag.String("dir", "", "the local copy of the bucket: the objects at their keys under this directory")
	prefix := flag.String("prefix", "", "the flow logs' key prefix before AWSLogs/, if any")
	format := flag.String("file-format", "parquet", "parquet or plain-text")
	hive := flag.Bool("hive", true, "Hive-compatible folders (aws-account-id=…)")
	perHour := flag.Bool("per-hour", true, "hourly folders; false: daily")
	from := flag.String("from", "", "the first partition, YYYYMMDDHH (YYYYMMDD daily)")
	to := flag.String("to", "", "the partition after the last, same form")
	name := flag.String("query", "TopTalkers", "the named query: one whose parameters are only from and to")
	flag.Parse()
	if err := run(os.Stdout, *dir, *prefix, *format, *hive, *perHour, *name, *from, *to); err != nil {
		fmt.Fprintf(os.Stderr, "athenademo: %v\n", err)
		os.Exit(1)
	}
}

// run answers the named query name over the files under dir and writes the
// answer to out.
func run(out io.Writer, dir, prefix, format string, hive, perHour bool, name, from, to string) error {
	if dir == "" {
		return errors.New("-dir is required")
	}
	if format != "parquet" && format != "plain-text" {
		return fmt.Errorf("-file-format=%s: want parquet or plain-text", format)
	}
	for _, k := range []string{from, to} {
		if err := athenaquery.ValidatePartitionKey(k); err != nil {
			return err
		}
	}
	q, ok := namedQuery(perHour, name)
	if !ok {
		return fmt.Errorf("no named query %q takes only a from and a to partition", name)
	}
	cols, err := athenaquery.Columns("")
	if err != nil {
		return err
	}
	table := athenaquery.Table{Bucket: "local", Prefix: prefix, Parquet: format == "parquet", HiveCompatible: hive, PerHour: perHour, Columns: cols}
	a, err := answer(table, dir, q, from, to)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// namedQuery finds the named query name among those whose only parameters
// are the range's bounds.
func namedQuery(perHour bool, name string) (athenaquery.Query, bool) {
	for _, q := range athenaquery.Queries(perHour) {
		if q.Name == name && len(q.Params) == 2 {
			return q, true
		}
	}
	return athenaquery.Query{}, false
}

// answer creates the table's view over dir in an in-memory DuckDB and runs
// q with the range [from, to).
func answer(table athenaquery.Table, dir string, q athenaquery.Query, from, to string) (Answer, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return Answer{}, fmt.Errorf("opening DuckDB: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec(table.DuckDBView(dir)); err != nil {
		return Answer{}, fmt.Errorf("creating the flow_logs view over %s: %w", dir, err)
	}
	rows, err := db.Query(q.SQL, from, to)
	if err != nil {
		return Answer{}, fmt.Errorf("running %s: %w", q.Name, err)
	}
	defer rows.Close()
	a := Answer{Query: q.Name, SQL: q.SQL, Params: []string{from, to}, Rows: [][]string{}}
	if a.Columns, err = rows.Columns(); err != nil {
		return Answer{}, fmt.Errorf("columns of %s: %w", q.Name, err)
	}
	vals := make([]any, len(a.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return Answer{}, fmt.Errorf("reading a row of %s: %w", q.Name, err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		a.Rows = append(a.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return Answer{}, fmt.Errorf("reading the rows of %s: %w", q.Name, err)
	}
	return a, nil
}
