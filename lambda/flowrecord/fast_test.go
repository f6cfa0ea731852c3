package flowrecord

import (
	"encoding/binary"
	"strings"
	"testing"
)

// TestFastPathGivesUp lists lines the fast path must leave to the general
// path, which then parses them or names the fault.
func TestFastPathGivesUp(t *testing.T) {
	const good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	with := func(i int, tok string) string {
		toks := strings.Split(good, " ")
		toks[i] = tok
		return strings.Join(toks, " ")
	}
	for _, c := range []struct {
		name, line string
		valid      bool // the general path parses it
	}{
		{"16-digit bytes", with(9, "1234567890123456"), true},
		{"17-digit bytes", with(9, "12345678901234567"), true},
		{"20-digit bytes", with(9, "18446744073709551615"), true},
		{"bytes overflow", with(9, "18446744073709551616"), false},
		{"port out of range", with(6, "65536"), false},
		{"protocol out of range", with(7, "256"), false},
		{"sign", with(5, "+1"), false},
		{"digits then letter", with(8, "20x"), false},
		{"octet over 255", with(3, "172.31.16.256"), false},
		{"leading zero octet", with(3, "172.031.16.1"), false},
		{"quad then more", with(3, "1.2.3.4.5"), false},
		{"quad with port", with(3, "1.2.3.4:80"), false},
		{"action lower case", with(12, "accept"), false},
		{"action longer", with(12, "ACCEPTED"), false},
		{"status longer", with(13, "OKAY"), false},
		{"status cut", with(13, "NODAT"), false},
		{"NUL after status", good + "\x00", false},
		{"trailing space", good + " ", true},
		{"double space", strings.Replace(good, " ", "  ", 1), true},
		{"leading spaces", "  " + good, true},
		{"runs of spaces everywhere", strings.ReplaceAll(good, " ", "   "), true},
		{"a tab is no separator", strings.Replace(good, " ", "\t", 1), false},
		{"interface ID of 16 digits", with(2, "eni-1235b8ca12345678"), false},
		{"upper-case interface ID", with(2, "eni-1235B8CA123456789"), false},
		{"account ID of 11 digits", with(1, "12345678901"), false},
		{"one field short", good[:strings.LastIndexByte(good, ' ')], false},
		{"one field more", good + " OK", false},
		{"dash then more", with(5, "-1"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewParser(nil)
			var r Record
			r.reset(p.format)
			buf := append([]byte(c.line), pad[:]...)
			if p.parseFast(c.line, buf, &r) {
				t.Errorf("fast path parses %q", c.line)
			}
			if err := p.Parse(c.line, &r); (err == nil) != c.valid {
				t.Errorf("Parse(%q) error %v, want valid=%v", c.line, err, c.valid)
			}
		})
	}
}

// TestLowerHex8 checks the eight-byte hex test against the table for every
// byte value at every position.
func TestLowerHex8(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			w := []byte("0a1b2c3d")
			w[pos] = byte(c)
			if got := lowerHex8(binary.LittleEndian.Uint64(w)); got != lowerHex[c] {
				t.Fatalf("byte %#x at %d: lowerHex8 = %v", c, pos, got)
			}
		}
	}
}

// TestQuickIDAgreesWithCheckToken checks that the fast path's word-wise ID
// test accepts the usual IDs and never a token that checkToken rejects:
// every byte value at every position of an ID, and other lengths.
func TestQuickIDAgreesWithCheckToken(t *testing.T) {
	for _, c := range []struct {
		field Field
		valid string
	}{
		{FieldAccountID, "123456789010"},
		{FieldInterfaceID, "eni-1235b8ca123456789"},
		{FieldNextHopInterfaceID, "eni-1235b8ca123456789"},
		{FieldVPCID, "vpc-abcdefab012345678"},
		{FieldNextHopVPCID, "vpc-abcdefab012345678"},
		{FieldSubnetID, "subnet-aaaaaaaa012345678"},
		{FieldNextHopSubnetID, "subnet-aaaaaaaa012345678"},
		{FieldInstanceID, "i-01234567890123456"},
	} {
		t.Run(c.field.String(), func(t *testing.T) {
			quick := func(tok string) bool {
				buf := append([]byte(tok), pad[:]...)
				if c.field == FieldAccountID {
					return quickAccount(buf, 0, len(tok))
				}
				return quickID(buf, 0, len(tok), idPrefixes[c.field])
			}
			if !quick(c.valid) || checkToken(c.field, c.valid) != nil {
				t.Fatalf("%q: quickID %v, checkToken %v", c.valid, quick(c.valid), checkToken(c.field, c.valid))
			}
			tokens := []string{c.valid[:len(c.valid)-1], c.valid + "0", strings.ToUpper(c.valid)}
			for pos := range len(c.valid) {
				for b := range 256 {
					tok := []byte(c.valid)
					tok[pos] = byte(b)
					tokens = append(tokens, string(tok))
				}
			}
			for _, tok := range tokens {
				if quick(tok) && checkToken(c.field, tok) != nil {
					t.Fatalf("quickID accepts %q, which checkToken rejects", tok)
				}
			}
		})
	}
}
