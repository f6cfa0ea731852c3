package digest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// A Parquet object's footer is thrift (compact protocol) that parquet-go
// decodes into its format.FileMetaData before anything else: it allocates
// each list at the length the list declares and each byte string at its
// declared length, before reading them, and trusts a schema element's
// count of children. A footer of a few bytes could so make it allocate
// gigabytes (a list of 2^31 column chunks of 560 bytes each), and a
// negative count of children made it panic. checkFooter walks the footer
// first, allocating nothing, and refuses one that declares more than it
// holds or more than maxFooterAlloc would take decoded.

// maxFooterBytes bounds a footer. AWS's objects (at most about 150 MB,
// row groups of about 10,000 rows) have footers of a few hundred KB at
// most: a column chunk takes about 100 bytes of footer.
const maxFooterBytes = 16 << 20

// maxFooterAlloc bounds what a footer may take decoded, estimated from
// its lists: a struct element at 600 bytes (a column chunk, the largest,
// takes 560), any other at 24 (a byte string's header; its bytes lie in
// the footer). A footer of 10,000 column chunks takes about 20 MB by this
// estimate.
const maxFooterAlloc = 64 << 20

// maxFooterDepth bounds the footer's nesting: FileMetaData nests structs
// five deep at most.
const maxFooterDepth = 16

// thrift compact protocol types.
const (
	ctStop = iota
	ctTrue
	ctFalse
	ctByte
	ctI16
	ctI32
	ctI64
	ctDouble
	ctBinary
	ctList
	ctSet
	ctMap
	ctStruct
)

// footerWalk walks a footer's bytes.
type footerWalk struct {
	b     []byte
	alloc int64 // the estimate so far
}

// checkFooter reads the footer of an object of size bytes into buf
// (returned, to be kept for the next object) and walks it.
func checkFooter(r io.ReaderAt, size int64, buf []byte) ([]byte, error) {
	var tail [8]byte
	if size < 12 {
		return buf, fmt.Errorf("%d bytes, too short for Parquet", size)
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return buf, err
	}
	if string(tail[4:]) != "PAR1" {
		return buf, errors.New("no Parquet magic at its end")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 || n > maxFooterBytes {
		return buf, fmt.Errorf("a footer of %d bytes in a %d-byte object (at most %d)", n, size, maxFooterBytes)
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := r.ReadAt(buf, size-8-n); err != nil {
		return buf, err
	}
	w := footerWalk{b: buf}
	if err := w.structure(0, fileMetaData); err != nil {
		return buf, fmt.Errorf("its footer: %w", err)
	}
	return buf, nil
}

var errFooterShort = errors.New("ends inside a value")

// structKind says which struct is walked: the FileMetaData, whose field
// 2 is the schema; a schema element, whose field 5 (num_children) must
// not be negative; or any other.
type structKind int

const (
	anyStruct structKind = iota
	fileMetaData
	schemaElement
)

// structure walks a struct's fields up to its stop.
func (w *footerWalk) structure(depth int, kind structKind) error {
	if depth > maxFooterDepth {
		return fmt.Errorf("structs nested more than %d deep", maxFooterDepth)
	}
	var id int64
	for {
		if len(w.b) == 0 {
			return errFooterShort
		}
		h := w.b[0]
		w.b = w.b[1:]
		typ := h & 0x0f
		if typ == ctStop {
			return nil
		}
		if d := int64(h >> 4); d != 0 {
			id += d
		} else {
			v, err := w.varint()
			if err != nil {
				return err
			}
			id = zigzag(v)
		}
		var err error
		switch {
		case kind == fileMetaData && id == 2 && typ == ctList:
			err = w.list(depth, true)
		case kind == schemaElement && id == 5 && typ == ctI32:
			var v uint64
			if v, err = w.varint(); err == nil && zigzag(v) < 0 {
				err = fmt.Errorf("a schema element of %d children", zigzag(v))
			}
		default:
			err = w.value(typ, depth)
		}
		if err != nil {
			return err
		}
	}
}

func zigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// value walks one value of type typ.
func (w *footerWalk) value(typ byte, depth int) error {
	switch typ {
	case ctTrue, ctFalse:
		return nil // in a field header, the value is its type
	case ctByte:
		return w.skip(1)
	case ctI16, ctI32, ctI64:
		_, err := w.varint()
		return err
	case ctDouble:
		return w.skip(8)
	case ctBinary:
		n, err := w.varint()
		if err != nil {
			return err
		}
		if n > uint64(len(w.b)) {
			return fmt.Errorf("a byte string of %d bytes where %d are left", n, len(w.b))
		}
		return w.skip(int(n))
	case ctList, ctSet:
		return w.list(depth, false)
	case ctMap:
		return w.mapping(depth)
	case ctStruct:
		return w.structure(depth+1, anyStruct)
	}
	return fmt.Errorf("a value of unknown type %d", typ)
}

// list walks a list or set; schema says it is the FileMetaData's schema.
func (w *footerWalk) list(depth int, schema bool) error {
	if len(w.b) == 0 {
		return errFooterShort
	}
	h := w.b[0]
	w.b = w.b[1:]
	n, elem := uint64(h>>4), h&0x0f
	if n == 0x0f {
		var err error
		if n, err = w.varint(); err != nil {
			return err
		}
	}
	if err := w.count(n, elem); err != nil {
		return err
	}
	// parquet-go's openColumns reserves leaves x row groups chunk
	// pointers and the sum of the schema's depths in path names before it
	// checks either: a schema is the root and one element a flow log field.
	if schema && n > 1+uint64(flowrecord.NumFields) {
		return fmt.Errorf("a schema of %d elements, more than the %d of a flow log", n, 1+flowrecord.NumFields)
	}
	for range n {
		var err error
		switch {
		case schema && elem == ctStruct:
			err = w.structure(depth+1, schemaElement)
		case elem == ctTrue || elem == ctFalse:
			err = w.skip(1) // in a list, each bool takes a byte
		default:
			err = w.value(elem, depth)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mapping walks a map: no Parquet footer has one, but thrift allows it.
func (w *footerWalk) mapping(depth int) error {
	n, err := w.varint()
	if err != nil || n == 0 {
		return err
	}
	if len(w.b) == 0 {
		return errFooterShort
	}
	kv := w.b[0]
	w.b = w.b[1:]
	if err := w.count(2*n, ctBinary); err != nil {
		return err
	}
	for range n {
		if err := w.value(kv>>4, depth); err != nil {
			return err
		}
		if err := w.value(kv&0x0f, depth); err != nil {
			return err
		}
	}
	return nil
}

// count adds n elements of type elem to the estimate: every element
// takes at least a byte of the footer, so n may not exceed what is left.
func (w *footerWalk) count(n uint64, elem byte) error {
	if n > uint64(len(w.b)) {
		return fmt.Errorf("a list of %d values where %d bytes are left", n, len(w.b))
	}
	each := int64(24)
	if elem == ctStruct {
		each = 600
	}
	if w.alloc += int64(n) * each; w.alloc > maxFooterAlloc {
		return fmt.Errorf("lists that would take more than %d bytes decoded", maxFooterAlloc)
	}
	return nil
}

func (w *footerWalk) varint() (uint64, error) {
	v, k := binary.Uvarint(w.b)
	if k <= 0 {
		return 0, errFooterShort
	}
	w.b = w.b[k:]
	return v, nil
}

func (w *footerWalk) skip(n int) error {
	if n > len(w.b) {
		return errFooterShort
	}
	w.b = w.b[n:]
	return nil
}
