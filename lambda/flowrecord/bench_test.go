package flowrecord_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// benchLines is a fixed set of generated lines that the benchmarks cycle
// through, so that they time parsing and aggregation, not the generator.
func benchLines(tb testing.TB, format string) (*flowrecord.Format, []string) {
	tb.Helper()
	f, err := flowrecord.ParseFormat(format)
	if err != nil {
		tb.Fatal(err)
	}
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 42, Records: benchN, Interfaces: 16, Format: f})
	lines := make([]string, 0, benchN)
	for g.Next() {
		lines = append(lines, g.Line())
	}
	return f, lines
}

const benchN = 1 << 12

var benchFormats = []struct{ name, format string }{
	{"default", flowrecord.DefaultFormatString},
	{"v5wide", flowrecord.WideV5Format},
}

func BenchmarkParse(b *testing.B) {
	for _, bf := range benchFormats {
		b.Run(bf.name, func(b *testing.B) {
			f, lines := benchLines(b, bf.format)
			p := flowrecord.NewParser(f)
			var r flowrecord.Record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.Parse(lines[i&(len(lines)-1)], &r); err != nil {
					b.Fatal(err)
				}
			}
			flowrecord.ReportRate(b)
		})
	}
}

// BenchmarkParseAggregate times parsing and aggregation with the
// detectors on (the default) and, as "nodetect", off: the cost the
// detectors add per record, old against new in one run.
func BenchmarkParseAggregate(b *testing.B) {
	for _, bf := range benchFormats {
		for _, mode := range []struct {
			suffix string
			opts   flowrecord.Options
		}{{"", flowrecord.Options{}}, {"-nodetect", flowrecord.Options{NoDetectors: true}}} {
			benchParseAggregate(b, bf.name+mode.suffix, bf.format, mode.opts)
		}
	}
}

func benchParseAggregate(b *testing.B, name, format string, opts flowrecord.Options) {
	{
		b.Run(name, func(b *testing.B) {
			f, lines := benchLines(b, format)
			p := flowrecord.NewParser(f)
			a := flowrecord.NewAggregator(opts)
			for _, l := range lines { // warm the tables: steady state
				a.AddLine(p, l)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.AddLine(p, lines[i&(len(lines)-1)])
			}
			flowrecord.ReportRate(b)
		})
	}
}

// baseline is the plain way to do the same work: strings.Fields, strconv
// and maps keyed by strings. It gives the figures above a yardstick.
type baseline struct {
	ifaces    map[string]*baselineStats
	talkers   map[string]uint64
	ports     map[string]uint64
	rejected  map[string]uint64
	protocols map[string]uint64
	malformed int
}

type baselineStats struct {
	records, accepted, rejected, bytes, packets uint64
	start, end                                  int64
}

func newBaseline() *baseline {
	return &baseline{
		ifaces:    map[string]*baselineStats{},
		talkers:   map[string]uint64{},
		ports:     map[string]uint64{},
		rejected:  map[string]uint64{},
		protocols: map[string]uint64{},
	}
}

// baselineIndex holds where each field the baseline reads sits in a line,
// looked up by name once per format.
type baselineIndex struct {
	iface, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, end, action int
}

func newBaselineIndex(f *flowrecord.Format) *baselineIndex {
	at := map[string]int{}
	for i, fd := range f.Fields() {
		at[fd.Name()] = i
	}
	return &baselineIndex{
		iface: at["interface-id"], srcaddr: at["srcaddr"], dstaddr: at["dstaddr"],
		srcport: at["srcport"], dstport: at["dstport"], protocol: at["protocol"],
		packets: at["packets"], bytes: at["bytes"], start: at["start"], end: at["end"],
		action: at["action"],
	}
}

func (bl *baseline) add(ix *baselineIndex, nfields int, line string) {
	fs := strings.Fields(line)
	if len(fs) != nfields {
		bl.malformed++
		return
	}
	bytes, _ := strconv.ParseUint(fs[ix.bytes], 10, 64)
	packets, _ := strconv.ParseUint(fs[ix.packets], 10, 64)
	start, _ := strconv.ParseInt(fs[ix.start], 10, 64)
	end, _ := strconv.ParseInt(fs[ix.end], 10, 64)
	if _, err := strconv.Atoi(fs[ix.srcport]); err != nil && fs[ix.srcport] != "-" {
		bl.malformed++
		return
	}
	st := bl.ifaces[fs[ix.iface]]
	if st == nil {
		st = &baselineStats{}
		bl.ifaces[fs[ix.iface]] = st
	}
	st.records++
	st.bytes += bytes
	st.packets += packets
	if st.start == 0 || start < st.start {
		st.start = start
	}
	st.end = max(st.end, end)
	switch fs[ix.action] {
	case "ACCEPT":
		st.accepted++
	case "REJECT":
		st.rejected++
		bl.rejected[fs[ix.srcaddr]]++
	}
	if fs[ix.srcaddr] != "-" {
		bl.talkers[fs[ix.srcaddr]+" "+fs[ix.dstaddr]] += bytes
		bl.ports[fs[ix.dstport]+"/"+fs[ix.protocol]]++
		bl.protocols[fs[ix.protocol]] += bytes
	}
}

func BenchmarkBaseline(b *testing.B) {
	for _, bf := range benchFormats {
		b.Run(bf.name, func(b *testing.B) {
			f, lines := benchLines(b, bf.format)
			ix := newBaselineIndex(f)
			bl := newBaseline()
			for _, l := range lines {
				bl.add(ix, f.Len(), l)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bl.add(ix, f.Len(), lines[i&(len(lines)-1)])
			}
			flowrecord.ReportRate(b)
		})
	}
}

// TestBaselineAgrees checks that the baseline counts what the aggregator
// counts on the benchmark lines, so that the benchmarks compare equal work.
func TestBaselineAgrees(t *testing.T) {
	for _, bf := range benchFormats {
		f, lines := benchLines(t, bf.format)
		bl := newBaseline()
		ix := newBaselineIndex(f)
		a := flowrecord.NewAggregator(flowrecord.Options{})
		p := flowrecord.NewParser(f)
		for _, l := range lines {
			bl.add(ix, f.Len(), l)
			a.AddLine(p, l)
		}
		s := a.Summary()
		var records, bytes, rejected uint64
		for _, st := range bl.ifaces {
			records += st.records
			bytes += st.bytes
			rejected += st.rejected
		}
		if records != s.Totals.Records || bytes != s.Totals.Bytes || rejected != s.Totals.Rejected ||
			len(bl.ifaces) != len(s.Interfaces) || bl.malformed != int(s.Malformed.Count) {
			t.Errorf("%s: baseline counts %d records, %d bytes, %d rejected, %d interfaces, %d malformed; aggregator %d, %d, %d, %d, %d",
				bf.name, records, bytes, rejected, len(bl.ifaces), bl.malformed,
				s.Totals.Records, s.Totals.Bytes, s.Totals.Rejected, len(s.Interfaces), s.Malformed.Count)
		}
		// A line the baseline rejects counts as malformed only.
		bad := strings.Fields(lines[0])
		bad[ix.srcport] = "x"
		before := bl.ifaces[bad[ix.iface]].records
		bl.add(ix, f.Len(), strings.Join(bad, " "))
		if bl.ifaces[bad[ix.iface]].records != before || bl.malformed != int(s.Malformed.Count)+1 {
			t.Errorf("%s: the baseline counts a bad line as a record", bf.name)
		}
		var top uint64
		for _, b := range bl.talkers {
			top = max(top, b)
		}
		if len(s.TopTalkers) == 0 || s.TopTalkers[0].Bytes != top {
			t.Errorf("%s: top talker %v, baseline's largest pair has %d bytes", bf.name, s.TopTalkers, top)
		}
	}
}
