package flowrecord

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strings"
)

// Errors a ParseError can wrap; test for them with errors.Is.
var (
	ErrEmptyLine  = errors.New("empty line")
	ErrFieldCount = errors.New("wrong number of fields")
	ErrEmptyField = errors.New("empty field")
	ErrSyntax     = errors.New("invalid value")
	ErrRange      = errors.New("value out of range")
	ErrTooLong    = errors.New("value too long")
)

// maxErrorToken bounds the part of a token a ParseError keeps, so that an
// error about a huge line stays small.
const maxErrorToken = 64

// ParseError reports why a line is not a record of the parser's format.
type ParseError struct {
	Field Field  // the field at fault; zero when the line as a whole is
	Index int    // the field's position in the line, from 0; -1 for the line
	Token string // the offending token, cut to 64 bytes
	Len   int    // the offending token's length before the cut
	Got   int    // for ErrFieldCount: the number of fields in the line
	Want  int    // for ErrFieldCount: the number of fields in the format
	Err   error  // one of the Err* values above
}

func (e *ParseError) Error() string {
	switch {
	case errors.Is(e.Err, ErrFieldCount):
		return fmt.Sprintf("%v: line has %d, format has %d", e.Err, e.Got, e.Want)
	case e.Field.Valid() && e.Len > len(e.Token):
		return fmt.Sprintf("field %d (%s): %v: %q... (%d bytes)", e.Index+1, e.Field, e.Err, e.Token, e.Len)
	case e.Field.Valid():
		return fmt.Sprintf("field %d (%s): %v: %q", e.Index+1, e.Field, e.Err, e.Token)
	}
	return e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// failure is a parse error kept as a value, so that the aggregator can
// count a bad line without allocating; it becomes a *ParseError on demand.
type failure struct {
	err   error
	field Field
	index int
	token string
	got   int
	want  int
}

func (f *failure) toError() *ParseError {
	tok := f.token
	if len(tok) > maxErrorToken {
		tok = tok[:maxErrorToken]
	}
	return &ParseError{
		Field: f.field,
		Index: f.index,
		Token: strings.Clone(tok),
		Len:   len(f.token),
		Got:   f.got,
		Want:  f.want,
		Err:   f.err,
	}
}

// Parser parses lines of one format into Records. It is not safe for
// concurrent use; give each goroutine its own.
type Parser struct {
	format      *Format
	interfaceID string
	buf         []byte  // the line, padded for 8-byte loads
	fail        failure // why the last parse failed
}

// NewParser returns a parser for lines of format f, or of the default
// format when f is nil.
func NewParser(f *Format) *Parser {
	if f == nil {
		f = DefaultFormat()
	}
	return &Parser{format: f}
}

// Format returns the parser's format.
func (p *Parser) Format() *Format { return p.format }

// SetInterfaceID sets the interface that Record.InterfaceID falls back to
// when a record has none: its format lacks ${interface-id} or the record
// shows "-". A CloudWatch Logs reader passes the interface of the log stream.
// An id that is not an interface ID as AWS writes them (a stream name is
// anyone's to choose who may write to the group) sets none: such records
// then have no interface, as they would without a fallback.
func (p *Parser) SetInterfaceID(id string) {
	if checkID(id, "eni-") != nil {
		id = ""
	}
	p.interfaceID = id
}

// Parse parses one line into r, overwriting it. On failure it returns a
// *ParseError naming the field and token at fault; r is then unspecified.
// A trailing "\n", "\r\n" or "\r" is ignored. Parse never panics.
func (p *Parser) Parse(line string, r *Record) error {
	if !p.parse(line, r) {
		return p.fail.toError()
	}
	return nil
}

// pad follows a line in Parser.buf, so that an eight-byte load starting
// anywhere in the line stays in bounds.
var pad [8]byte

const (
	ones  = 0x0101010101010101
	low7  = 0x7f7f7f7f7f7f7f7f
	high  = 0x8080808080808080
	zeros = 0x3030303030303030 // "00000000"
)

// spaces marks the bytes of x that are ' ' with their high bit. Unlike the
// shorter zero-byte test it has no false positives, so every mark is a
// separator.
func spaces(x uint64) uint64 {
	y := x ^ (' ' * ones)
	t := (y & low7) + low7
	return ^(t | y | low7)
}

// parse parses line into r and reports success; on failure p.fail says
// why. The failure stays a value so that a caller counting bad lines
// allocates nothing.
func (p *Parser) parse(line string, r *Record) (ok bool) {
	r.reset(p.format)
	// Readers differ in what they strip of a line end: drop what is left
	// of "\r\n".
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	line = trimSpaces(line)
	if line == "" {
		return p.failed(failure{err: ErrEmptyLine, index: -1})
	}
	buf := append(p.buf[:0], line...)
	buf = append(buf, pad[:]...)
	p.buf = buf
	if !p.parseFast(line, buf, r) {
		r.reset(p.format)
		if line, ok = p.parseSlow(line, r); !ok {
			return false
		}
	}
	r.line = line
	if r.InterfaceID == "" {
		r.InterfaceID = p.interfaceID
	}
	return true
}

// trimSpaces drops the spaces that lead or trail a line.
func trimSpaces(line string) string {
	for len(line) > 0 && line[0] == ' ' {
		line = line[1:]
	}
	for n := len(line); n > 0 && line[n-1] == ' '; n-- {
		line = line[:n-1]
	}
	return line
}

// parseSlow parses by the general path a line the fast path did not take,
// and returns the line the Record's strings share. A line with runs of
// spaces between its fields, which AWS documents in one of its own example
// records, is first copied with single spaces: the only parse that
// allocates, and a rare one. line is trimmed and has no line end; p.buf
// holds it followed by the padding.
func (p *Parser) parseSlow(line string, r *Record) (string, bool) {
	if strings.Contains(line, "  ") {
		line = collapseSpaces(line)
		p.buf = append(append(p.buf[:0], line...), pad[:]...)
	}
	return line, p.parseGeneral(line, p.buf, r)
}

// collapseSpaces returns line with each run of spaces made one space.
func collapseSpaces(line string) string {
	b := make([]byte, 0, len(line))
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' && i > 0 && line[i-1] == ' ' {
			continue
		}
		b = append(b, line[i])
	}
	return string(b)
}

// parseGeneral parses any line, finding every separator first, and says
// exactly what is wrong with a bad one. line has no line end; buf holds it
// followed by eight zero bytes.
func (p *Parser) parseGeneral(line string, buf []byte, r *Record) bool {
	format := p.format
	fields := format.fields
	nf := len(fields)
	n := len(line)

	// Find every separator eight bytes at a time: this measured twice as
	// fast as a byte loop, which mispredicts at every token boundary.
	ends := &r.ends
	k := 0
	for w := 0; w < n; w += 8 {
		m := spaces(binary.LittleEndian.Uint64(buf[w:]))
		for m != 0 {
			at := w + bits.TrailingZeros64(m)>>3
			if k == nf-1 {
				return p.failed(failure{err: ErrFieldCount, index: -1, got: nf + strings.Count(line[at:], " "), want: nf})
			}
			ends[k] = int32(at)
			k++
			m &= m - 1
		}
	}
	if k < nf-1 {
		return p.failed(failure{err: ErrFieldCount, index: -1, got: k + 1, want: nf})
	}
	ends[nf-1] = int32(n)

	start := 0
	for i, field := range fields {
		end := int(ends[i])
		l := end - start
		off := start
		start = end + 1
		if l == 1 && line[off] == '-' {
			continue
		}
		if l == 0 {
			return p.failed(failure{err: ErrEmptyField, field: field, index: i})
		}
		r.present |= 1 << field
		// The switch sits in the loop, not in a method, to spare a call
		// per token.
		var err error
		switch field {
		case FieldVersion:
			r.Version, err = digitsInt(buf, off, l, math.MaxInt32)
		case FieldSrcAddr:
			r.SrcAddr, err = parseAddr(line, buf, off, end)
		case FieldDstAddr:
			r.DstAddr, err = parseAddr(line, buf, off, end)
		case FieldSrcPort:
			r.SrcPort, err = digitsInt(buf, off, l, math.MaxUint16)
		case FieldDstPort:
			r.DstPort, err = digitsInt(buf, off, l, math.MaxUint16)
		case FieldProtocol:
			r.Protocol, err = digitsInt(buf, off, l, math.MaxUint8)
		case FieldPackets:
			r.Packets, err = digits(buf, off, l, math.MaxUint64)
		case FieldBytes:
			r.Bytes, err = digits(buf, off, l, math.MaxUint64)
		case FieldStart:
			var v uint64
			v, err = digits(buf, off, l, math.MaxInt64)
			r.Start = int64(v)
		case FieldEnd:
			var v uint64
			v, err = digits(buf, off, l, math.MaxInt64)
			r.End = int64(v)
		case FieldAction:
			switch line[off:end] {
			case "ACCEPT":
				r.Action = ActionAccept
			case "REJECT":
				r.Action = ActionReject
			default:
				err = ErrSyntax
			}
		case FieldLogStatus:
			switch line[off:end] {
			case "OK":
				r.LogStatus = StatusOK
			case "NODATA":
				r.LogStatus = StatusNoData
			case "SKIPDATA":
				r.LogStatus = StatusSkipData
			default:
				err = ErrSyntax
			}
		case FieldTCPFlags:
			r.TCPFlags, err = digitsInt(buf, off, l, math.MaxInt32)
		case FieldPktSrcAddr:
			r.PktSrcAddr, err = parseAddr(line, buf, off, end)
		case FieldPktDstAddr:
			r.PktDstAddr, err = parseAddr(line, buf, off, end)
		case FieldTrafficPath:
			r.TrafficPath, err = digitsInt(buf, off, l, math.MaxInt32)
		case FieldEncryptionStatus:
			r.EncryptionStatus, err = digitsInt(buf, off, l, math.MaxInt32)
		default: // the string and tag fields
			err = checkToken(field, line[off:end])
			r.setString(field, line[off:end])
		}
		if err != nil {
			return p.failed(failure{err: err, field: field, index: i, token: line[off:end]})
		}
	}
	return true
}

func (p *Parser) failed(f failure) bool {
	p.fail = f
	return false
}

// digits8 parses the 1 to 8 decimal digits at buf[off:off+l] without a
// loop; buf must hold eight bytes from off.
func digits8(buf []byte, off, l int) (uint64, bool) {
	x := binary.LittleEndian.Uint64(buf[off:]) ^ zeros
	x <<= uint(8-l) * 8 // drop the bytes past the token; zeros lead
	if ((x+(0x76*ones))|x)&high != 0 {
		return 0, false // a byte that is not a digit
	}
	// Fold neighbours pairwise: digits into pairs, pairs into fours, fours
	// into the eight-digit value.
	x = x * (1 + 10<<8) >> 8
	x = (x & 0x00ff00ff00ff00ff) * (1 + 100<<16) >> 16
	x = (x & 0x0000ffff0000ffff) * (1 + 10000<<32) >> 32
	return x, true
}

// digits parses the decimal number of l bytes at buf[off:], at most limit.
func digits(buf []byte, off, l int, limit uint64) (uint64, error) {
	var v uint64
	switch {
	case l == 0:
		return 0, ErrSyntax
	case l <= 8:
		x, ok := digits8(buf, off, l)
		if !ok {
			return 0, ErrSyntax
		}
		v = x
	case l <= 16:
		hi, ok1 := digits8(buf, off, l-8)
		lo, ok2 := digits8(buf, off+l-8, 8)
		if !ok1 || !ok2 {
			return 0, ErrSyntax
		}
		v = hi*100_000_000 + lo
	default:
		return atou(buf[off:off+l], limit)
	}
	if v > limit {
		return 0, ErrRange
	}
	return v, nil
}

func digitsInt(buf []byte, off, l int, limit int) (int, error) {
	v, err := digits(buf, off, l, uint64(limit))
	return int(v), err
}

// atou parses a decimal number without sign, at most limit.
func atou[T string | []byte](s T, limit uint64) (uint64, error) {
	if len(s) == 0 {
		return 0, ErrSyntax
	}
	var v uint64
	if len(s) <= 19 { // 19 digits cannot overflow a uint64
		for i := 0; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, ErrSyntax
			}
			v = v*10 + uint64(c)
		}
	} else {
		overflow := false
		for i := 0; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, ErrSyntax
			}
			if v > (math.MaxUint64-uint64(c))/10 {
				overflow = true
			}
			v = v*10 + uint64(c)
		}
		if overflow {
			return 0, ErrRange
		}
	}
	if v > limit {
		return 0, ErrRange
	}
	return v, nil
}

// parseAddr parses the IPv4 or IPv6 address, without zone, at
// line[off:end]; buf holds the line followed by the padding.
func parseAddr(line string, buf []byte, off, end int) (netip.Addr, error) {
	if a, ok := parseIPv4(buf, off, end-off); ok {
		return a, nil
	}
	if a, ok := parseIPv6(line[off:end]); ok {
		return a, nil
	}
	return netip.Addr{}, ErrSyntax
}

// parseIPv6 parses an IPv6 address without zone as netip.ParseAddr does,
// about three times faster and without allocating on bad input.
func parseIPv6(s string) (netip.Addr, bool) {
	var groups [8]uint16
	ellipsis := -1 // where "::" stands in groups
	g, i := 0, 0
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		i = 2
	}
	for i < len(s) {
		start := i
		var v uint32
		for i < len(s) {
			d := hexValues[s[i]]
			if d < 0 {
				break
			}
			v = v<<4 | uint32(d)
			i++
		}
		n := i - start
		if n == 0 || n > 4 {
			return netip.Addr{}, false
		}
		if i < len(s) && s[i] == '.' {
			// A trailing IPv4 address fills the last two groups.
			if g > 6 {
				return netip.Addr{}, false
			}
			var b [16]byte
			l := copy(b[:], s[start:])
			if l != len(s)-start {
				return netip.Addr{}, false
			}
			a, ok := parseIPv4(b[:], 0, l)
			if !ok {
				return netip.Addr{}, false
			}
			a4 := a.As4()
			groups[g] = uint16(a4[0])<<8 | uint16(a4[1])
			groups[g+1] = uint16(a4[2])<<8 | uint16(a4[3])
			g += 2
			break
		}
		if g >= len(groups) {
			return netip.Addr{}, false
		}
		groups[g] = uint16(v)
		g++
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) {
			return netip.Addr{}, false
		}
		i++
		if s[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = g
			i++
		}
	}
	switch {
	case g < len(groups):
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		n := len(groups) - g
		copy(groups[ellipsis+n:], groups[ellipsis:g])
		clear(groups[ellipsis : ellipsis+n])
	case ellipsis >= 0:
		return netip.Addr{}, false // "::" must stand for at least one group
	}
	// Whole words, not bytes: AddrFrom16 loads the array as two words,
	// which the store buffer forwards only from stores of the same size.
	var ip [16]byte
	binary.BigEndian.PutUint64(ip[:8], uint64(groups[0])<<48|uint64(groups[1])<<32|uint64(groups[2])<<16|uint64(groups[3]))
	binary.BigEndian.PutUint64(ip[8:], uint64(groups[4])<<48|uint64(groups[5])<<32|uint64(groups[6])<<16|uint64(groups[7]))
	return netip.AddrFrom16(ip), true
}

// parseIPv4 parses a dotted quad as netip does (no leading zeros).
func parseIPv4(buf []byte, off, l int) (netip.Addr, bool) {
	if l < 7 || l > 15 {
		return netip.Addr{}, false
	}
	s := buf[off : off+l]
	var b [4]byte
	i := 0
	for oct := range b {
		if oct > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) {
			return netip.Addr{}, false
		}
		v := uint(s[i] - '0')
		if v > 9 {
			return netip.Addr{}, false
		}
		i++
		if v != 0 { // a leading 0 is the whole octet
			for k := 0; k < 2 && i < len(s); k++ {
				d := uint(s[i] - '0')
				if d > 9 {
					break
				}
				v = v*10 + d
				i++
			}
			if v > 255 {
				return netip.Addr{}, false
			}
		}
		b[oct] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}
