package flowrecord

import (
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
)

// Row holds one record's typed values, in the order of the parser's
// format. Reset it, then add one value per field with Null, Int, Bytes or
// Bad. The Record ParseRow fills shares the Row's memory until its next
// Reset. A Row is not safe for concurrent use.
type Row struct {
	kinds []uint8
	ints  []int64
	ends  []int32 // where each value's token ends in buf; ints and nulls take none
	buf   []byte  // string tokens, each followed by a space, then padding
	bad   int     // index of the first unprintable or untyped value, or -1
	line  []byte  // the text form, rendered only for the text parser
}

// Reset empties the row for the next record.
func (w *Row) Reset() {
	w.kinds, w.ints, w.ends, w.buf = w.kinds[:0], w.ints[:0], w.ends[:0], w.buf[:0]
	w.bad = -1
}

func (w *Row) add(kind uint8, v int64) {
	w.kinds = append(w.kinds, kind)
	w.ints = append(w.ints, v)
	w.ends = append(w.ends, int32(len(w.buf)))
	w.buf = append(w.buf, ' ')
}

// Null adds a null value: the field shows "-".
func (w *Row) Null() { w.add(rowNull, 0) }

// Int adds an integer value.
func (w *Row) Int(v int64) { w.add(rowInt, v) }

// Bytes adds a string value; the row copies it.
func (w *Row) Bytes(b []byte) {
	if w.bad < 0 && !printable(b) {
		w.bad = len(w.kinds)
	}
	w.kinds = append(w.kinds, rowBytes)
	w.ints = append(w.ints, 0)
	w.buf = append(w.buf, b...)
	w.ends = append(w.ends, int32(len(w.buf)))
	w.buf = append(w.buf, ' ')
}

// Bad adds a value of a type no flow log column has (a float, a boolean):
// the row is malformed.
func (w *Row) Bad() {
	if w.bad < 0 {
		w.bad = len(w.kinds)
	}
	w.add(rowBad, 0)
}

// printable reports whether s is not empty and holds no space, control
// character or DEL: a byte loop, as a rune decoder costs too much here.
func printable(s []byte) bool {
	for _, c := range s {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return len(s) > 0
}

// token returns the i-th string token.
func (w *Row) token(i int) []byte {
	start := 0
	if i > 0 {
		start = int(w.ends[i-1]) + 1
	}
	return w.buf[start:w.ends[i]]
}

// Line returns the row's text form: its values space-separated, numbers in
// decimal, nulls and untyped values as "-". It is valid until the next
// Reset or Line.
func (w *Row) Line() string {
	b := w.line[:0]
	for i, k := range w.kinds {
		if i > 0 {
			b = append(b, ' ')
		}
		switch k {
		case rowInt:
			b = strconv.AppendInt(b, w.ints[i], 10)
		case rowBytes:
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
	if len(row.kinds) != len(p.format.fields) {
		return p.parse(row.Line(), r) // the text parser counts the fields
	}
	if i := row.bad; i >= 0 {
		err := ErrUnprintable
		if row.kinds[i] == rowBad {
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
	for i, field := range p.format.fields {
		kind := catalogue[field].kind
		switch row.kinds[i] {
		case rowNull:
			present &^= 1 << field
		case rowInt:
			v := row.ints[i]
			if kind < KindInt || kind > KindProtocol || v < 0 || !r.setNumber(field, uint64(v)) {
				return false
			}
		default: // rowBytes: row.bad says they are printable
			off := 0
			if i > 0 {
				off = int(row.ends[i-1]) + 1
			}
			end := int(row.ends[i])
			if end-off == 1 && buf[off] == '-' {
				present &^= 1 << field
				continue
			}
			if !r.rowToken(field, buf, off, end) {
				return false
			}
		}
	}
	copy(r.ends[:len(row.ends)], row.ends)
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
