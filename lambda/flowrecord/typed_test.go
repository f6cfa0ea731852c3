package flowrecord

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rowOf turns line into the Row a columnar file would hold for it: "-" as
// null, the tokens of numeric fields as ints where they are integers (a
// Parquet INT column) and as strings where not (a hostile object's column
// typed otherwise), every other token as a string. With allBytes every
// token is a string, as in an object whose every column is BYTE_ARRAY.
func rowOf(f *Format, line string, allBytes bool) *Row {
	w := &Row{}
	w.Reset()
	for i, tok := range strings.Split(line, " ") {
		numeric := i < len(f.fields) && f.fields[i].Kind() >= KindInt && f.fields[i].Kind() <= KindProtocol
		v, err := strconv.ParseInt(tok, 10, 64)
		switch {
		case tok == "-":
			w.Null()
		case numeric && !allBytes && err == nil:
			w.Int(v)
		default:
			w.Bytes([]byte(tok))
		}
	}
	return w
}

// rowOfDict is rowOf with every string value added through a Dict of its
// field, as a dictionary-encoded column holds it. Each field's Dict also
// holds a few other values first, so that indexes differ from positions.
func rowOfDict(f *Format, line string) *Row {
	w := &Row{}
	w.Reset()
	for i, tok := range strings.Split(line, " ") {
		numeric := i < len(f.fields) && f.fields[i].Kind() >= KindInt && f.fields[i].Kind() <= KindProtocol
		v, err := strconv.ParseInt(tok, 10, 64)
		switch {
		case tok == "-":
			w.Null()
		case numeric && err == nil:
			w.Int(v)
		default:
			field := FieldVersion // a value beyond the format: any field
			if i < len(f.fields) {
				field = f.fields[i]
			}
			d := &Dict{}
			d.Reset(field)
			for _, other := range []string{"-", "10.0.0.1", "ACCEPT"} {
				d.Add([]byte(other))
			}
			d.Add([]byte(tok))
			w.Dict(d, d.Len()-1)
		}
	}
	return w
}

// checkRowAgainstText fails t unless ParseRow reads row as Parse reads the
// row's text form, and ReadColumns reads its values from column pages as
// ParseRow reads it: the same error, or the same Record, typed fields and
// raw values alike. A row with an unprintable string must fail with
// ErrUnprintable instead, unless its values are not as many as the
// format's fields: the text parser then decides.
func checkRowAgainstText(t *testing.T, p *Parser, row *Row) {
	t.Helper()
	checkColumnsAgainstRow(t, p, row)
	var got, want Record
	gotErr := p.ParseRow(row, &got)
	if row.bad >= 0 && len(row.vals) == p.format.Len() {
		if !errors.Is(gotErr, ErrUnprintable) {
			t.Fatalf("row %q with an unprintable value: error %v, want ErrUnprintable", row.Line(), gotErr)
		}
		return
	}
	line := strings.Clone(row.Line())
	wantErr := p.Parse(line, &want)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("format %q, row %q: ParseRow error %v, Parse error %v", p.format, line, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	checkSameRecord(t, p, &got, &want, "row "+strconv.Quote(line)+", from the text")
}

// checkSameRecord fails t unless got and want agree in their typed fields
// and in the raw value of each field of p's format; what names want.
func checkSameRecord(t *testing.T, p *Parser, got, want *Record, what string) {
	t.Helper()
	checkTyped(t, got, want)
	for _, fd := range p.format.fields {
		gv, gok := got.Value(fd)
		wv, wok := want.Value(fd)
		if gv != wv || gok != wok {
			t.Fatalf("%s: Value = %q, %v; %s: %q, %v", fd, gv, gok, what, wv, wok)
		}
	}
}

// TestParseRowMatchesText proves, on named hostile and valid rows, that
// ParseRow refuses or accepts exactly what Parse does with the row's text
// form, with the same error.
func TestParseRowMatchesText(t *testing.T) {
	const good = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
	with := func(i int, tok string) string {
		toks := strings.Split(good, " ")
		toks[i] = tok
		return strings.Join(toks, " ")
	}
	tests := []struct{ name, line string }{
		{"good", good},
		{"nodata", "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"},
		{"ipv6", "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 ::ffff:1.2.3.4 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"},
		{"account unknown", with(1, "unknown")},
		{"account of 11 digits", with(1, "12345678901")},
		{"interface of another resource", with(2, "vpc-1235b8ca123456789")},
		{"interface upper-case hex", with(2, "eni-1235B8CA123456789")},
		{"address with a leading zero", with(3, "172.031.16.139")},
		{"address too large", with(4, "256.1.1.1")},
		{"port negative", with(5, "-1")},
		{"port out of range", with(6, "70000")},
		{"protocol out of range", with(7, "256")},
		{"port as a string", with(6, "x443")},
		{"bytes of 20 digits", with(9, "18446744073709551615")},
		{"start negative", with(10, "-5")},
		{"bytes negative", with(9, "-5")},
		{"action lower-case", with(12, "accept")},
		{"log status unknown", with(13, "OKAY")},
		{"a field short", strings.TrimSuffix(good, " OK")},
		{"a field too many", good + " -"},
		{"empty string", with(2, "")},
		{"string with a tab", with(12, "ACC\tEPT")},
	}
	p := NewParser(nil)
	for _, tt := range tests {
		for _, allBytes := range []bool{false, true} {
			t.Run(tt.name+"/allBytes="+strconv.FormatBool(allBytes), func(t *testing.T) {
				checkRowAgainstText(t, p, rowOf(p.format, tt.line, allBytes))
			})
		}
		t.Run(tt.name+"/dictionary", func(t *testing.T) {
			checkRowAgainstText(t, p, rowOfDict(p.format, tt.line))
		})
	}
}

// TestDictMatchesBytes proves that a string value read once by a Dict
// counts in a row exactly as the same bytes added by Row.Bytes: the same
// error naming the same field and token, or the same Record, for valid
// and hostile values of every kind of string field, including a value
// read for another field than the row's.
func TestDictMatchesBytes(t *testing.T) {
	p := NewParser(mustFormat(t, "${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${log-status} ${vpc-id} ${pkt-dst-aws-service} ${flow-direction}"))
	good := []string{"123456789012", "eni-1235b8ca123456789", "10.0.0.1", "2001:db8::1", "ACCEPT", "OK", "vpc-0123456789abcdef0", "S3", "ingress"}
	hostile := []string{
		"-", "", "unknown", "12345678901", "eni-1235B8CA123456789", "172.031.16.139", "256.1.1.1", "1.2.3.4.5",
		"::ffff:1.2.3.4", "accept", "REJECT", "NODATA", "SKIPDATA", "SKIPDATAX", "OKAY", "ACC\tEPT", "a b", "x\x7f",
		"443", "vpc-0123", strings.Repeat("z", 300), "é",
	}
	for i, field := range p.format.fields {
		for _, tok := range hostile {
			t.Run(field.String()+"/"+strconv.Quote(tok), func(t *testing.T) {
				var viaBytes, viaDict Row
				d := &Dict{}
				d.Reset(field)
				d.Add([]byte("-"))
				d.Add([]byte(tok))
				if got := d.Value(1); string(got) != tok || cap(got) != len(tok) {
					t.Fatalf("Value(1) = %q (capacity %d), want %q with no room to append over the next value", got, cap(got), tok)
				}
				viaBytes.Reset()
				viaDict.Reset()
				for j, g := range good {
					if j == i {
						viaBytes.Bytes([]byte(tok))
						viaDict.Dict(d, 1)
						continue
					}
					viaBytes.Bytes([]byte(g))
					viaDict.Bytes([]byte(g))
				}
				checkSameRow(t, p, &viaDict, &viaBytes)
			})
		}
	}
	t.Run("a value read for another field", func(t *testing.T) {
		d := &Dict{}
		d.Reset(FieldAction)
		d.Add([]byte("ACCEPT"))
		var viaBytes, viaDict Row
		viaBytes.Reset()
		viaDict.Reset()
		for j, g := range good {
			if j == 2 { // srcaddr, from an action dictionary
				viaBytes.Bytes([]byte("ACCEPT"))
				viaDict.Dict(d, 0)
				continue
			}
			viaBytes.Bytes([]byte(g))
			viaDict.Bytes([]byte(g))
		}
		checkSameRow(t, p, &viaDict, &viaBytes)
	})
}

// checkSameRow fails t unless ParseRow reads both rows alike.
func checkSameRow(t *testing.T, p *Parser, got, want *Row) {
	t.Helper()
	checkColumnsAgainstRow(t, p, got)
	var gr, wr Record
	gerr, werr := p.ParseRow(got, &gr), p.ParseRow(want, &wr)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("Dict row: error %v; Bytes row: error %v", gerr, werr)
	}
	if gl, wl := got.Line(), want.Line(); gl != wl {
		t.Fatalf("Dict row's text %q, Bytes row's %q", gl, wl)
	}
	if gerr != nil {
		return
	}
	checkSameRecord(t, p, &gr, &wr, "via Bytes")
}

// TestParseRowTypeErrors proves the stricter refusals: an untyped value
// and an unprintable string name their field.
func TestParseRowTypeErrors(t *testing.T) {
	p := NewParser(mustFormat(t, "${srcaddr} ${vpc-id}"))
	tests := []struct {
		name  string
		fill  func(w *Row)
		err   error
		field Field
	}{
		{"untyped", func(w *Row) { w.Bytes([]byte("10.0.0.1")); w.Bad() }, ErrColumnType, FieldVPCID},
		{"space", func(w *Row) { w.Bytes([]byte("10.0.0.1")); w.Bytes([]byte("vpc-0123 456789abcdef0")) }, ErrUnprintable, FieldVPCID},
		{"empty", func(w *Row) { w.Bytes(nil); w.Null() }, ErrUnprintable, FieldSrcAddr},
		{"too few", func(w *Row) { w.Bytes([]byte("10.0.0.1")) }, ErrFieldCount, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w Row
			w.Reset()
			tt.fill(&w)
			var r Record
			err := p.ParseRow(&w, &r)
			var pe *ParseError
			if !errors.Is(err, tt.err) || !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("error %v, want %v on field %v", err, tt.err, tt.field)
			}
		})
	}
}

// FuzzParseRow checks ParseRow against Parse of the row's text form on any
// line, cut into typed values as a columnar file would hold them; its seeds
// include FuzzParseLine's corpus.
func FuzzParseRow(f *testing.F) {
	for _, s := range fuzzLineCorpus(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	parsers := make([]*Parser, len(fuzzFormats))
	for i, s := range fuzzFormats {
		parsers[i] = NewParser(mustFormat(f, s))
	}
	f.Fuzz(func(t *testing.T, line string, allBytes bool) {
		for _, p := range parsers {
			checkRowAgainstText(t, p, rowOf(p.format, line, allBytes))
			checkRowAgainstText(t, p, rowOfDict(p.format, line))
		}
	})
}

// fuzzLineCorpus reads the stored corpus of FuzzParseLine.
func fuzzLineCorpus(tb testing.TB) []string {
	files, err := filepath.Glob("testdata/fuzz/FuzzParseLine/*")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no FuzzParseLine corpus: %v", err)
	}
	var out []string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if q, ok := strings.CutPrefix(l, "string("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
				if err != nil {
					tb.Fatalf("%s: %v", name, err)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// TestPrintable proves the eight-bytes-at-a-time check against the byte
// rule it stands for, for every byte value at every position of words and
// tails.
func TestPrintable(t *testing.T) {
	if printable(nil) {
		t.Error("an empty value is printable")
	}
	for _, n := range []int{1, 7, 8, 9, 17} {
		for pos := range n {
			for c := range 256 {
				s := []byte(strings.Repeat("a\xc3", n)[:n])
				s[pos] = byte(c)
				want := true
				for _, b := range s {
					if b <= ' ' || b == 0x7f {
						want = false
					}
				}
				if got := printable(s); got != want {
					t.Fatalf("printable(%q) = %v, want %v", s, got, want)
				}
			}
		}
	}
}
