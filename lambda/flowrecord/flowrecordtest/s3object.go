package flowrecordtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/fnv"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// This file plays the flow log delivery service for S3, which moto does not
// play: it writes objects with the keys, file names and contents AWS
// documents, from lines of any format.
//
// Key layout (docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):
//
//	<prefix>/AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/[<hh>/]<file>
//	<prefix>/AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<mm>/day=<dd>/[hour=<hh>/]<file>
//
// and the file name <account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz
// (the page's example: 123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz,
// holding the records of 16:15:01 to 16:20:00). Parquet files end in
// .log.parquet instead. Files are published every 5 minutes; the timestamp
// in the name is the end of the 5-minute period.
//
// Contents: a plain-text file is gzip text whose first line names the
// fields of the flow log's format, space-separated, then one record a line.
// A Parquet file has one column a field, named as the field with "-" turned
// to "_" (account_id, log_status: the Athena DDL of
// docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs-parquet.html), with the
// types of the "Parquet data type" rows of
// docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html: INT_32 for
// version, srcport, dstport, protocol, tcp-flags, traffic-path (and
// encryption-status), INT_64 for packets, bytes, start, end, STRING for
// every other field. A field that shows "-" is null. Pages are gzip
// compressed ("Data in Parquet format with Gzip compression", the S3 path
// page).

// File formats of DestinationOptions.FileFormat.
const (
	FileFormatParquet   = "parquet"
	FileFormatPlainText = "plain-text"
)

// S3Layout is how one flow log delivers to a bucket: its DestinationOptions
// and the parts of its keys.
type S3Layout struct {
	Prefix         string // the key prefix of the flow log's destination, without slashes at the ends; may be empty
	Account        string // default 123456789012, the generator's account
	Region         string // default us-east-1
	FlowLogID      string // default fl-0123456789abcdef0
	FileFormat     string // FileFormatParquet (default) or FileFormatPlainText
	HiveCompatible bool
	PerHour        bool
}

func (l S3Layout) withDefaults() S3Layout {
	if l.Account == "" {
		l.Account = genAccount
	}
	if l.Region == "" {
		l.Region = "us-east-1"
	}
	if l.FlowLogID == "" {
		l.FlowLogID = "fl-0123456789abcdef0"
	}
	if l.FileFormat == "" {
		l.FileFormat = FileFormatParquet
	}
	return l
}

// PartitionPrefix returns the folder of the files published at t: the day's
// or, per hour, the hour's, ending in "/".
func (l S3Layout) PartitionPrefix(t time.Time) string {
	l = l.withDefaults()
	t = t.UTC()
	var b strings.Builder
	if l.Prefix != "" {
		b.WriteString(l.Prefix + "/")
	}
	part := func(hiveName, value string) {
		if l.HiveCompatible {
			b.WriteString(hiveName + "=")
		}
		b.WriteString(value + "/")
	}
	b.WriteString("AWSLogs/")
	part("aws-account-id", l.Account)
	part("aws-service", "vpcflowlogs")
	part("aws-region", l.Region)
	part("year", t.Format("2006"))
	part("month", t.Format("01"))
	part("day", t.Format("02"))
	if l.PerHour {
		part("hour", t.Format("15"))
	}
	return b.String()
}

// Key returns the key of the file published at t (the end of its 5-minute
// period) with the given hash.
func (l S3Layout) Key(t time.Time, hash string) string {
	l = l.withDefaults()
	ext := ".log.parquet"
	if l.FileFormat == FileFormatPlainText {
		ext = ".log.gz"
	}
	return fmt.Sprintf("%s%s_vpcflowlogs_%s_%s_%s_%s%s", l.PartitionPrefix(t), l.Account, l.Region,
		l.FlowLogID, t.UTC().Format("20060102T1504Z"), hash, ext)
}

// PublishTime returns when the file holding a record that ends at end is
// published: the end of the 5-minute period holding it, a period being
// (t-5 min, t].
func PublishTime(end int64) time.Time {
	const period = 300
	t := (end + period - 1) / period * period
	return time.Unix(t, 0).UTC()
}

// S3Object is one delivered file.
type S3Object struct {
	Key       string
	Body      []byte
	Published time.Time
	Lines     int
}

// Deliver groups lines, each with the end of its capture window, into the
// files the service would publish (one a 5-minute period), written in l's
// format. A line whose end is 0 (one with no readable end) goes with the
// line before it.
func Deliver(l S3Layout, f *flowrecord.Format, lines []string, ends []int64, rowGroupRows int) ([]S3Object, error) {
	l = l.withDefaults()
	if len(lines) != len(ends) {
		return nil, fmt.Errorf("delivering: %d lines but %d ends", len(lines), len(ends))
	}
	byTime := map[time.Time][]string{}
	var last time.Time
	for i, line := range lines {
		if ends[i] > 0 {
			last = PublishTime(ends[i])
		}
		byTime[last] = append(byTime[last], line)
	}
	times := make([]time.Time, 0, len(byTime))
	for t := range byTime {
		times = append(times, t)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	objs := make([]S3Object, 0, len(times))
	for _, t := range times {
		var buf bytes.Buffer
		if err := WriteObject(&buf, l.FileFormat, f, byTime[t], rowGroupRows); err != nil {
			return nil, fmt.Errorf("delivering the file of %s: %w", t.Format(time.RFC3339), err)
		}
		h := fnv.New32a()
		h.Write(buf.Bytes())
		objs = append(objs, S3Object{
			Key: l.Key(t, fmt.Sprintf("%08x", h.Sum32())), Body: buf.Bytes(), Published: t, Lines: len(byTime[t]),
		})
	}
	return objs, nil
}

// GenerateObjects runs g to its end and delivers its lines as l's files.
// For Parquet, g must write no malformed lines: a typed column cannot hold
// most of them (WriteObject says which).
func GenerateObjects(g *Generator, l S3Layout, rowGroupRows int) ([]S3Object, error) {
	var lines []string
	var ends []int64
	for g.Next() {
		lines = append(lines, g.Line())
		ends = append(ends, g.rec.end)
	}
	return Deliver(l, g.Format(), lines, ends, rowGroupRows)
}

// WriteObject writes lines of format f as one flow log file of fileFormat:
// gzip text with its header line, or Parquet with AWS's columns, at most
// rowGroupRows rows a row group (0: 10,000).
func WriteObject(w io.Writer, fileFormat string, f *flowrecord.Format, lines []string, rowGroupRows int) error {
	switch fileFormat {
	case FileFormatPlainText:
		return writeText(w, f, lines)
	case FileFormatParquet, "":
		return writeParquet(w, f, lines, rowGroupRows)
	}
	return fmt.Errorf("file format %q: want %s or %s", fileFormat, FileFormatParquet, FileFormatPlainText)
}

// TextHeader returns the first line of a plain-text file of format f.
func TextHeader(f *flowrecord.Format) string {
	names := make([]string, 0, f.Len())
	for _, fd := range f.Fields() {
		names = append(names, fd.Name())
	}
	return strings.Join(names, " ")
}

func writeText(w io.Writer, f *flowrecord.Format, lines []string) error {
	zw := gzip.NewWriter(w)
	if _, err := io.WriteString(zw, TextHeader(f)+"\n"); err != nil {
		return fmt.Errorf("writing the text header: %w", err)
	}
	for _, line := range lines {
		if _, err := io.WriteString(zw, line+"\n"); err != nil {
			return fmt.Errorf("writing a text line: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("closing the gzip text: %w", err)
	}
	return nil
}

// ParquetColumn returns the name of f's column in AWS's Parquet files and
// its physical type: parquet.Int32, parquet.Int64 or parquet.ByteArray
// (annotated STRING).
func ParquetColumn(f flowrecord.Field) (string, parquet.Kind) {
	name := strings.ReplaceAll(f.Name(), "-", "_")
	switch f {
	case flowrecord.FieldVersion, flowrecord.FieldSrcPort, flowrecord.FieldDstPort, flowrecord.FieldProtocol,
		flowrecord.FieldTCPFlags, flowrecord.FieldTrafficPath, flowrecord.FieldEncryptionStatus:
		return name, parquet.Int32
	case flowrecord.FieldPackets, flowrecord.FieldBytes, flowrecord.FieldStart, flowrecord.FieldEnd:
		return name, parquet.Int64
	}
	return name, parquet.ByteArray
}

// ParquetSchema returns the schema of AWS's Parquet files for format f: one
// optional column a field, in the format's order.
func ParquetSchema(f *flowrecord.Format) *parquet.Schema {
	g := orderedGroup{Group: parquet.Group{}}
	for _, fd := range f.Fields() {
		name, kind := ParquetColumn(fd)
		var leaf parquet.Node
		switch kind {
		case parquet.Int32:
			leaf = parquet.Int(32)
		case parquet.Int64:
			leaf = parquet.Int(64)
		default:
			leaf = parquet.String()
		}
		leaf = parquet.Compressed(parquet.Optional(leaf), &parquet.Gzip)
		g.Group[name] = leaf
		g.fields = append(g.fields, &orderedField{Node: leaf, name: name})
	}
	return parquet.NewSchema("schema", g)
}

// orderedGroup is a parquet.Group whose columns keep the format's order, as
// AWS's files do (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }

type orderedField struct {
	parquet.Node
	name string
}

func (f *orderedField) Name() string { return f.name }

// Value is used only by reflection-based writes, which this file does not
// make: rows are written as parquet.Row.
func (f *orderedField) Value(base reflect.Value) reflect.Value {
	return base.MapIndex(reflect.ValueOf(f.name))
}

func writeParquet(w io.Writer, f *flowrecord.Format, lines []string, rowGroupRows int) error {
	if rowGroupRows <= 0 {
		rowGroupRows = 10_000
	}
	pw := parquet.NewWriter(w, ParquetSchema(f), parquet.MaxRowsPerRowGroup(int64(rowGroupRows)))
	fields := f.Fields()
	row := make(parquet.Row, len(fields))
	for n, line := range lines {
		toks := strings.Split(line, " ")
		if len(toks) != len(fields) {
			return fmt.Errorf("line %d has %d fields, the format %d: a Parquet file cannot hold it", n+1, len(toks), len(fields))
		}
		for i, fd := range fields {
			v, err := parquetValue(fd, toks[i])
			if err != nil {
				return fmt.Errorf("line %d: %w", n+1, err)
			}
			def := 1
			if v.IsNull() {
				def = 0
			}
			row[i] = v.Level(0, def, i)
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return fmt.Errorf("writing Parquet row %d: %w", n+1, err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("closing the Parquet file: %w", err)
	}
	return nil
}

// parquetValue converts one token to its column's value; "-" is null.
func parquetValue(fd flowrecord.Field, tok string) (parquet.Value, error) {
	if tok == "-" {
		return parquet.NullValue(), nil
	}
	_, kind := ParquetColumn(fd)
	switch kind {
	case parquet.Int32:
		n, err := strconv.ParseInt(tok, 10, 32)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("%s %q does not fit an INT_32 column", fd, tok)
		}
		return parquet.Int32Value(int32(n)), nil
	case parquet.Int64:
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("%s %q does not fit an INT_64 column", fd, tok)
		}
		return parquet.Int64Value(n), nil
	}
	return parquet.ByteArrayValue([]byte(tok)), nil
}
