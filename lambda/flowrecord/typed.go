package flowrecord

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"unsafe"
)

// Typed values: a columnar file (AWS's Parquet flow logs) holds a record as
// typed values, ints as ints and strings as strings. A Row collects one
// record's values in the format's order and Parser.ParseRow reads them into
// a Record without rendering a line and parsing it back.
//
// The one validation stays the text parser's: ParseRow accepts a row only
// where the row's text form (Row.Line: numbers in decimal, nulls as "-",
// strings as they are) would parse, into the same Record, by the same
// readers (ID shapes, addresses, ranges, caps). Any value it does not take
// at once (a negative or out-of-range number, an int in a string column, a
// string in a number column, any bad token) sends the row's text form
// through the text parser, which then decides and names what is wrong, so a
// hostile row is refused exactly as its text form would be. TestRowMatchesText
// and FuzzParseRow check both agree.
//
// Stricter than the text form: a string value that is empty or holds a
// space, a control character or DEL, and a value of a type no flow log
// column has, make the row malformed (ErrUnprintable, ErrColumnType): their
// text form would be another line, its fields shifted.

// Errors a ParseError of ParseRow can wrap besides the text parser's.
var (
	ErrUnprintable = errors.New("string value is empty or holds a space or a control character")
	ErrColumnType  = errors.New("value has no flow log type")
)

// Kinds of the values of a Row.
const (
	rowNull uint8 = iota
	rowInt
	rowBytes
	rowBad
	rowDict // a string value of a Dict, read once
)

// Row holds one record's typed values, in the order of the parser's
// format. Reset it, then add one value per field with Null, Int, Bytes or
// Bad. The Record ParseRow fills shares the Row's memory until its next
// Reset. A Row is not safe for concurrent use.
type Row struct {
	vals []rowValue
	buf  []byte // string tokens, each followed by a space, then padding
	bad  int    // index of the first unprintable or untyped value, or -1
	line []byte // the text form, rendered only for the text parser
	dict []*dictValue
	toks []string // the tokens of a row read from columns (Parser.ReadColumns)
}

// rowValue is one value of a Row: one slice of them, so that adding a
// value is one append.
type rowValue struct {
	v    int64 // for rowInt; for rowDict, the index of its value in Row.dict
	end  int32 // where the value's token ends in buf; ints and nulls take none
	kind uint8
}

// Reset empties the row for the next record.
func (w *Row) Reset() {
	w.vals, w.buf, w.dict = w.vals[:0], w.buf[:0], w.dict[:0]
	w.bad = -1
}

func (w *Row) add(kind uint8, v int64) {
	w.vals = append(w.vals, rowValue{v: v, end: int32(len(w.buf)), kind: kind})
	w.buf = append(w.buf, ' ')
}

// Null adds a null value: the field shows "-".
func (w *Row) Null() { w.add(rowNull, 0) }

// Int adds an integer value.
func (w *Row) Int(v int64) { w.add(rowInt, v) }

// Bytes adds a string value; the row copies it.
func (w *Row) Bytes(b []byte) {
	if w.bad < 0 && !printable(b) {
		w.bad = len(w.vals)
	}
	w.buf = append(w.buf, b...)
	w.vals = append(w.vals, rowValue{end: int32(len(w.buf)), kind: rowBytes})
	w.buf = append(w.buf, ' ')
}

// Bad adds a value of a type no flow log column has (a float, a boolean):
// the row is malformed.
func (w *Row) Bad() {
	if w.bad < 0 {
		w.bad = len(w.vals)
	}
	w.add(rowBad, 0)
}

// printable reports whether s is not empty and holds no space, control
// character or DEL, eight bytes at a time: bytes from 0x80 (UTF-8) pass,
// as they pass the text parser.
func printable(s []byte) bool {
	n := len(s)
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		// A byte below 0x21 (exact for "any": a borrow runs only from a
		// byte that is itself below), or a DEL (zero once xored with it).
		d := x ^ (0x7f * ones)
		if ((x-0x21*ones)&^x|(d-ones)&^d)&high != 0 {
			return false
		}
	}
	for ; i < n; i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return n > 0
}

// token returns the i-th string token.
func (w *Row) token(i int) []byte {
	start := 0
	if i > 0 {
		start = int(w.vals[i-1].end) + 1
	}
	return w.buf[start:w.vals[i].end]
}

// Line returns the row's text form: its values space-separated, numbers in
// decimal, nulls and untyped values as "-". It is valid until the next
// Reset or Line.
func (w *Row) Line() string {
	b := w.line[:0]
	for i, v := range w.vals {
		if i > 0 {
			b = append(b, ' ')
		}
		switch v.kind {
		case rowInt:
			b = strconv.AppendInt(b, v.v, 10)
		case rowBytes, rowDict:
			b = append(b, w.token(i)...)
		default:
			b = append(b, '-')
		}
	}
	w.line = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// ParseRow reads row into r, overwriting it, as Parse would read the row's
// text form, and returns the same *ParseError on failure (r is then
// unspecified). A row whose string values are not all printable fails with
// ErrUnprintable, one with an untyped value with ErrColumnType. Record.Value
// of a numeric field formats the number, and so allocates.
func (p *Parser) ParseRow(row *Row, r *Record) error {
	if !p.parseRow(row, r) {
		return p.fail.toError()
	}
	return nil
}

// parseRow is ParseRow, the failure kept in p.fail.
func (p *Parser) parseRow(row *Row, r *Record) bool {
	if len(row.vals) != len(p.format.fields) {
		return p.parse(row.Line(), r) // the text parser counts the fields
	}
	if i := row.bad; i >= 0 {
		err := ErrUnprintable
		if row.vals[i].kind == rowBad {
			err = ErrColumnType
		}
		return p.failed(failure{err: err, field: p.format.fields[i], index: i, token: string(row.token(i))})
	}
	row.buf = append(row.buf, pad[:]...)
	ok := p.rowFast(row, r)
	row.buf = row.buf[:len(row.buf)-len(pad)]
	if ok {
		return true
	}
	// The text parser decides, and names what is wrong.
	return p.parse(row.Line(), r)
}

// rowFast reads the row by the typed values' fast path and reports whether
// it could; false means only that the text parser must decide.
func (p *Parser) rowFast(row *Row, r *Record) bool {
	r.reset(p.format)
	buf := row.buf
	present := p.format.mask
	vals := row.vals[:len(p.format.fields)]
	off := 0
	for i, field := range p.format.fields {
		val := &vals[i]
		r.ends[i] = val.end
		start, end := off, int(val.end)
		off = end + 1
		switch val.kind {
		case rowNull:
			present &^= 1 << field
		case rowInt:
			kind := catalogue[field].kind
			if kind < KindInt || kind > KindProtocol || val.v < 0 || !r.setNumber(field, uint64(val.v)) {
				return false
			}
		case rowDict: // row.bad says it is printable
			dv := row.dict[val.v]
			if !r.setDict(field, dv, unsafe.String(unsafe.SliceData(buf[start:]), end-start)) {
				if dv.state != dictNull {
					return false
				}
				present &^= 1 << field
			}
		default: // rowBytes: row.bad says they are printable
			if end-start == 1 && buf[start] == '-' {
				present &^= 1 << field
				continue
			}
			if !r.rowToken(field, buf, start, end) {
				return false
			}
		}
	}
	r.present = present
	r.typed = true
	r.line = unsafe.String(unsafe.SliceData(buf), max(len(buf)-len(pad), 0))
	if r.InterfaceID == "" {
		r.InterfaceID = p.interfaceID
	}
	return true
}

// rowToken reads the string token buf[off:end] of field into r with the
// text fast path's readers; buf is padded.
func (r *Record) rowToken(field Field, buf []byte, off, end int) bool {
	line := unsafe.String(unsafe.SliceData(buf), len(buf))
	switch catalogue[field].kind {
	case KindAddr:
		var a netip.Addr
		var e int
		var ok bool
		if a, e, ok = ipv4(buf, off); !ok || e != end {
			if a, ok = parseIPv6(line[off:end]); !ok {
				return false
			}
		}
		r.setAddr(field, a)
		return true
	case KindAction, KindLogStatus:
		e, ok := r.readWord(field, buf, off)
		return ok && e == end
	case KindString, KindTag:
		r.setString(field, line[off:end])
		return quickToken(field, line, buf, off, end)
	}
	return false // a number as a string: the text parser reads it
}

// typedNumber returns numeric field f of a record read from a row, in
// decimal.
func (r *Record) typedNumber(f Field) (string, bool) {
	var v uint64
	switch f {
	case FieldVersion:
		v = uint64(r.Version)
	case FieldTCPFlags:
		v = uint64(r.TCPFlags)
	case FieldTrafficPath:
		v = uint64(r.TrafficPath)
	case FieldEncryptionStatus:
		v = uint64(r.EncryptionStatus)
	case FieldSrcPort:
		v = uint64(r.SrcPort)
	case FieldDstPort:
		v = uint64(r.DstPort)
	case FieldProtocol:
		v = uint64(r.Protocol)
	case FieldPackets:
		v = r.Packets
	case FieldBytes:
		v = r.Bytes
	case FieldStart:
		v = uint64(r.Start)
	case FieldEnd:
		v = uint64(r.End)
	default:
		return "", false
	}
	return strconv.FormatUint(v, 10), true
}

// AddRow reads row with p and counts the record, or counts the row's text
// form as malformed, as AddLine does for a line. It allocates nothing for
// a good row once the row's interface and keys have been seen.
func (a *Aggregator) AddRow(p *Parser, row *Row) {
	if !p.parseRow(row, &a.rec) {
		a.malformed++
		if len(a.samples) < a.opts.MalformedSamples {
			a.samples = append(a.samples, sampleOf(row.Line(), p.fail.toError()))
		}
		return
	}
	a.Add(&a.rec)
}
