package flowrecord

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The fast path parses a line in one forward pass: each field's reader
// takes its token from eight-byte words of the padded line and stops at the
// first byte that cannot continue it, which must then be the separator (or
// the end of the line for the last field). It handles the shapes that
// flow logs are made of: numbers of up to 15 digits, dotted quads, IPv6
// addresses, the ACCEPT/REJECT and OK/NODATA/SKIPDATA words, "-", and any
// other token as a string. Anything else — a bad line, a 16-digit number —
// makes it give up, and the general path, which finds every separator
// first, parses the line again and says what is wrong. A line the fast path
// accepts yields the same Record as the general path (FuzzParseLine checks
// both agree).

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

// nonDigits marks with their high bit the bytes of x ^ zeros that are not
// decimal digits. A carry can only run from a marked byte into later ones,
// so the lowest mark is exact: its byte is the first non-digit.
func nonDigits(x uint64) uint64 {
	return ((x + 0x76*ones) | x) & high
}

// fold8 turns the t leading digit bytes of x (x ^ zeros, little-endian,
// 1 <= t <= 8) into their value.
func fold8(x uint64, t int) uint64 {
	x <<= uint(8-t) * 8 // drop the bytes past the token; zeros lead
	x = x * (1 + 10<<8) >> 8
	x = (x & 0x00ff00ff00ff00ff) * (1 + 100<<16) >> 16
	return (x & 0x0000ffff0000ffff) * (1 + 10000<<32) >> 32
}

var pow10 = [9]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// number reads the decimal number of 1 to 15 digits at buf[off:] and
// returns it with the offset of the byte after it; ok is false for no digit
// or more than 15. buf must hold eight bytes past the line.
func number(buf []byte, off int) (v uint64, end int, ok bool) {
	x := binary.LittleEndian.Uint64(buf[off:]) ^ zeros
	m := nonDigits(x)
	if m != 0 {
		t := bits.TrailingZeros64(m) >> 3
		if t == 0 {
			return 0, off, false
		}
		return fold8(x, t), off + t, true
	}
	y := binary.LittleEndian.Uint64(buf[off+8:]) ^ zeros
	m = nonDigits(y)
	if m == 0 {
		return 0, off, false
	}
	t := bits.TrailingZeros64(m) >> 3
	hi := fold8(x, 8)
	if t == 0 {
		return hi, off + 8, true
	}
	return hi*pow10[t] + fold8(y, t), off + 8 + t, true
}

// tokenEnd returns the offset of the first space at or after off, or n, the
// length of the line, when there is none.
func tokenEnd(buf []byte, off, n int) int {
	for off < n {
		if m := spaces(binary.LittleEndian.Uint64(buf[off:])); m != 0 {
			return min(off+bits.TrailingZeros64(m)>>3, n)
		}
		off += 8
	}
	return n
}

// ipv4 reads a dotted quad without leading zeros at buf[off:] and returns
// the offset of the byte after it.
func ipv4(buf []byte, off int) (netip.Addr, int, bool) {
	var b [4]byte
	i := off
	for oct := range b {
		if oct > 0 {
			if buf[i] != '.' {
				return netip.Addr{}, off, false
			}
			i++
		}
		v := uint(buf[i] - '0')
		if v > 9 {
			return netip.Addr{}, off, false
		}
		i++
		if v != 0 { // a leading 0 is the whole octet
			if d := uint(buf[i] - '0'); d <= 9 {
				v = v*10 + d
				i++
				if d := uint(buf[i] - '0'); d <= 9 {
					v = v*10 + d
					i++
					if v > 255 {
						return netip.Addr{}, off, false
					}
				}
			}
		}
		b[oct] = byte(v)
	}
	return netip.AddrFrom4(b), i, true
}

// addrAt reads an IPv4 or IPv6 address at buf[off:].
func addrAt(line string, buf []byte, off int) (netip.Addr, int, bool) {
	if a, end, ok := ipv4(buf, off); ok {
		return a, end, true
	}
	end := tokenEnd(buf, off, len(line))
	a, ok := parseIPv6(line[off:end])
	return a, end, ok
}

// Little-endian words of the fixed tokens.
const (
	wordACCEPT   = 'A' | 'C'<<8 | 'C'<<16 | 'E'<<24 | 'P'<<32 | 'T'<<40
	wordREJECT   = 'R' | 'E'<<8 | 'J'<<16 | 'E'<<24 | 'C'<<32 | 'T'<<40
	wordOK       = 'O' | 'K'<<8
	wordNODATA   = 'N' | 'O'<<8 | 'D'<<16 | 'A'<<24 | 'T'<<32 | 'A'<<40
	wordSKIPDATA = 'S' | 'K'<<8 | 'I'<<16 | 'P'<<24 | 'D'<<32 | 'A'<<40 | 'T'<<48 | 'A'<<56
	mask2        = 1<<16 - 1
	mask6        = 1<<48 - 1
)

// parseFast parses line into r by the fast path and reports whether it
// could. line has no line end; buf holds it followed by eight zero bytes.
func (p *Parser) parseFast(line string, buf []byte, r *Record) bool {
	fields := p.format.fields
	n := len(line)
	last := len(fields) - 1
	off := 0
	present := p.format.mask
	for i, field := range fields {
		var end int
		var ok bool
		if buf[off] == '-' && (buf[off+1] == ' ' || off+1 == n) {
			end, ok = off+1, true
			present &^= 1 << field
		} else {
			// One switch on the kind, in the loop: a call per token to a
			// reader of any field measured slower.
			switch catalogue[field].kind {
			case KindAddr:
				var a netip.Addr
				a, end, ok = addrAt(line, buf, off)
				r.setAddr(field, a)
			case KindAction, KindLogStatus:
				end, ok = r.readWord(field, buf, off)
			case KindString, KindTag:
				end = tokenEnd(buf, off, n)
				r.setString(field, line[off:end])
				ok = quickToken(field, line, buf, off, end)
			default:
				var v uint64
				v, end, ok = number(buf, off)
				ok = ok && r.setNumber(field, v)
			}
		}
		// The token must end at a separator, the last one at the end of
		// the line.
		if !ok || (i == last) != (end == n) || (end < n && buf[end] != ' ') {
			return false
		}
		r.ends[i] = int32(end)
		off = end + 1
	}
	r.present = present
	return true
}

// readWord reads the action or log-status word at buf[off:] into r and
// returns the offset of the byte after it.
func (r *Record) readWord(field Field, buf []byte, off int) (int, bool) {
	w := binary.LittleEndian.Uint64(buf[off:])
	if field == FieldAction {
		switch w & mask6 {
		case wordACCEPT:
			r.Action = ActionAccept
		case wordREJECT:
			r.Action = ActionReject
		default:
			return off, false
		}
		return off + 6, true
	}
	switch {
	case w&mask2 == wordOK:
		r.LogStatus = StatusOK
		return off + 2, true
	case w&mask6 == wordNODATA:
		r.LogStatus = StatusNoData
		return off + 6, true
	case w == wordSKIPDATA:
		r.LogStatus = StatusSkipData
		return off + 8, true
	}
	return off, false
}

// quickToken reports whether the token line[off:end] of a string field is
// valid, taking the usual IDs eight bytes at a time before checkToken.
func quickToken(field Field, line string, buf []byte, off, end int) bool {
	switch l := end - off; shapes[field] {
	case shapeText:
		return l > 0 && l <= MaxTextToken
	case shapeID:
		return quickID(buf, off, l, idPrefixes[field]) || checkToken(field, line[off:end]) == nil
	case shapeAccount:
		return quickAccount(buf, off, l) || checkToken(field, line[off:end]) == nil
	}
	return end > off && checkToken(field, line[off:end]) == nil
}

// quickAccount reports whether the l bytes at buf[off:] are 12 digits,
// the usual account ID, checking eight bytes at a time. False means only
// that checkToken must decide.
func quickAccount(buf []byte, off, l int) bool {
	return l == 12 && nonDigits(binary.LittleEndian.Uint64(buf[off:])^zeros)|
		nonDigits(binary.LittleEndian.Uint64(buf[off+4:])^zeros) == 0
}

// quickID reports whether the l bytes at buf[off:] are prefix and 17 hex
// digits, the usual resource ID, checking eight bytes at a time. False
// means only that checkToken must decide.
func quickID(buf []byte, off, l int, prefix string) bool {
	p := off + len(prefix)
	return l == len(prefix)+17 && string(buf[off:p]) == prefix &&
		lowerHex8(binary.LittleEndian.Uint64(buf[p:])) &&
		lowerHex8(binary.LittleEndian.Uint64(buf[p+8:])) &&
		lowerHex8(binary.LittleEndian.Uint64(buf[p+9:]))
}

// lowerHex8 reports whether every byte of x is a digit or a to f. Each
// comparison adds to the low seven bits of a byte only, so no carry
// crosses into the next byte and every byte's answer is exact.
func lowerHex8(x uint64) bool {
	const m = low7
	above9 := ((x & m) + (0x7f-'9')*ones) & high
	from0 := ((x & m) + (0x7f-'/')*ones) & high
	fromA := ((x & m) + (0x7f-'`')*ones) & high
	aboveF := ((x & m) + (0x7f-'f')*ones) & high
	return x&high == 0 && (from0&^above9|fromA&^aboveF) == high
}
