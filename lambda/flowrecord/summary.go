package flowrecord

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Summary is the aggregate of a set of records. Every list in it is sorted,
// so that equal inputs give byte-identical JSON.
type Summary struct {
	Totals Totals `json:"totals"`
	// NoData counts the NODATA records: windows with no traffic.
	NoData StatusWindow `json:"noData"`
	// SkipData counts the SKIPDATA records: windows whose records AWS lost.
	// Any report built on this Summary must show them.
	SkipData SkipData `json:"skipData"`
	// Interfaces holds one entry per network interface, sorted by ID.
	// Records without an interface ID count under "-". It holds at most
	// MaxInterfaces entries, the first interfaces seen.
	Interfaces []InterfaceSummary `json:"interfaces"`
	// InterfaceOverflow sums the records of the interfaces past
	// MaxInterfaces, which Interfaces does not list; all zero when none.
	InterfaceOverflow InterfaceOverflow `json:"interfaceOverflow"`
	// ByProtocol holds traffic per IANA protocol number, ascending.
	ByProtocol []ProtocolSummary `json:"byProtocol"`
	// TopTalkers ranks source-destination pairs by bytes.
	TopTalkers []Talker `json:"topTalkers"`
	// TopDstPorts ranks destination port and protocol by records.
	TopDstPorts []PortCount `json:"topDstPorts"`
	// TopRejectedSources ranks the sources of REJECT records by records.
	TopRejectedSources []SourceCount `json:"topRejectedSources"`
	Malformed          Malformed     `json:"malformed"`
	// Approximate is true when a top list outgrew MaxTracked: its counts
	// may then overstate, each by at most its MaxError, and a key with a
	// small true count may be missing. Totals and the other lists stay exact.
	Approximate   bool `json:"approximate"`
	TopK          int  `json:"topK"`
	MaxTracked    int  `json:"maxTracked"`
	MaxInterfaces int  `json:"maxInterfaces"`
}

// Totals are the counters kept overall and per interface.
type Totals struct {
	Records  uint64 `json:"records"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	Bytes    uint64 `json:"bytes"`
	Packets  uint64 `json:"packets"`
	// FirstStart is the earliest start and LastEnd the latest end, in Unix
	// seconds; 0 when no record had one.
	FirstStart int64 `json:"firstStart"`
	LastEnd    int64 `json:"lastEnd"`
}

// InterfaceSummary is the traffic of one network interface.
type InterfaceSummary struct {
	InterfaceID string `json:"interfaceId"`
	Totals
	NoData   uint64 `json:"noData"`
	SkipData uint64 `json:"skipData"`
}

// InterfaceOverflow is the traffic of the interfaces an aggregator did not
// track one by one, summed.
type InterfaceOverflow struct {
	Totals
	NoData   uint64 `json:"noData"`
	SkipData uint64 `json:"skipData"`
}

// StatusWindow counts the records of one log status and the time they span.
type StatusWindow struct {
	Records    uint64 `json:"records"`
	FirstStart int64  `json:"firstStart"`
	LastEnd    int64  `json:"lastEnd"`
}

// SkipData is the SKIPDATA count with the earliest skipped windows.
type SkipData struct {
	StatusWindow
	// Windows holds up to MaxSkipWindows windows, the earliest by start,
	// end and interface. Records counts them all.
	Windows []Window `json:"windows"`
}

// MaxSkipWindows bounds Summary.SkipData.Windows.
const MaxSkipWindows = 20

// Window is the capture window of one record.
type Window struct {
	InterfaceID string `json:"interfaceId"`
	Start       int64  `json:"start"`
	End         int64  `json:"end"`
}

// ProtocolSummary is the traffic of one IANA protocol.
type ProtocolSummary struct {
	Protocol int    `json:"protocol"`
	Name     string `json:"name,omitempty"`
	Records  uint64 `json:"records"`
	Bytes    uint64 `json:"bytes"`
	Packets  uint64 `json:"packets"`
}

// Talker is a source-destination pair and its bytes.
type Talker struct {
	Src   netip.Addr `json:"src"`
	Dst   netip.Addr `json:"dst"`
	Bytes uint64     `json:"bytes"`
	// MaxError bounds how much Bytes may overstate; 0 means exact.
	MaxError uint64 `json:"maxError,omitempty"`
}

// PortCount is a destination port with its protocol and record count.
type PortCount struct {
	Port int `json:"port"`
	// Protocol is -1 when the records had no protocol.
	Protocol int    `json:"protocol"`
	Records  uint64 `json:"records"`
	MaxError uint64 `json:"maxError,omitempty"`
}

// SourceCount is a source address and its record count.
type SourceCount struct {
	Src      netip.Addr `json:"src"`
	Records  uint64     `json:"records"`
	MaxError uint64     `json:"maxError,omitempty"`
}

// Malformed counts the lines that did not parse, with the first few.
type Malformed struct {
	Count   uint64            `json:"count"`
	Samples []MalformedSample `json:"samples"`
}

// MalformedSample is a line that did not parse and why.
type MalformedSample struct {
	Line  string `json:"line"`
	Error string `json:"error"`
}

// maxSampleLine bounds a malformed line kept as a sample.
const maxSampleLine = 256

// Interface returns the summary of one interface.
func (s *Summary) Interface(id string) (InterfaceSummary, bool) {
	i, ok := slices.BinarySearchFunc(s.Interfaces, id, func(x InterfaceSummary, id string) int {
		return strings.Compare(x.InterfaceID, id)
	})
	if !ok {
		return InterfaceSummary{}, false
	}
	return s.Interfaces[i], true
}

// ProtocolName returns a short name for the IANA protocol numbers seen most
// in VPCs, or "".
func ProtocolName(p int) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return ""
}

// The remainder are the aggregator's pieces of a Summary. Package
// flowrecordtest tallies generated records with pieces of its own, so that
// a mistake here cannot hide in the check.

// noInterface is the key of records without an interface ID.
const noInterface = "-"

// stats are the counters behind Totals.
type stats struct {
	id                          string // the interface, for Aggregator.recent
	seq                         int    // the order in which the interface was first seen
	records, accepted, rejected uint64
	bytes, packets              uint64
	noData, skipData            uint64
	start, end                  int64
	hasStart, hasEnd            bool
	// own4 and own6 learn the interface's own addresses; see ownAddr.
	own4, own6 ownAddr
}

func (s *stats) addTime(start, end int64, hasStart, hasEnd bool) {
	if hasStart && (!s.hasStart || start < s.start) {
		s.start, s.hasStart = start, true
	}
	if hasEnd && (!s.hasEnd || end > s.end) {
		s.end, s.hasEnd = end, true
	}
}

func (s *stats) merge(o *stats) {
	s.records += o.records
	s.accepted += o.accepted
	s.rejected += o.rejected
	s.bytes += o.bytes
	s.packets += o.packets
	s.noData += o.noData
	s.skipData += o.skipData
	s.addTime(o.start, o.end, o.hasStart, o.hasEnd)
}

func (s *stats) totals() Totals {
	return Totals{
		Records:    s.records,
		Accepted:   s.accepted,
		Rejected:   s.rejected,
		Bytes:      s.bytes,
		Packets:    s.packets,
		FirstStart: s.start,
		LastEnd:    s.end,
	}
}

func (s *stats) overflow() InterfaceOverflow {
	return InterfaceOverflow{Totals: s.totals(), NoData: s.noData, SkipData: s.skipData}
}

func (s *stats) window() StatusWindow {
	return StatusWindow{Records: s.records, FirstStart: s.start, LastEnd: s.end}
}

type protoStats struct {
	records, bytes, packets uint64
}

type talkerKey struct {
	src, dst netip.Addr
}

func compareTalkers(a, b talkerKey) int {
	if c := a.src.Compare(b.src); c != 0 {
		return c
	}
	return a.dst.Compare(b.dst)
}

// portKey packs a destination port with protocol+1, so that 0 stands for a
// record without protocol.
func portKey(port, protocol int, hasProtocol bool) uint32 {
	p := uint32(0)
	if hasProtocol {
		p = uint32(protocol) + 1
	}
	return uint32(port)<<16 | p
}

func compareWindows(a, b Window) int {
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	return strings.Compare(a.InterfaceID, b.InterfaceID)
}

// insertWindow keeps ws the MaxSkipWindows smallest windows seen, sorted,
// so that the result does not depend on the order windows arrive in.
func insertWindow(ws []Window, w Window) []Window {
	if len(ws) >= MaxSkipWindows && compareWindows(w, ws[len(ws)-1]) >= 0 {
		return ws
	}
	i, _ := slices.BinarySearchFunc(ws, w, compareWindows)
	w.InterfaceID = strings.Clone(w.InterfaceID)
	ws = slices.Insert(ws, i, w)
	if len(ws) > MaxSkipWindows {
		ws = ws[:MaxSkipWindows]
	}
	return ws
}

func sampleOf(line string, err error) MalformedSample {
	if len(line) > maxSampleLine {
		line = line[:maxSampleLine]
	}
	// Invalid UTF-8 would come back from JSON as U+FFFD; replacing it now
	// keeps a Summary equal to its own JSON round trip.
	line = strings.ToValidUTF8(line, "\uFFFD")
	msg := "malformed line"
	if err != nil {
		msg = strings.ToValidUTF8(err.Error(), "\uFFFD")
	}
	return MalformedSample{Line: strings.Clone(line), Error: msg}
}

func talkersOf(es []ssEntry[talkerKey]) []Talker {
	out := make([]Talker, 0, len(es))
	for _, e := range es {
		out = append(out, Talker{Src: e.key.src, Dst: e.key.dst, Bytes: e.count, MaxError: e.err})
	}
	return out
}

func portsOf(es []ssEntry[uint32]) []PortCount {
	out := make([]PortCount, 0, len(es))
	for _, e := range es {
		out = append(out, PortCount{
			Port:     int(e.key >> 16),
			Protocol: int(e.key&0xffff) - 1,
			Records:  e.count,
			MaxError: e.err,
		})
	}
	return out
}

func sourcesOf(es []ssEntry[netip.Addr]) []SourceCount {
	out := make([]SourceCount, 0, len(es))
	for _, e := range es {
		out = append(out, SourceCount{Src: e.key, Records: e.count, MaxError: e.err})
	}
	return out
}

func interfacesOf(m map[string]*stats) []InterfaceSummary {
	out := make([]InterfaceSummary, 0, len(m))
	for id, s := range m {
		out = append(out, InterfaceSummary{InterfaceID: id, Totals: s.totals(), NoData: s.noData, SkipData: s.skipData})
	}
	slices.SortFunc(out, func(a, b InterfaceSummary) int { return strings.Compare(a.InterfaceID, b.InterfaceID) })
	return out
}

func protocolsOf(ps *[256]protoStats) []ProtocolSummary {
	out := []ProtocolSummary{}
	for p := range ps {
		if s := ps[p]; s.records > 0 {
			out = append(out, ProtocolSummary{Protocol: p, Name: ProtocolName(p), Records: s.records, Bytes: s.bytes, Packets: s.packets})
		}
	}
	return out
}
