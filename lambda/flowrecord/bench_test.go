package flowrecord

import (
	"strconv"
	"strings"
	"testing"
)

// wideV5Format is a custom format with every field of versions 2 to 5.
const wideV5Format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"

// benchLines is a fixed set of generated lines that the benchmarks cycle
// through, so that they time parsing and aggregation, not the generator.
func benchLines(tb testing.TB, format string) (*Format, []string) {
	tb.Helper()
	f, err := ParseFormat(format)
	if err != nil {
		tb.Fatal(err)
	}
	g := NewGenerator(GenConfig{Seed: 42, Records: benchN, Interfaces: 16, Format: f})
	lines := make([]string, 0, benchN)
	for g.Next() {
		lines = append(lines, g.Line())
	}
	return f, lines
}

const benchN = 1 << 12

var benchFormats = []struct{ name, format string }{
	{"default", DefaultFormatString},
	{"v5wide", wideV5Format},
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkParse(b *testing.B) {
	for _, bf := range benchFormats {
		b.Run(bf.name, func(b *testing.B) {
			f, lines := benchLines(b, bf.format)
			p := NewParser(f)
			var r Record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.Parse(lines[i&(len(lines)-1)], &r); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
}

func BenchmarkParseAggregate(b *testing.B) {
	for _, bf := range benchFormats {
		b.Run(bf.name, func(b *testing.B) {
			f, lines := benchLines(b, bf.format)
			p := NewParser(f)
			a := NewAggregator(Options{})
			for _, l := range lines { // warm the tables: steady state
				a.AddLine(p, l)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a.AddLine(p, lines[i&(len(lines)-1)])
			}
			reportRate(b)
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

func (bl *baseline) add(idx map[string]int, nfields int, line string) {
	fs := strings.Fields(line)
	if len(fs) != nfields {
		bl.malformed++
		return
	}
	get := func(name string) string { return fs[idx[name]] }
	st := bl.ifaces[get("interface-id")]
	if st == nil {
		st = &baselineStats{}
		bl.ifaces[get("interface-id")] = st
	}
	st.records++
	bytes, _ := strconv.ParseUint(get("bytes"), 10, 64)
	packets, _ := strconv.ParseUint(get("packets"), 10, 64)
	start, _ := strconv.ParseInt(get("start"), 10, 64)
	end, _ := strconv.ParseInt(get("end"), 10, 64)
	if _, err := strconv.Atoi(get("srcport")); err != nil && get("srcport") != "-" {
		bl.malformed++
		return
	}
	st.bytes += bytes
	st.packets += packets
	if st.start == 0 || start < st.start {
		st.start = start
	}
	st.end = max(st.end, end)
	switch get("action") {
	case "ACCEPT":
		st.accepted++
	case "REJECT":
		st.rejected++
		bl.rejected[get("srcaddr")]++
	}
	if get("srcaddr") != "-" {
		bl.talkers[get("srcaddr")+" "+get("dstaddr")] += bytes
		bl.ports[get("dstport")+"/"+get("protocol")]++
		bl.protocols[get("protocol")] += bytes
	}
}

func BenchmarkBaseline(b *testing.B) {
	for _, bf := range benchFormats {
		b.Run(bf.name, func(b *testing.B) {
			f, lines := benchLines(b, bf.format)
			idx := map[string]int{}
			for i, fd := range f.Fields() {
				idx[fd.Name()] = i
			}
			bl := newBaseline()
			for _, l := range lines {
				bl.add(idx, f.Len(), l)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bl.add(idx, f.Len(), lines[i&(len(lines)-1)])
			}
			reportRate(b)
		})
	}
}
