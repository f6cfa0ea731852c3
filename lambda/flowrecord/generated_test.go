package flowrecord_test

import (
	"sync"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// The tests on generated lines live outside package flowrecord: the
// generator, package flowrecordtest, imports flowrecord. export_test.go
// lends them the internal helpers they share with the other tests.

func TestAggregatorMatchesGenerator(t *testing.T) {
	tests := []struct {
		name   string
		config flowrecordtest.Config
		opts   flowrecord.Options
	}{
		{"default format", flowrecordtest.Config{Seed: 1, Records: 150_000, MalformedShare: 0.001}, flowrecord.Options{}},
		{"v5 custom format", flowrecordtest.Config{Seed: 2, Records: 120_000, Interfaces: 40, Format: flowrecord.MustFormat(t, flowrecord.WideV5Format), IPv6Share: 0.5}, flowrecord.Options{TopK: 25, MaxTracked: 50_000}},
		{"every v11 field", flowrecordtest.Config{Seed: 3, Records: 100_000, Format: flowrecord.MustFormat(t, flowrecord.AllV11Format), SkipDataShare: 0.05, MalformedShare: 0.01}, flowrecord.Options{TopK: 5, MalformedSamples: 20}},
		{"format without interface or addresses", flowrecordtest.Config{Seed: 4, Records: 100_000, Format: flowrecord.MustFormat(t, "${start} ${end} ${dstport} ${protocol} ${bytes} ${action} ${log-status}")}, flowrecord.Options{}},
		{"rejects only", flowrecordtest.Config{Seed: 5, Records: 100_000, RejectShare: 1, NoDataShare: -1, SkipDataShare: -1}, flowrecord.Options{TopK: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := flowrecordtest.NewGenerator(tt.config)
			p := flowrecord.NewParser(g.Format())
			a := flowrecord.NewAggregator(tt.opts)
			for g.Next() {
				p.SetInterfaceID(g.InterfaceID())
				a.AddLine(p, g.Line())
			}
			got, want := a.Summary(), g.Expected(tt.opts)
			if got.Approximate {
				t.Fatal("the generator's keys outgrew MaxTracked: the test no longer checks exact lists")
			}
			if want.Totals.Records == 0 || len(want.TopTalkers)+len(want.TopDstPorts) == 0 && tt.config.Format.Has(flowrecord.FieldDstPort) {
				t.Fatal("generator wrote nothing to compare")
			}
			flowrecord.DiffSummaries(t, got, want)
		})
	}
}

// TestMergeEqualsSinglePass builds partials concurrently over consecutive
// chunks, as a summarizer with several workers does, and merges them in
// chunk order.
func TestMergeEqualsSinglePass(t *testing.T) {
	for _, workers := range []int{2, 3, 8} {
		g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: int64(workers), Records: 120_000, MalformedShare: 0.002, SkipDataShare: 0.01})
		var lines []string
		for g.Next() {
			lines = append(lines, g.Line())
		}
		opts := flowrecord.Options{TopK: 15, MalformedSamples: 7}
		single := flowrecord.NewAggregator(opts)
		p := flowrecord.NewParser(g.Format())
		for _, l := range lines {
			single.AddLine(p, l)
		}
		parts := make([]*flowrecord.Aggregator, workers)
		var wg sync.WaitGroup
		chunk := (len(lines) + workers - 1) / workers
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := flowrecord.NewAggregator(opts)
				p := flowrecord.NewParser(g.Format())
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
			flowrecord.DiffSummaries(t, part.Summary(), before) // Merge leaves its argument alone
		}
		flowrecord.DiffSummaries(t, merged.Summary(), single.Summary())
		flowrecord.DiffSummaries(t, merged.Summary(), g.Expected(opts))
	}
}

func TestAggregateAllocs(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 11, Records: 4096, MalformedShare: 0.01})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	p := flowrecord.NewParser(g.Format())
	a := flowrecord.NewAggregator(flowrecord.Options{})
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

// TestInterfaceBound checks flowrecord.Options.MaxInterfaces: past it, records still
// count in every total and top list, the interfaces first seen are listed,
// and the rest are summed in InterfaceOverflow; the generator's independent
// tally agrees.
func TestInterfaceBound(t *testing.T) {
	for _, c := range []struct {
		name       string
		interfaces int
		max        int
	}{
		{"under the bound", 40, 50},
		{"at the bound", 50, 50},
		{"past the bound", 300, 50},
		{"far past the bound", 3000, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := flowrecord.Options{MaxInterfaces: c.max}
			g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 5, Records: 20_000, Interfaces: c.interfaces, SkipDataShare: 0.01})
			a := flowrecord.NewAggregator(opts)
			p := flowrecord.NewParser(g.Format())
			for g.Next() {
				a.AddLine(p, g.Line())
			}
			s := a.Summary()
			flowrecord.DiffSummaries(t, s, g.Expected(opts))
			if want := min(c.interfaces, c.max); len(s.Interfaces) != want || s.MaxInterfaces != c.max {
				t.Errorf("%d interfaces listed (bound %d), want %d", len(s.Interfaces), s.MaxInterfaces, want)
			}
			sum := s.InterfaceOverflow.Totals
			for _, st := range s.Interfaces {
				sum.Records += st.Records
				sum.Bytes += st.Bytes
				sum.Rejected += st.Rejected
			}
			if sum.Records != s.Totals.Records || sum.Bytes != s.Totals.Bytes || sum.Rejected != s.Totals.Rejected {
				t.Errorf("listed interfaces and overflow sum to %d records, %d bytes, %d rejected; totals say %d, %d, %d",
					sum.Records, sum.Bytes, sum.Rejected, s.Totals.Records, s.Totals.Bytes, s.Totals.Rejected)
			}
			if overflowed := c.interfaces > c.max; overflowed != (s.InterfaceOverflow.Records > 0) {
				t.Errorf("overflow %+v with %d interfaces and bound %d", s.InterfaceOverflow, c.interfaces, c.max)
			}
		})
	}
}

// TestFastPathTakesGeneratedLines checks that the fast path parses every
// line the generator writes, IPv6, NODATA and SKIPDATA included, and that
// the general path reads each of them into the same record. A fast path
// that gave up on common lines would stay correct but lose its point.
func TestFastPathTakesGeneratedLines(t *testing.T) {
	for _, format := range []string{flowrecord.DefaultFormatString, flowrecord.WideV5Format, flowrecord.AllV11Format} {
		f := flowrecord.MustFormat(t, format)
		p := flowrecord.NewParser(f)
		g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 7, Records: 20_000, Interfaces: 12, Format: f})
		for g.Next() {
			flowrecord.CheckFastPath(t, p, g.Line())
		}
	}
}

func TestParseAllocs(t *testing.T) {
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 3, Records: 2000, Format: flowrecord.MustFormat(t, flowrecord.WideV5Format)})
	var lines []string
	for g.Next() {
		lines = append(lines, g.Line())
	}
	p := flowrecord.NewParser(g.Format())
	var r flowrecord.Record
	i := 0
	allocs := testing.AllocsPerRun(5000, func() {
		if err := p.Parse(lines[i%len(lines)], &r); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %.2f times per record, want 0", allocs)
	}
}
