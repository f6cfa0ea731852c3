package flowrecord

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// allV11Format has every field of the catalogue.
var allV11Format = func() string {
	var names []string
	for _, f := range AllFields() {
		names = append(names, "${"+f.Name()+"}")
	}
	return strings.Join(names, " ")
}()

func diffSummaries(t *testing.T, got, want Summary) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			t.Fatalf("summaries differ at JSON line %d:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("summaries differ in length: %d and %d JSON lines", len(gl), len(wl))
}

// TestHeavyHittersPastTheBound feeds far more distinct pairs than the
// table tracks and checks the guarantees doc.go states.
func TestHeavyHittersPastTheBound(t *testing.T) {
	const maxTracked = 64
	one := NewAggregator(Options{TopK: 5, MaxTracked: maxTracked})
	a := NewAggregator(Options{TopK: 5, MaxTracked: maxTracked})
	b := NewAggregator(Options{TopK: 5, MaxTracked: maxTracked})
	exact := map[talkerKey]uint64{}
	var total uint64
	heavy := []netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8::3")}
	dst := netip.MustParseAddr("10.0.0.1")
	for i := range 20_000 {
		var r Record
		r.InterfaceID = "eni-1"
		r.DstAddr = dst
		r.Bytes = 100
		if i%4 == 0 {
			r.SrcAddr = heavy[i%3]
			r.Bytes = 5_000
		} else {
			r.SrcAddr = netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)})
		}
		exact[talkerKey{r.SrcAddr, dst}] += r.Bytes
		total += r.Bytes
		one.Add(&r)
		if i < 12_000 {
			a.Add(&r)
		} else {
			b.Add(&r)
		}
	}
	a.Merge(b)
	for name, s := range map[string]Summary{"one table": one.Summary(), "merged": a.Summary()} {
		if !s.Approximate {
			t.Fatalf("%s: Approximate is false past the bound", name)
		}
		found := map[netip.Addr]bool{}
		for _, tk := range s.TopTalkers {
			found[tk.Src] = true
			truth := exact[talkerKey{tk.Src, tk.Dst}]
			if tk.Bytes < truth || tk.Bytes-tk.MaxError > truth {
				t.Errorf("%s: %v reported %d±%d, true count %d", name, tk.Src, tk.Bytes, tk.MaxError, truth)
			}
			if tk.MaxError > total/maxTracked*2 {
				t.Errorf("%s: error %d beyond the bound", name, tk.MaxError)
			}
		}
		for _, h := range heavy {
			if !found[h] {
				t.Errorf("%s: heavy hitter %v missing from %+v", name, h, s.TopTalkers)
			}
		}
		if s.Totals.Bytes != total {
			t.Errorf("%s: total bytes %d, want %d: totals must stay exact", name, s.Totals.Bytes, total)
		}
	}
	for _, x := range []*Aggregator{one, a} {
		for _, tb := range []*table[talkerKey]{x.talkers.index, x.talkers.exact} {
			// The hash tables hold at most MaxTracked keys in at most 8/3
			// slots a key (three quarters full at most, rounded up to a
			// power of two).
			if tb != nil && (tb.len() > maxTracked || 3*len(tb.slots) > max(3*minTableSlots, 8*maxTracked)) {
				t.Errorf("hash table holds %d keys in %d slots, bound is %d keys", tb.len(), len(tb.slots), maxTracked)
			}
		}
		if x.talkers.len() > maxTracked {
			t.Errorf("table holds %d keys, bound is %d", x.talkers.len(), maxTracked)
		}
	}
}

func TestAggregatorEdges(t *testing.T) {
	a := NewAggregator(Options{MalformedSamples: -1})
	a.AddMalformed("garbage", nil)
	s := a.Summary()
	if s.Malformed.Count != 1 || len(s.Malformed.Samples) != 0 {
		t.Errorf("malformed %+v, want a count and no samples", s.Malformed)
	}
	if s.TopK != DefaultTopK || s.MaxTracked != DefaultMaxTracked {
		t.Errorf("defaults not applied: %+v", a.Options())
	}
	if s.Interfaces == nil || s.TopTalkers == nil || s.SkipData.Windows == nil || s.ByProtocol == nil {
		t.Error("an empty summary must hold empty lists, not null ones")
	}
	if _, ok := s.Interface("eni-1"); ok {
		t.Error("Interface found an interface that never wrote")
	}
	b := NewAggregator(Options{TopK: 50, MaxTracked: 10})
	if b.Options().MaxTracked != 50 {
		t.Errorf("MaxTracked %d below TopK", b.Options().MaxTracked)
	}
	c := NewAggregator(Options{})
	c.AddMalformed(strings.Repeat("\xff", 1000), nil)
	smp := c.Summary().Malformed.Samples[0]
	if len(smp.Line) > maxSampleLine*3 || smp.Error != "malformed line" {
		t.Errorf("sample %q", smp)
	}
}

// TestSummaryGolden sums testdata/sample.log (the AWS example records, a
// few more and some malformed lines) and compares the JSON with the golden
// file. Run with -update to rewrite it.
func TestSummaryGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "sample.log"))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAggregator(Options{TopK: 5})
	p := NewParser(nil)
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		a.AddLine(p, sc.Text())
	}
	s := a.Summary()
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "summary.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("summary JSON differs from %s; run go test -update and review the diff:\n%s", golden, got)
	}
	var back Summary
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	diffSummaries(t, back, s)
	if eni, ok := s.Interface("eni-1235b8ca123456789"); !ok || eni.Records == 0 {
		t.Errorf("Interface(eni-1235b8ca123456789) = %+v, %v", eni, ok)
	}
}
