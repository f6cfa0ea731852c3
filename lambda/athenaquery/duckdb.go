package athenaquery

import (
	"fmt"
	"regexp"
	"strings"
)

// DuckDBView renders the table for DuckDB, the engine the tests (and the
// demo) run the named queries in: a view named flow_logs over the files
// under root, a local directory laid out as the bucket, with the table's
// columns and types and its partition columns.
//
// What differs from the Glue table Athena reads:
//   - Athena finds a query's files by partition projection, filling
//     LocationTemplate with the values the query's predicates allow; DuckDB
//     globs every file under the location and takes the partition values
//     from each file's path with a pattern built from the same parts as
//     LocationTemplate. A file outside the layout gets empty partition
//     values and so falls outside every query's range, as it is outside
//     every projected folder for Athena. (DuckDB's hive_partitioning would
//     name the columns aws-account-id, as the folders do, and cannot read
//     the layout without "name=" parts; the pattern serves both.)
//   - Athena's SerDe reads a Parquet INT32 column into a bigint column
//     (protocol); DuckDB is told the table's types with casts.
//   - Plain text: LazySimpleSerDe with skip.header.line.count and "-" read
//     as NULL by its failed conversion; DuckDB's read_csv with header=true
//     and nullstr '-'.
func (t Table) DuckDBView(root string) string {
	root = strings.TrimSuffix(root, "/")
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, fmt.Sprintf("CAST(%q AS %s) AS %q", c.Name, duckDBType(c.Type), c.Name))
	}
	pattern := t.pathPattern()
	for i, k := range t.PartitionKeys() {
		cols = append(cols, fmt.Sprintf("regexp_extract(filename, %s, %d) AS %s", sqlString(pattern), i+1, k.Name))
	}
	return fmt.Sprintf("CREATE OR REPLACE VIEW flow_logs AS SELECT %s FROM %s", strings.Join(cols, ", "), t.duckDBSource(root))
}

// duckDBSource is the table function that reads every file of the table.
func (t Table) duckDBSource(root string) string {
	loc := root + "/" + strings.TrimPrefix(t.Location(), "s3://"+t.Bucket+"/")
	if t.Parquet {
		return fmt.Sprintf("read_parquet(%s, filename = true)", sqlString(loc+"**/*.log.parquet"))
	}
	var types []string
	for _, c := range t.Columns {
		types = append(types, fmt.Sprintf("%s: %s", sqlString(c.Name), sqlString(duckDBType(c.Type))))
	}
	return fmt.Sprintf("read_csv(%s, delim = ' ', header = true, nullstr = '-', compression = 'gzip', columns = {%s}, filename = true)",
		sqlString(loc+"**/*.log.gz"), strings.Join(types, ", "))
}

// pathPattern matches a file's folder in the table's layout, one group a
// partition key in PartitionKeys' order: the parts of LocationTemplate, with
// each ${key} the shape AWS writes there.
func (t Table) pathPattern() string {
	shapes := map[string]string{
		"aws_account_id": `([0-9]{12})`, "aws_region": `([a-z0-9-]+)`, "year": `([0-9]{4})`,
		"month": `([0-9]{2})`, "day": `([0-9]{2})`, "hour": `([0-9]{2})`,
	}
	tmpl := strings.TrimPrefix(t.LocationTemplate(), "s3://"+t.Bucket)
	var b strings.Builder
	for len(tmpl) > 0 {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(tmpl))
			break
		}
		j := strings.Index(tmpl[i:], "}")
		b.WriteString(regexp.QuoteMeta(tmpl[:i]))
		b.WriteString(shapes[tmpl[i+2:i+j]])
		tmpl = tmpl[i+j+1:]
	}
	return b.String() + `[^/]+$`
}

func duckDBType(glue string) string {
	switch glue {
	case "int":
		return "INTEGER"
	case "bigint":
		return "BIGINT"
	}
	return "VARCHAR"
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
