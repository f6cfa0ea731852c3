package athenaquery

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// TableName is the Glue table's name in its database.
const TableName = "flow_logs"

// Storage classes of the table by file format: the SerDe and the Hadoop
// input and output formats Glue records for Parquet and for gzip text.
const (
	parquetSerDe  = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
	parquetInput  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
	parquetOutput = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
	textSerDe     = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
	textInput     = "org.apache.hadoop.mapred.TextInputFormat"
	textOutput    = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
)

// FirstYear is the first year the year partition projects: the first of
// this code. Queries name their years, so later years cost nothing.
const FirstYear = 2024

// Column is one column of the table.
type Column struct {
	Name string
	Type string // an Athena (Hive DDL) type: int, bigint or string
}

// Table describes the Glue table over one deployment's flow log files.
type Table struct {
	// Bucket is the bucket's name (a CDK token is fine: it is only
	// concatenated).
	Bucket string
	// Prefix is the key prefix before AWSLogs/, "" for none.
	Prefix string
	// Parquet says the files are Parquet; false: gzip plain text.
	Parquet bool
	// HiveCompatible and PerHour are the flow logs' destination options.
	HiveCompatible, PerHour bool
	// Columns are the format's columns (see Columns).
	Columns []Column
	// Accounts and Regions are the values the account and region
	// partitions project. Empty Accounts: the account is injected, every
	// query names it (an organization's accounts are not known at
	// deployment).
	Accounts, Regions []string
}

// integerColumns are the fields AWS's Athena DDL for Parquet flow logs
// types int, and bigintColumns those it types bigint; every other field is
// a string.
var (
	integerColumns = map[flowrecord.Field]bool{
		flowrecord.FieldVersion: true, flowrecord.FieldSrcPort: true, flowrecord.FieldDstPort: true,
		flowrecord.FieldTCPFlags: true, flowrecord.FieldTrafficPath: true, flowrecord.FieldEncryptionStatus: true,
	}
	bigintColumns = map[flowrecord.Field]bool{
		flowrecord.FieldProtocol: true, flowrecord.FieldPackets: true, flowrecord.FieldBytes: true,
		flowrecord.FieldStart: true, flowrecord.FieldEnd: true,
	}
)

// ColumnName is the column of a field: its name with "-" turned to "_", as
// in AWS's Parquet files.
func ColumnName(f flowrecord.Field) string { return strings.ReplaceAll(f.Name(), "-", "_") }

// ColumnType is the Athena type of a field's column.
func ColumnType(f flowrecord.Field) string {
	switch {
	case integerColumns[f]:
		return "int"
	case bigintColumns[f]:
		return "bigint"
	}
	return "string"
}

// Columns are the table's columns for a flow log format ("" is AWS's
// default format), in the format's order.
func Columns(format string) ([]Column, error) {
	if format == "" {
		format = flowrecord.DefaultFormatString
	}
	f, err := flowrecord.ParseFormat(format)
	if err != nil {
		return nil, fmt.Errorf("table columns of log format %q: %w", format, err)
	}
	cols := make([]Column, 0, f.Len())
	for _, fd := range f.Fields() {
		cols = append(cols, Column{Name: ColumnName(fd), Type: ColumnType(fd)})
	}
	return cols, nil
}

// PartitionKeys are the partition columns, all strings as the key holds
// them: the account, the region, the date and, per hour, the hour.
func (t Table) PartitionKeys() []Column {
	keys := []Column{{"aws_account_id", "string"}, {"aws_region", "string"}, {"year", "string"}, {"month", "string"}, {"day", "string"}}
	if t.PerHour {
		keys = append(keys, Column{"hour", "string"})
	}
	return keys
}

// Location is the table's root: s3://<bucket>/<prefix>/AWSLogs/.
func (t Table) Location() string {
	root := "AWSLogs/"
	if t.Prefix != "" {
		root = t.Prefix + "/" + root
	}
	return "s3://" + t.Bucket + "/" + root
}

// LocationTemplate is partition projection's storage.location.template:
// the folder of one partition, in the layout AWS writes.
func (t Table) LocationTemplate() string {
	parts := []struct{ hive, value string }{
		{"aws-account-id", "${aws_account_id}"}, {"aws-service", "vpcflowlogs"}, {"aws-region", "${aws_region}"},
		{"year", "${year}"}, {"month", "${month}"}, {"day", "${day}"},
	}
	if t.PerHour {
		parts = append(parts, struct{ hive, value string }{"hour", "${hour}"})
	}
	var b strings.Builder
	b.WriteString(t.Location())
	for _, p := range parts {
		if t.HiveCompatible {
			b.WriteString(p.hive + "=")
		}
		b.WriteString(p.value + "/")
	}
	return b.String()
}

// Parameters are the table's parameters: partition projection (integer
// ranges with fixed digits for the date, enums or injection for the
// account and region), and for text files the header line to skip.
func (t Table) Parameters() map[string]string {
	p := map[string]string{
		"EXTERNAL":                  "TRUE",
		"projection.enabled":        "true",
		"storage.location.template": t.LocationTemplate(),
		"projection.year.type":      "integer", "projection.year.range": strconv.Itoa(FirstYear) + ",2099", "projection.year.digits": "4",
		"projection.month.type": "integer", "projection.month.range": "1,12", "projection.month.digits": "2",
		"projection.day.type": "integer", "projection.day.range": "1,31", "projection.day.digits": "2",
		"projection.aws_region.type": "enum", "projection.aws_region.values": strings.Join(t.Regions, ","),
	}
	if t.PerHour {
		p["projection.hour.type"], p["projection.hour.range"], p["projection.hour.digits"] = "integer", "0,23", "2"
	}
	if len(t.Accounts) == 0 {
		p["projection.aws_account_id.type"] = "injected"
	} else {
		p["projection.aws_account_id.type"], p["projection.aws_account_id.values"] = "enum", strings.Join(t.Accounts, ",")
	}
	if t.Parquet {
		p["classification"] = "parquet"
	} else {
		// Each plain-text file starts with a line naming the fields.
		p["skip.header.line.count"] = "1"
	}
	return p
}

// Storage is the SerDe, its parameters, and the input and output formats.
func (t Table) Storage() (serde string, serdeParams map[string]string, input, output string) {
	if t.Parquet {
		return parquetSerDe, map[string]string{"serialization.format": "1"}, parquetInput, parquetOutput
	}
	return textSerDe, map[string]string{"field.delim": " ", "serialization.format": " "}, textInput, textOutput
}

// DDL is the table as Athena's CREATE EXTERNAL TABLE statement in database
// db, the same definition the stack gives Glue: for a person who wants to
// create it by hand, and for the tests.
func (t Table) DDL(db string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n", db, TableName)
	for i, c := range t.Columns {
		fmt.Fprintf(&b, "  `%s` %s%s\n", c.Name, c.Type, map[bool]string{true: ",", false: ""}[i < len(t.Columns)-1])
	}
	b.WriteString(")\nPARTITIONED BY (")
	for i, k := range t.PartitionKeys() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "`%s` %s", k.Name, k.Type)
	}
	serde, params, input, output := t.Storage()
	fmt.Fprintf(&b, ")\nROW FORMAT SERDE '%s'\n", serde)
	b.WriteString("WITH SERDEPROPERTIES (" + quotedPairs(params) + ")\n")
	fmt.Fprintf(&b, "STORED AS INPUTFORMAT '%s'\nOUTPUTFORMAT '%s'\n", input, output)
	fmt.Fprintf(&b, "LOCATION '%s'\n", t.Location())
	b.WriteString("TBLPROPERTIES (" + quotedPairs(t.Parameters()) + ")")
	return b.String()
}

func quotedPairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("'%s'='%s'", k, strings.ReplaceAll(m[k], "'", "''"))
	}
	return strings.Join(out, ", ")
}

// PartitionKey is the value of a time bound of the named queries: the hour
// (YYYYMMDDHH) holding t, or with daily partitions its day (YYYYMMDD). A
// range [from, to) of them selects whole partitions.
func PartitionKey(t time.Time, perHour bool) string {
	if perHour {
		return t.UTC().Format("2006010215")
	}
	return t.UTC().Format("20060102")
}

var partitionKeyRE = regexp.MustCompile(`^\d{8}(\d{2})?$`)

// ValidatePartitionKey checks a bound given to a query: YYYYMMDD or
// YYYYMMDDHH digits only, so nothing else reaches the SQL.
func ValidatePartitionKey(key string) error {
	if !partitionKeyRE.MatchString(key) {
		return fmt.Errorf("partition key %q is not valid: want YYYYMMDDHH (hourly) or YYYYMMDD (daily) digits", key)
	}
	return nil
}
