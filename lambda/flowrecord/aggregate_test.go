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
	"sync"
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

func TestAggregatorMatchesGenerator(t *testing.T) {
	tests := []struct {
		name   string
		config GenConfig
		opts   Options
	}{
		{"default format", GenConfig{Seed: 1, Records: 150_000, MalformedShare: 0.001}, Options{}},
		{"v5 custom format", GenConfig{Seed: 2, Records: 120_000, Interfaces: 40, Format: mustFormat(t, wideV5Format), IPv6Share: 0.5}, Options{TopK: 25, MaxTracked: 50_000}},
		{"every v11 field", GenConfig{Seed: 3, Records: 100_000, Format: mustFormat(t, allV11Format), SkipDataShare: 0.05, MalformedShare: 0.01}, Options{TopK: 5, MalformedSamples: 20}},
		{"format without interface or addresses", GenConfig{Seed: 4, Records: 100_000, Format: mustFormat(t, "${start} ${end} ${dstport} ${protocol} ${bytes} ${action} ${log-status}")}, Options{}},
		{"rejects only", GenConfig{Seed: 5, Records: 100_000, RejectShare: 1, NoDataShare: -1, SkipDataShare: -1}, Options{TopK: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewGenerator(tt.config)
			p := NewParser(g.Format())
			a := NewAggregator(tt.opts)
			for g.Next() {
				p.SetInterfaceID(g.InterfaceID())
				a.AddLine(p, g.Line())
			}
			got, want := a.Summary(), g.Expected(tt.opts)
			if got.Approximate {
				t.Fatal("the generator's keys outgrew MaxTracked: the test no longer checks exact lists")
			}
			if want.Totals.Records == 0 || len(want.TopTalkers)+len(want.TopDstPorts) == 0 && tt.config.Format.Has(FieldDstPort) {
				t.Fatal("generator wrote nothing to compare")
			}
			diffSummaries(t, got, want)
		})
	}
}

func TestGeneratorRecords(t *testing.T) {
	const start, span = 1_800_000_000, 7200
	g := NewGenerator(GenConfig{Seed: 9, Records: 50_000, StartTime: start, Span: span, Interfaces: 12})
	p := NewParser(g.Format())
	var r Record
	var lines []string
	var sawV6, sawNoData, sawSkip, sawReject bool
	lastStart := map[string]int64{}
	for g.Next() {
		line := g.Line()
		lines = append(lines, line)
		if err := p.Parse(line, &r); err != nil {
			t.Fatalf("generated line %q: %v", line, err)
		}
		if r.InterfaceID != g.InterfaceID() {
			t.Fatalf("line of %s reported as %s", r.InterfaceID, g.InterfaceID())
		}
		if r.Start < start || r.End > start+span || r.Start > r.End {
			t.Fatalf("window %d-%d outside [%d, %d] or reversed", r.Start, r.End, start, start+span)
		}
		// Within a stream, windows move forward as AWS writes them,
		// give or take the jitter of one aggregation interval.
		if r.Start+60 < lastStart[r.InterfaceID] {
			t.Fatalf("%s went back in time: %d after %d", r.InterfaceID, r.Start, lastStart[r.InterfaceID])
		}
		lastStart[r.InterfaceID] = max(lastStart[r.InterfaceID], r.Start)
		sawV6 = sawV6 || r.SrcAddr.Is6()
		sawNoData = sawNoData || r.LogStatus == StatusNoData
		sawSkip = sawSkip || r.LogStatus == StatusSkipData
		sawReject = sawReject || r.Action == ActionReject
	}
	if !sawV6 || !sawNoData || !sawSkip || !sawReject {
		t.Errorf("missing kinds of records: IPv6 %v, NODATA %v, SKIPDATA %v, REJECT %v", sawV6, sawNoData, sawSkip, sawReject)
	}
	if len(lastStart) != 12 {
		t.Errorf("%d interfaces wrote, want 12", len(lastStart))
	}
	again := NewGenerator(GenConfig{Seed: 9, Records: 50_000, StartTime: start, Span: span, Interfaces: 12})
	for i := 0; again.Next(); i++ {
		if again.Line() != lines[i] {
			t.Fatalf("line %d differs between two generators with one seed", i)
		}
	}
	if len(g.InterfaceIDs()) != 12 {
		t.Errorf("InterfaceIDs() = %v", g.InterfaceIDs())
	}
}

// TestMergeEqualsSinglePass builds partials concurrently over consecutive
// chunks, as a summarizer with several workers does, and merges them in
// chunk order.
func TestMergeEqualsSinglePass(t *testing.T) {
	for _, workers := range []int{2, 3, 8} {
		g := NewGenerator(GenConfig{Seed: int64(workers), Records: 120_000, MalformedShare: 0.002, SkipDataShare: 0.01})
		var lines []string
		for g.Next() {
			lines = append(lines, g.Line())
		}
		opts := Options{TopK: 15, MalformedSamples: 7}
		single := NewAggregator(opts)
		p := NewParser(g.Format())
		for _, l := range lines {
			single.AddLine(p, l)
		}
		parts := make([]*Aggregator, workers)
		var wg sync.WaitGroup
		chunk := (len(lines) + workers - 1) / workers
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := NewAggregator(opts)
				p := NewParser(g.Format())
				for _, l := range lines[min(w*chunk, len(lines)):min((w+1)*chunk, len(lines))] {
					a.AddLine(p, l)
				}
				parts[w] = a
			}()
		}
		wg.Wait()
		merged := parts[0]
		for _, part := range parts[1:] {
			before := part.Summary()
			merged.Merge(part)
			diffSummaries(t, part.Summary(), before) // Merge leaves its argument alone
		}
		diffSummaries(t, merged.Summary(), single.Summary())
		diffSummaries(t, merged.Summary(), g.Expected(opts))
	}
}

func TestAggregateAllocs(t *testing.T) {
	g := NewGenerator(GenConfig{Seed: 11, Records: 4096, MalformedShare: 0.01})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	p := NewParser(g.Format())
	a := NewAggregator(Options{})
	for _, l := range lines { // first sight of interfaces and keys allocates
		a.AddLine(p, l)
	}
	i := 0
	allocs := testing.AllocsPerRun(10_000, func() {
		a.AddLine(p, lines[i%len(lines)])
		i++
	})
	if allocs != 0 {
		t.Errorf("AddLine allocates %.3f times per line in steady state, want 0", allocs)
	}
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
