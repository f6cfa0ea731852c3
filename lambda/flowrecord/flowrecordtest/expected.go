package flowrecordtest

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// summary builds the Summary of what the tally counted, every list ordered
// as Summary documents, for options o with the defaults filled in.
func (t *tally) summary(o flowrecord.Options) flowrecord.Summary {
	interfaces, overflow := t.interfaces(o.MaxInterfaces)
	samples := t.samples[:min(len(t.samples), o.MalformedSamples)]
	return flowrecord.Summary{
		Totals:             t.total.totals(),
		NoData:             t.noData.window(),
		SkipData:           flowrecord.SkipData{StatusWindow: t.skipData.window(), Windows: append([]flowrecord.Window{}, t.windows...)},
		Interfaces:         interfaces,
		InterfaceOverflow:  overflow,
		ByProtocol:         t.protocols(),
		TopTalkers:         t.topTalkers(o.TopK),
		TopDstPorts:        t.topPorts(o.TopK),
		TopRejectedSources: t.topRejected(o.TopK),
		Malformed:          flowrecord.Malformed{Count: t.malformedCount, Samples: append([]flowrecord.MalformedSample{}, samples...)},
		Approximate:        len(t.talkers) > o.MaxTracked || len(t.ports) > o.MaxTracked || len(t.rejected) > o.MaxTracked,
		TopK:               o.TopK,
		MaxTracked:         o.MaxTracked,
		MaxInterfaces:      o.MaxInterfaces,
	}
}

func (c *counters) totals() flowrecord.Totals {
	return flowrecord.Totals{
		Records:    c.records,
		Accepted:   c.accepted,
		Rejected:   c.rejected,
		Bytes:      c.bytes,
		Packets:    c.packets,
		FirstStart: c.start,
		LastEnd:    c.end,
	}
}

func (c *counters) window() flowrecord.StatusWindow {
	return flowrecord.StatusWindow{Records: c.records, FirstStart: c.start, LastEnd: c.end}
}

// interfaces lists the first max interfaces seen, as the Aggregator
// tracks them, sorted by ID, and sums the others.
func (t *tally) interfaces(max int) ([]flowrecord.InterfaceSummary, flowrecord.InterfaceOverflow) {
	out := make([]flowrecord.InterfaceSummary, 0, len(t.ifaces))
	var rest counters
	for id, c := range t.ifaces {
		if c.seq < max {
			out = append(out, flowrecord.InterfaceSummary{InterfaceID: id, Totals: c.totals(), NoData: c.noData, SkipData: c.skipData})
			continue
		}
		rest.records += c.records
		rest.accepted += c.accepted
		rest.rejected += c.rejected
		rest.bytes += c.bytes
		rest.packets += c.packets
		rest.noData += c.noData
		rest.skipData += c.skipData
		rest.addWindow(c.start, c.end, c.hasStart, c.hasEnd)
	}
	slices.SortFunc(out, func(a, b flowrecord.InterfaceSummary) int { return strings.Compare(a.InterfaceID, b.InterfaceID) })
	return out, flowrecord.InterfaceOverflow{Totals: rest.totals(), NoData: rest.noData, SkipData: rest.skipData}
}

func (t *tally) protocols() []flowrecord.ProtocolSummary {
	out := []flowrecord.ProtocolSummary{}
	for p, s := range t.protos {
		if s.Records > 0 {
			s.Protocol, s.Name = p, flowrecord.ProtocolName(p)
			out = append(out, s)
		}
	}
	return out
}

func (t *tally) topTalkers(k int) []flowrecord.Talker {
	out := make([]flowrecord.Talker, 0, k)
	for _, e := range exactTop(t.talkers, k, func(a, b [2]netip.Addr) int {
		return cmp.Or(a[0].Compare(b[0]), a[1].Compare(b[1]))
	}) {
		out = append(out, flowrecord.Talker{Src: e.key[0], Dst: e.key[1], Bytes: e.count})
	}
	return out
}

func (t *tally) topPorts(k int) []flowrecord.PortCount {
	out := make([]flowrecord.PortCount, 0, k)
	for _, e := range exactTop(t.ports, k, func(a, b portKey) int {
		return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.protocol, b.protocol))
	}) {
		out = append(out, flowrecord.PortCount{Port: e.key.port, Protocol: e.key.protocol, Records: e.count})
	}
	return out
}

func (t *tally) topRejected(k int) []flowrecord.SourceCount {
	out := make([]flowrecord.SourceCount, 0, k)
	for _, e := range exactTop(t.rejected, k, netip.Addr.Compare) {
		out = append(out, flowrecord.SourceCount{Src: e.key, Records: e.count})
	}
	return out
}

type counted[K comparable] struct {
	key   K
	count uint64
}

// exactTop ranks exact counts as Summary orders its top lists: by count,
// then by key.
func exactTop[K comparable](m map[K]uint64, k int, compare func(a, b K) int) []counted[K] {
	es := make([]counted[K], 0, len(m))
	for key, n := range m {
		es = append(es, counted[K]{key, n})
	}
	slices.SortFunc(es, func(a, b counted[K]) int {
		return cmp.Or(cmp.Compare(b.count, a.count), compare(a.key, b.key))
	})
	return es[:min(len(es), k)]
}
