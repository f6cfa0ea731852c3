package flowrecord

import (
	"net/netip"
	"unsafe"
)

// Dictionary values: a columnar file often stores a string column as a
// dictionary page of distinct values and, per row, an index into it (the
// interface, the addresses, the account, action and log status repeat
// from row to row). A Dict reads each value of such a page once, with the
// very checks ParseRow applies to a string value (printable, "-" for null,
// then rowToken: the text fast path's readers), and keeps the outcome; a
// row then adds the value by index with Row.Dict and ParseRow takes the
// outcome instead of checking the bytes again. A value the checks refuse
// keeps its refusal: the row is refused as it would be with Row.Bytes of
// the same bytes, with the same error (TestDictMatchesBytes).

// dictValue is one value of a Dict: its bytes in the Dict's buffer and
// what ParseRow's checks made of them.
type dictValue struct {
	addr       netip.Addr // for an address field
	start, end uint32     // the value's bytes: Dict.buf[start:end]
	field      Field      // the field the value was read for
	word       uint8      // the Action or LogStatus, for those fields
	state      uint8
}

// States of a dictValue.
const (
	dictOK          uint8 = iota // read: the typed value is ready
	dictNull                     // "-": the field shows no value
	dictUnprintable              // empty, or holds a space or control character: the row is malformed
	dictSlow                     // the fast path does not take it: the text parser decides
)

// dictValueSize is what a Dict holds per value besides its bytes.
const dictValueSize = int(unsafe.Sizeof(dictValue{}))

// DictBytes returns the memory n values of b bytes in all take in a Dict.
func DictBytes(n, b int) int { return n*dictValueSize + b }

// Dict holds the values of one dictionary page of one string column, each
// read once. Reset it for the column's field, Add each value in the
// page's order, then add a row's value with Row.Dict. A Dict copies the
// values' bytes; it is not safe for concurrent use, and a Row holding one
// of its values must be Reset before the Dict is.
type Dict struct {
	field   Field
	buf     []byte
	vals    []dictValue
	scratch []byte
	rec     Record
}

// Reset empties the dictionary for the values of field f.
func (d *Dict) Reset(f Field) {
	d.field, d.buf, d.vals = f, d.buf[:0], d.vals[:0]
}

// Grow makes room for n more values of size bytes in all, exactly, so
// that a caller that knows the page's size holds no more than it needs.
func (d *Dict) Grow(n, size int) {
	if cap(d.vals)-len(d.vals) < n {
		d.vals = append(make([]dictValue, 0, len(d.vals)+n), d.vals...)
	}
	if cap(d.buf)-len(d.buf) < size {
		d.buf = append(make([]byte, 0, len(d.buf)+size), d.buf...)
	}
}

// Held returns the memory the Dict holds, by DictBytes, its scratch
// buffer included; nil holds nothing.
func (d *Dict) Held() int {
	if d == nil {
		return 0
	}
	return DictBytes(cap(d.vals), cap(d.buf)+cap(d.scratch))
}

// HeldFor returns what the Dict (nil: a new one) would hold once Reset and
// filled with n values of size bytes in all, besides its scratch buffer
// (the size of the longest value): a caller bounds its Dicts with it
// before filling one.
func (d *Dict) HeldFor(n, size int) int {
	if d == nil {
		return DictBytes(n, size)
	}
	return DictBytes(max(cap(d.vals), n), max(cap(d.buf), size)+cap(d.scratch))
}

// Len returns the number of values added.
func (d *Dict) Len() int { return len(d.vals) }

// Value returns the bytes of value i, which must be below d.Len(): the
// Dict's copy, valid until its next Reset.
func (d *Dict) Value(i int) []byte {
	v := &d.vals[i]
	return d.buf[v.start:v.end:v.end]
}

// Add reads the next value of the page.
func (d *Dict) Add(b []byte) {
	v := dictValue{start: uint32(len(d.buf)), field: d.field}
	d.buf = append(d.buf, b...)
	v.end = uint32(len(d.buf))
	switch {
	case !printable(b):
		v.state = dictUnprintable
	case len(b) == 1 && b[0] == '-':
		v.state = dictNull
	default:
		v.state = d.read(b, &v)
	}
	d.vals = append(d.vals, v)
}

// read applies rowToken to b as ParseRow does to a string value: followed
// by the space a Row puts after each value, then the parser's padding.
func (d *Dict) read(b []byte, v *dictValue) uint8 {
	d.scratch = append(append(append(d.scratch[:0], b...), ' '), pad[:]...)
	r := &d.rec
	if !r.rowToken(d.field, d.scratch, 0, len(b)) {
		return dictSlow
	}
	switch catalogue[d.field].kind {
	case KindAddr:
		v.addr = r.addr(d.field)
	case KindAction:
		v.word = uint8(r.Action)
	case KindLogStatus:
		v.word = uint8(r.LogStatus)
	}
	return dictOK
}

// addr returns the address field f.
func (r *Record) addr(f Field) netip.Addr {
	switch f {
	case FieldSrcAddr:
		return r.SrcAddr
	case FieldDstAddr:
		return r.DstAddr
	case FieldPktSrcAddr:
		return r.PktSrcAddr
	case FieldPktDstAddr:
		return r.PktDstAddr
	}
	return netip.Addr{}
}

// Dict adds value i of d, as Bytes would add its bytes; i must be below
// d.Len().
func (w *Row) Dict(d *Dict, i int) {
	v := &d.vals[i]
	if w.bad < 0 && v.state == dictUnprintable {
		w.bad = len(w.vals)
	}
	w.buf = append(w.buf, d.buf[v.start:v.end]...)
	w.vals = append(w.vals, rowValue{v: int64(len(w.dict)), end: int32(len(w.buf)), kind: rowDict})
	w.dict = append(w.dict, v)
	w.buf = append(w.buf, ' ')
}

// setDict sets field of r from a dictionary value read for that field;
// s is the value's token in the row. False: the text parser decides.
func (r *Record) setDict(field Field, v *dictValue, s string) bool {
	if v.state != dictOK || v.field != field {
		return false
	}
	switch catalogue[field].kind {
	case KindAddr:
		r.setAddr(field, v.addr)
	case KindAction:
		r.Action = Action(v.word)
	case KindLogStatus:
		r.LogStatus = LogStatus(v.word)
	default:
		r.setString(field, s)
	}
	return true
}
