package digest

import (
	"strings"
	"testing"
	"time"
)

// TestPackENI proves ids of AWS's two forms round-trip through the 9-byte
// packing, and anything else (which the parser already refuses) is never
// packed into a key.
func TestPackENI(t *testing.T) {
	cases := []struct {
		name, id string
		ok       bool
	}{
		{"17 digits", "eni-0c19436730cc350ae", true},
		{"17 digits, the largest", "eni-fffffffffffffffff", true},
		{"17 digits, all zero", "eni-00000000000000000", true},
		{"8 digits", "eni-1a2b3c4d", true},
		{"8 digits, the largest", "eni-ffffffff", true},
		{"upper case", "eni-0C19436730CC350AE", false},
		{"16 digits", "eni-0c19436730cc350a", false},
		{"another prefix", "vpc-0c19436730cc350ae", false},
		{"a sign", "eni-+c19436730cc350ae", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := packENI(c.id)
			if ok != c.ok {
				t.Fatalf("packENI(%q) ok = %v, want %v", c.id, ok, c.ok)
			}
			if !ok {
				return
			}
			if back, ok := unpackENI(p); !ok || back != c.id {
				t.Errorf("unpackENI(packENI(%q)) = %q, %v", c.id, back, ok)
			}
		})
	}
	a, _ := packENI("eni-0000000012345678")
	b, _ := packENI("eni-12345678")
	if a == b {
		t.Error("an 8-digit id packs like a 17-digit one with the same value")
	}
}

// TestSeenEncoding proves the set round-trips with its pending marks and
// end, and that data which is not a set is refused, not misread.
func TestSeenEncoding(t *testing.T) {
	id1, _ := packENI("eni-0c19436730cc350ae")
	id2, _ := packENI("eni-1a2b3c4d")
	end := time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC)
	data := encodeSeen([]seenEntry{{id: id1, hour: 493_000, pending: true}, {id: id2, hour: 492_999}}, end)
	got, gotEnd, err := decodeSeen(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !gotEnd.Equal(end) || len(data) != seenHeader+2*seenEntryBytes {
		t.Fatalf("decoded %+v, end %s from %d bytes", got, gotEnd, len(data))
	}
	for _, e := range got {
		if want := e.id == id1; e.pending != want || (e.id == id1) != (e.hour == 493_000) {
			t.Errorf("entry %+v: pending and hour not as written", e)
		}
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"another magic", append([]byte("BLM1"), data[4:]...), "bad header"},
		{"cut short", data[:len(data)-1], "entries in"},
		{"not an id", append(append([]byte{}, data[:seenHeader]...), append([]byte{0x11}, data[seenHeader+1:]...)...), "not an interface id"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := decodeSeen(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

// TestBoundSeen proves the bound keeps the window's pending interfaces,
// then those seen most recently.
func TestBoundSeen(t *testing.T) {
	var entries []seenEntry
	for i := range 10 {
		id, _ := packENI("eni-" + strings.Repeat("0", 7) + string(rune('0'+i)))
		entries = append(entries, seenEntry{id: id, hour: uint32(100 + i), pending: i == 0})
	}
	kept := boundSeen(entries, 4)
	var hours []uint32
	for _, e := range kept {
		hours = append(hours, e.hour)
	}
	if len(kept) != 4 || !kept[0].pending || hours[1] != 109 || hours[2] != 108 || hours[3] != 107 {
		t.Errorf("kept hours %v (first pending %v), want the pending one (100), then 109, 108, 107", hours, kept[0].pending)
	}
}
