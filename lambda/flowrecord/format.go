package flowrecord

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultFormatString is the version 2 format that AWS uses when a flow log
// is created without a LogFormat.
const DefaultFormatString = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

// Errors a FormatError can wrap; test for them with errors.Is.
var (
	ErrEmptyFormat    = errors.New("empty format")
	ErrUnknownField   = errors.New("unknown field")
	ErrDuplicateField = errors.New("duplicate field")
	ErrBadToken       = errors.New("token is not ${field}")
	ErrBadSeparator   = errors.New("fields must be separated by exactly one space")
)

// FormatError reports why a log format string is not valid and where.
type FormatError struct {
	Offset int    // byte offset of Token in the format string
	Token  string // the offending token; empty for an empty format
	Err    error  // one of the Err* values above
}

func (e *FormatError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("invalid log format at offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("invalid log format: %v %q at offset %d", e.Err, e.Token, e.Offset)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Format is a parsed, valid log format: an ordered list of distinct fields.
// A Format is immutable and safe for concurrent use.
type Format struct {
	fields  []Field
	mask    uint64         // bit f set for each field f of the format
	pos     [fieldEnd]int8 // index of each field in a record, -1 when absent
	version int
	str     string
}

var defaultFormat = mustParseFormat(DefaultFormatString)

// DefaultFormat returns the version 2 default format.
func DefaultFormat() *Format { return defaultFormat }

func mustParseFormat(s string) *Format {
	f, err := ParseFormat(s)
	if err != nil {
		panic(err)
	}
	return f
}

// ParseFormat parses a log format as CreateFlowLogs takes it: ${field}
// tokens separated by single spaces, each field at most once, no leading or
// trailing space. A *FormatError names the offending token.
//
// This is the one validation of log formats in the project: the CDK app
// checks its logFormat setting with it too.
func ParseFormat(s string) (*Format, error) {
	if s == "" {
		return nil, &FormatError{Err: ErrEmptyFormat}
	}
	f := &Format{str: s}
	for i := range f.pos {
		f.pos[i] = -1
	}
	off := 0
	for {
		end := strings.IndexByte(s[off:], ' ')
		var tok string
		if end < 0 {
			tok = s[off:]
		} else {
			tok = s[off : off+end]
		}
		if tok == "" {
			// An empty token means a leading, trailing or doubled space.
			return nil, &FormatError{Offset: off, Token: " ", Err: ErrBadSeparator}
		}
		field, err := parseFormatToken(tok)
		if err != nil {
			return nil, &FormatError{Offset: off, Token: tok, Err: err}
		}
		if f.pos[field] >= 0 {
			return nil, &FormatError{Offset: off, Token: tok, Err: ErrDuplicateField}
		}
		f.pos[field] = int8(len(f.fields))
		f.mask |= 1 << field
		f.fields = append(f.fields, field)
		f.version = max(f.version, field.Version())
		if end < 0 {
			return f, nil
		}
		off += end + 1
	}
}

func parseFormatToken(tok string) (Field, error) {
	name, ok := strings.CutPrefix(tok, "${")
	if ok {
		name, ok = strings.CutSuffix(name, "}")
	}
	if !ok || name == "" || strings.ContainsAny(name, "${}") {
		if strings.ContainsAny(tok, "\t\n\r\v\f") {
			return fieldNone, ErrBadSeparator
		}
		return fieldNone, ErrBadToken
	}
	field, ok := FieldByName(name)
	if !ok {
		return fieldNone, ErrUnknownField
	}
	return field, nil
}

// NewFormat builds a format from fields in record order. It is the
// programmatic twin of ParseFormat.
func NewFormat(fields ...Field) (*Format, error) {
	var b strings.Builder
	for i, f := range fields {
		if !f.Valid() {
			return nil, fmt.Errorf("building log format: field %d: %w", i, ErrUnknownField)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(f.Name())
		b.WriteString("}")
	}
	f, err := ParseFormat(b.String())
	if err != nil {
		return nil, fmt.Errorf("building log format: %w", err)
	}
	return f, nil
}

// String returns the format as CreateFlowLogs takes it.
func (f *Format) String() string { return f.str }

// Fields returns the format's fields in record order.
func (f *Format) Fields() []Field { return append([]Field(nil), f.fields...) }

// Len returns the number of fields in a record of this format.
func (f *Format) Len() int { return len(f.fields) }

// Version returns the highest version among the format's fields: the value
// AWS writes in ${version}.
func (f *Format) Version() int { return f.version }

// Index returns the position of field in a record of this format.
func (f *Format) Index(field Field) (int, bool) {
	if !field.Valid() {
		return -1, false
	}
	i := f.pos[field]
	return int(i), i >= 0
}

// Has reports whether the format includes field.
func (f *Format) Has(field Field) bool {
	_, ok := f.Index(field)
	return ok
}
