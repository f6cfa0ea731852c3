package flowrecordtest

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Expected returns the Summary an Aggregator with options o gives for the
// lines written so far, read as a CloudWatch Logs reader reads them: each
// line through a Parser whose SetInterfaceID was given the line's
// InterfaceID, which matters only for formats without ${interface-id}. It
// equals that Summary exactly while no top list sees more than o.MaxTracked
// distinct keys; past that the Aggregator approximates and Expected keeps
// the exact figures.
func (g *Generator) Expected(o flowrecord.Options) flowrecord.Summary {
	// The defaults are the Aggregator's to state; an empty one costs a few
	// small tables.
	return g.tally.summary(flowrecord.NewAggregator(o).Options())
}

// tally counts what the generator wrote, keyed as the Summary is, in plain
// maps and with code of its own: its memory follows the generator's pools,
// not the lines.
type tally struct {
	total, noData, skipData counters
	windows                 []flowrecord.Window
	ifaces                  map[string]*counters
	protos                  [256]flowrecord.ProtocolSummary
	talkers                 map[[2]netip.Addr]uint64
	ports                   map[portKey]uint64
	rejected                map[netip.Addr]uint64
	malformedCount          uint64
	samples                 []flowrecord.MalformedSample
}

// counters are the figures behind Totals, for all records or one interface.
type counters struct {
	seq                         int // the order in which the interface was first seen
	records, accepted, rejected uint64
	bytes, packets              uint64
	noData, skipData            uint64
	start, end                  int64
	hasStart, hasEnd            bool
}

// portKey is a destination port with its protocol, -1 for none.
type portKey struct{ port, protocol int }

const (
	// maxSamples bounds the malformed samples the generator keeps.
	maxSamples = 100
	// maxSampleLine is where the Aggregator cuts a malformed sample, as
	// package flowrecord's doc states.
	maxSampleLine = 256
)

func newTally() tally {
	return tally{
		ifaces:   map[string]*counters{},
		talkers:  map[[2]netip.Addr]uint64{},
		ports:    map[portKey]uint64{},
		rejected: map[netip.Addr]uint64{},
	}
}

// malformed counts a line the generator spoiled, in the parser's own words.
func (t *tally) malformed(line []byte, p *flowrecord.Parser) {
	t.malformedCount++
	if len(t.samples) < maxSamples {
		var r flowrecord.Record
		t.samples = append(t.samples, sampleOf(string(line), p.Parse(string(line), &r)))
	}
}

func sampleOf(line string, err error) flowrecord.MalformedSample {
	if len(line) > maxSampleLine {
		line = line[:maxSampleLine]
	}
	msg := "malformed line"
	if err != nil {
		msg = strings.ToValidUTF8(err.Error(), "\uFFFD")
	}
	return flowrecord.MalformedSample{Line: strings.ToValidUTF8(line, "\uFFFD"), Error: msg}
}

// add counts one line of interface iface as the format f shows it.
func (t *tally) add(f *flowrecord.Format, iface string, r *genRecord) {
	st := t.ifaces[iface]
	if st == nil {
		st = &counters{seq: len(t.ifaces)}
		t.ifaces[iface] = st
	}
	seen := shown{f: f, r: r}
	t.total.add(seen)
	st.add(seen)
	t.addStatus(seen, iface)
	if r.traffic {
		t.addTraffic(seen)
	}
}

// shown is a generated record as far as a format shows it.
type shown struct {
	f *flowrecord.Format
	r *genRecord
}

func (s shown) has(fd flowrecord.Field) bool { return s.f.Has(fd) }

func (s shown) bytes() uint64 {
	if s.r.traffic && s.has(flowrecord.FieldBytes) {
		return s.r.bytes
	}
	return 0
}

func (s shown) packets() uint64 {
	if s.r.traffic && s.has(flowrecord.FieldPackets) {
		return s.r.packets
	}
	return 0
}

// add counts a record in the totals, overall or of its interface.
func (c *counters) add(s shown) {
	r := s.r
	c.records++
	if r.traffic && s.has(flowrecord.FieldAction) {
		if r.action == flowrecord.ActionAccept {
			c.accepted++
		} else {
			c.rejected++
		}
	}
	if s.has(flowrecord.FieldLogStatus) {
		switch r.status {
		case flowrecord.StatusNoData:
			c.noData++
		case flowrecord.StatusSkipData:
			c.skipData++
		}
	}
	c.bytes += s.bytes()
	c.packets += s.packets()
	c.addTime(s)
}

func (c *counters) addTime(s shown) {
	c.addWindow(s.r.start, s.r.end, s.has(flowrecord.FieldStart), s.has(flowrecord.FieldEnd))
}

func (c *counters) addWindow(start, end int64, hasStart, hasEnd bool) {
	if hasStart && (!c.hasStart || start < c.start) {
		c.start, c.hasStart = start, true
	}
	if hasEnd && (!c.hasEnd || end > c.end) {
		c.end, c.hasEnd = end, true
	}
}

// addStatus counts NODATA and SKIPDATA records and keeps the earliest
// skipped windows.
func (t *tally) addStatus(s shown, iface string) {
	if !s.has(flowrecord.FieldLogStatus) {
		return
	}
	switch s.r.status {
	case flowrecord.StatusNoData:
		t.noData.records++
		t.noData.addTime(s)
	case flowrecord.StatusSkipData:
		t.skipData.records++
		t.skipData.addTime(s)
		w := flowrecord.Window{InterfaceID: iface}
		if s.has(flowrecord.FieldStart) {
			w.Start = s.r.start
		}
		if s.has(flowrecord.FieldEnd) {
			w.End = s.r.end
		}
		t.windows = insertWindow(t.windows, w)
	}
}

// addTraffic counts a record of traffic per protocol and in the top lists.
func (t *tally) addTraffic(s shown) {
	r := s.r
	if s.has(flowrecord.FieldProtocol) {
		p := &t.protos[r.protocol]
		p.Records++
		p.Bytes += s.bytes()
		p.Packets += s.packets()
	}
	if s.has(flowrecord.FieldSrcAddr) && s.has(flowrecord.FieldDstAddr) {
		t.talkers[[2]netip.Addr{r.src, r.dst}] += s.bytes()
	}
	if s.has(flowrecord.FieldDstPort) {
		k := portKey{r.dstPort, -1}
		if s.has(flowrecord.FieldProtocol) {
			k.protocol = r.protocol
		}
		t.ports[k]++
	}
	if s.has(flowrecord.FieldAction) && r.action == flowrecord.ActionReject && s.has(flowrecord.FieldSrcAddr) {
		t.rejected[r.src]++
	}
}

func compareWindows(a, b flowrecord.Window) int {
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	return strings.Compare(a.InterfaceID, b.InterfaceID)
}

// insertWindow keeps ws the flowrecord.MaxSkipWindows smallest windows,
// sorted.
func insertWindow(ws []flowrecord.Window, w flowrecord.Window) []flowrecord.Window {
	i, _ := slices.BinarySearchFunc(ws, w, compareWindows)
	ws = slices.Insert(ws, i, w)
	return ws[:min(len(ws), flowrecord.MaxSkipWindows)]
}
