package flowrecord

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
// exactly what is wrong with a bad one. It is the path of unusual lines
// and errors only, so it is written plainly, reusing the fast path's
// readers where they say exactly whether a token is valid. line has no
// line end; buf holds it followed by eight zero bytes.
func (p *Parser) parseGeneral(line string, buf []byte, r *Record) bool {
	if !p.split(line, r) {
		return false
	}
	start := 0
	for i, field := range p.format.fields {
		off, end := start, int(r.ends[i])
		start = end + 1
		switch {
		case end-off == 1 && line[off] == '-':
			continue
		case end == off:
			return p.failed(failure{err: ErrEmptyField, field: field, index: i})
		}
		r.present |= 1 << field
		if err := r.parseToken(field, line, buf, off, end); err != nil {
			return p.failed(failure{err: err, field: field, index: i, token: line[off:end]})
		}
	}
	return true
}

// split records in r.ends where each token of line ends, and fails unless
// the line has as many tokens as the format has fields.
func (p *Parser) split(line string, r *Record) bool {
	nf := len(p.format.fields)
	k, at := 0, 0
	for {
		j := strings.IndexByte(line[at:], ' ')
		if j < 0 {
			break
		}
		if k == nf-1 {
			return p.failed(failure{err: ErrFieldCount, index: -1, got: nf + strings.Count(line[at:], " "), want: nf})
		}
		r.ends[k] = int32(at + j)
		k++
		at += j + 1
	}
	if k < nf-1 {
		return p.failed(failure{err: ErrFieldCount, index: -1, got: k + 1, want: nf})
	}
	r.ends[nf-1] = int32(len(line))
	return true
}

// parseToken parses the token line[off:end] of field into r, naming with
// one of the Err* values what is wrong with a bad one.
func (r *Record) parseToken(field Field, line string, buf []byte, off, end int) error {
	tok := line[off:end]
	switch catalogue[field].kind {
	case KindAddr:
		a, ok := parseAddr(line, buf, off, end)
		if !ok {
			return ErrSyntax
		}
		r.setAddr(field, a)
	case KindAction, KindLogStatus:
		if e, ok := r.readWord(field, buf, off); !ok || e != end {
			return ErrSyntax
		}
	case KindString, KindTag:
		r.setString(field, tok)
		return checkToken(field, tok)
	default:
		v, err := atou(tok, math.MaxUint64)
		if err != nil {
			return err
		}
		if !r.setNumber(field, v) {
			return ErrRange
		}
	}
	return nil
}

func (p *Parser) failed(f failure) bool {
	p.fail = f
	return false
}

// atou parses a decimal number without sign, at most limit.
func atou[T string | []byte](s T, limit uint64) (uint64, error) {
	if len(s) == 0 {
		return 0, ErrSyntax
	}
	var v uint64
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
	if overflow || v > limit {
		return 0, ErrRange
	}
	return v, nil
}

// parseAddr parses the IPv4 or IPv6 address, without zone, at
// line[off:end]; buf holds the line followed by the padding.
func parseAddr(line string, buf []byte, off, end int) (netip.Addr, bool) {
	if a, e, ok := ipv4(buf, off); ok && e == end {
		return a, true
	}
	return parseIPv6(line[off:end])
}

// parseIPv6 parses an IPv6 address without zone as netip.ParseAddr does,
// about three times faster and without allocating on bad input.
func parseIPv6(s string) (netip.Addr, bool) {
	var groups [8]uint16
	g, ellipsis, ok := readGroups(s, &groups)
	switch {
	case !ok:
		return netip.Addr{}, false
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

// readGroups reads the groups of the IPv6 address s into groups, and
// returns how many it read and where "::" stands among them (-1 for
// nowhere).
func readGroups(s string, groups *[8]uint16) (g, ellipsis int, ok bool) {
	ellipsis, i := -1, 0
	if strings.HasPrefix(s, "::") {
		ellipsis, i = 0, 2
	}
	for i < len(s) {
		start := i
		var v uint32
		for ; i < len(s) && hexValues[s[i]] >= 0; i++ {
			v = v<<4 | uint32(hexValues[s[i]])
		}
		if n := i - start; n == 0 || n > 4 {
			return 0, 0, false
		}
		if i < len(s) && s[i] == '.' {
			// A trailing IPv4 address fills the last two groups.
			return g + 2, ellipsis, g <= 6 && ipv4Groups(s[start:], groups[g:g+2])
		}
		if g == len(groups) {
			return 0, 0, false
		}
		groups[g] = uint16(v)
		g++
		if i == len(s) {
			break
		}
		if s[i] != ':' || i+1 == len(s) {
			return 0, 0, false
		}
		if i++; s[i] == ':' {
			if ellipsis >= 0 {
				return 0, 0, false
			}
			ellipsis = g
			i++
		}
	}
	return g, ellipsis, true
}

// ipv4Groups parses s, the dotted quad that ends an IPv6 address, into
// two groups.
func ipv4Groups(s string, groups []uint16) bool {
	var b [16]byte // a quad has at most 15 bytes; ipv4 reads no further
	if copy(b[:], s) != len(s) {
		return false
	}
	a, end, ok := ipv4(b[:], 0)
	if !ok || end != len(s) {
		return false
	}
	a4 := a.As4()
	groups[0] = uint16(a4[0])<<8 | uint16(a4[1])
	groups[1] = uint16(a4[2])<<8 | uint16(a4[3])
	return true
}
