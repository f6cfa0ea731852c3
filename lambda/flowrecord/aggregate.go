package flowrecord

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// Options size an Aggregator. Zero values take the defaults.
type Options struct {
	// TopK is the length of each top list. Default 10.
	TopK int
	// MaxTracked is the number of keys each top list tracks: the bound on
	// heavy-hitter memory, at most about 250 bytes a key for the top
	// talkers and less for the other lists: about 3.8 MB for the three
	// when full at the default, and for a moment up to about three times
	// that while full aggregators merge. The lists are exact while no list
	// sees more distinct keys than this. Default 10,000; never below TopK.
	MaxTracked int
	// MalformedSamples is how many malformed lines to keep. Default 5;
	// negative keeps none.
	MalformedSamples int
	// MaxInterfaces is the number of interfaces counted one by one, the
	// first seen: about 200 bytes each, 2 MB at the default. The records
	// of any further interface still count in every total and top list,
	// and are summed in Summary.InterfaceOverflow. Interface IDs come from
	// records and log stream names, which others can write, so their
	// number must not set the memory a run needs. Default 10,000.
	MaxInterfaces int
	// MaxSources bounds each of the two scan detectors (port scans and
	// sweeps): the keys they track, exact below the bound and marked
	// approximate above it. Default DefaultMaxSources.
	MaxSources int
	// NoDetectors turns the detectors off (scans, sweeps, inbound ports,
	// egress): Signals then finds nothing. The benchmarks compare with it.
	NoDetectors bool
}

// Defaults for Options.
const (
	DefaultTopK             = 10
	DefaultMaxTracked       = 10_000
	DefaultMalformedSamples = 5
	DefaultMaxInterfaces    = 10_000
)

func (o Options) withDefaults() Options {
	if o.TopK <= 0 {
		o.TopK = DefaultTopK
	}
	if o.MaxTracked <= 0 {
		o.MaxTracked = DefaultMaxTracked
	}
	o.MaxTracked = max(o.MaxTracked, o.TopK)
	if o.MaxInterfaces <= 0 {
		o.MaxInterfaces = DefaultMaxInterfaces
	}
	if o.MaxSources <= 0 {
		o.MaxSources = DefaultMaxSources
	}
	switch {
	case o.MalformedSamples == 0:
		o.MalformedSamples = DefaultMalformedSamples
	case o.MalformedSamples < 0:
		o.MalformedSamples = 0
	}
	return o
}

// Aggregator sums records into a Summary in bounded memory: counters per
// interface and per protocol, and three Space-Saving tables of at most
// MaxTracked keys for the top lists. It is not safe for concurrent use;
// build one per goroutine and Merge them.
type Aggregator struct {
	opts Options

	total    stats
	noData   stats
	skipData stats
	windows  []Window
	ifaces   map[string]*stats // at most MaxInterfaces
	overflow stats             // the interfaces past MaxInterfaces
	// recent caches counters by a cheap hash of the interface ID: records
	// of a few interfaces interleave, and a string-keyed map lookup costs
	// a full hash of the ID each time.
	recent [64]*stats
	protos [256]protoStats

	talkers  *spaceSaving[talkerKey]
	ports    *spaceSaving[uint32]
	rejected *spaceSaving[netip.Addr]
	det      *detectors // scans, sweeps, inbound ports, egress: detect.go

	malformed uint64
	samples   []MalformedSample

	rec Record // AddLine's scratch record
}

// NewAggregator returns an empty aggregator.
func NewAggregator(o Options) *Aggregator {
	o = o.withDefaults()
	a := &Aggregator{
		opts:     o,
		ifaces:   make(map[string]*stats),
		talkers:  newSpaceSaving(o.MaxTracked, compareTalkers, hashTalker),
		ports:    newSpaceSaving(o.MaxTracked, cmp.Compare[uint32], hashPort),
		rejected: newSpaceSaving(o.MaxTracked, netip.Addr.Compare, hashAddr),
	}
	if !o.NoDetectors {
		a.det = newDetectors(o)
	}
	return a
}

// Options returns the options in force, defaults filled in.
func (a *Aggregator) Options() Options { return a.opts }

// Add counts one record. It keeps no reference to r.
func (a *Aggregator) Add(r *Record) {
	id := r.InterfaceID
	if id == "" {
		id = noInterface
	}
	slot := &a.recent[recentSlot(id)]
	st := *slot
	if st == nil || st.id != id {
		st = a.ifaces[id]
		if st == nil {
			st = a.track(id)
		}
		*slot = st
	}

	hasStart, hasEnd := r.Has(FieldStart), r.Has(FieldEnd)
	addRecord(&a.total, r, hasStart, hasEnd)
	addRecord(st, r, hasStart, hasEnd)
	switch r.LogStatus {
	case StatusNoData:
		a.noData.records++
		a.noData.addTime(r.Start, r.End, hasStart, hasEnd)
	case StatusSkipData:
		a.skipData.records++
		a.skipData.addTime(r.Start, r.End, hasStart, hasEnd)
		a.windows = insertWindow(a.windows, Window{InterfaceID: id, Start: r.Start, End: r.End})
	}
	hasProto := r.Has(FieldProtocol)
	if hasProto {
		p := &a.protos[r.Protocol&0xff]
		p.records++
		p.bytes += r.Bytes
		p.packets += r.Packets
	}
	if r.SrcAddr.IsValid() && r.DstAddr.IsValid() {
		a.talkers.add(talkerKey{r.SrcAddr, r.DstAddr}, r.Bytes)
	}
	if r.Has(FieldDstPort) {
		a.ports.add(portKey(r.DstPort, r.Protocol, hasProto), 1)
	}
	if r.Action == ActionReject && r.SrcAddr.IsValid() {
		a.rejected.add(r.SrcAddr, 1)
	}
	if a.det != nil {
		a.det.add(r, st, hasProto)
	}
}

// track starts the counters of a new interface, or returns the overflow
// counters when MaxInterfaces are tracked already. The overflow's empty id
// never matches a record's, so that the recent cache does not keep it.
func (a *Aggregator) track(id string) *stats {
	if len(a.ifaces) >= a.opts.MaxInterfaces {
		return &a.overflow
	}
	id = strings.Clone(id) // the key must not pin the line
	st := &stats{id: id, seq: len(a.ifaces)}
	a.ifaces[id] = st
	return st
}

// recentSlot hashes the last eight bytes of an interface ID, where IDs
// such as "eni-0a1b2c3d4e5f67890" differ.
func recentSlot(id string) int {
	h := uint64(len(id))
	if n := len(id); n >= 8 {
		t := id[n-8:]
		h ^= uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
	} else {
		for i := 0; i < n; i++ {
			h = h<<8 | uint64(id[i])
		}
	}
	return int(h * 0x9e3779b97f4a7c15 >> 58)
}

func addRecord(s *stats, r *Record, hasStart, hasEnd bool) {
	s.records++
	switch r.Action {
	case ActionAccept:
		s.accepted++
	case ActionReject:
		s.rejected++
	}
	switch r.LogStatus {
	case StatusNoData:
		s.noData++
	case StatusSkipData:
		s.skipData++
	}
	s.bytes += r.Bytes
	s.packets += r.Packets
	s.addTime(r.Start, r.End, hasStart, hasEnd)
}

// AddLine parses line with p and counts the record, or counts the line as
// malformed. It allocates nothing for a good line once the line's interface
// and keys have been seen.
func (a *Aggregator) AddLine(p *Parser, line string) {
	if !p.parse(line, &a.rec) {
		a.malformed++
		if len(a.samples) < a.opts.MalformedSamples {
			a.samples = append(a.samples, sampleOf(line, p.fail.toError()))
		}
		return
	}
	a.Add(&a.rec)
}

// AddMalformed counts a line that could not be used, keeping it as a
// sample while samples are wanted.
func (a *Aggregator) AddMalformed(line string, err error) {
	a.malformed++
	if len(a.samples) < a.opts.MalformedSamples {
		a.samples = append(a.samples, sampleOf(line, err))
	}
}

// Merge adds b's counts into a, as if b's records had followed a's, and
// leaves b as it was. Partials built concurrently over consecutive chunks
// and merged in chunk order give the same Summary as one pass, while no top
// list outgrows MaxTracked. The options of a stay in force.
func (a *Aggregator) Merge(b *Aggregator) {
	a.total.merge(&b.total)
	a.noData.merge(&b.noData)
	a.skipData.merge(&b.skipData)
	for _, w := range b.windows {
		a.windows = insertWindow(a.windows, w)
	}
	a.mergeInterfaces(b)
	for p := range a.protos {
		a.protos[p].records += b.protos[p].records
		a.protos[p].bytes += b.protos[p].bytes
		a.protos[p].packets += b.protos[p].packets
	}
	a.talkers.merge(b.talkers)
	a.ports.merge(b.ports)
	a.rejected.merge(b.rejected)
	if a.det != nil && b.det != nil {
		a.det.merge(b.det, func(id string) *stats { return a.ifaces[id] })
	}
	a.malformed += b.malformed
	for _, s := range b.samples {
		if len(a.samples) >= a.opts.MalformedSamples {
			break
		}
		a.samples = append(a.samples, s)
	}
}

// mergeInterfaces adds b's interface counters to a's. b's interfaces new
// to a are tracked in the order b first saw them while MaxInterfaces
// allows, as one pass over both inputs would; the rest join the overflow.
// When b itself overflowed, records of an interface a tracks may sit in
// b's overflow: the split between listed interfaces and overflow may then
// differ from one pass, the totals never.
func (a *Aggregator) mergeInterfaces(b *Aggregator) {
	a.overflow.merge(&b.overflow)
	bs := make([]*stats, 0, len(b.ifaces))
	for _, st := range b.ifaces {
		bs = append(bs, st)
	}
	slices.SortFunc(bs, func(x, y *stats) int { return cmp.Compare(x.seq, y.seq) })
	for _, st := range bs {
		switch as := a.ifaces[st.id]; {
		case as != nil:
			as.merge(st)
		case len(a.ifaces) >= a.opts.MaxInterfaces:
			a.overflow.merge(st)
		default:
			cp := *st
			cp.seq = len(a.ifaces)
			a.ifaces[cp.id] = &cp
		}
	}
}

// Summary returns the aggregate so far. It does not change the aggregator.
func (a *Aggregator) Summary() Summary {
	k := a.opts.TopK
	s := Summary{
		Totals:             a.total.totals(),
		NoData:             a.noData.window(),
		SkipData:           SkipData{StatusWindow: a.skipData.window(), Windows: append([]Window{}, a.windows...)},
		Interfaces:         interfacesOf(a.ifaces),
		InterfaceOverflow:  a.overflow.overflow(),
		ByProtocol:         protocolsOf(&a.protos),
		TopTalkers:         talkersOf(a.talkers.top(k)),
		TopDstPorts:        portsOf(a.ports.top(k)),
		TopRejectedSources: sourcesOf(a.rejected.top(k)),
		Malformed:          Malformed{Count: a.malformed, Samples: append([]MalformedSample{}, a.samples...)},
		Approximate:        a.talkers.evicted || a.ports.evicted || a.rejected.evicted,
		TopK:               k,
		MaxTracked:         a.opts.MaxTracked,
		MaxInterfaces:      a.opts.MaxInterfaces,
	}
	return s
}
