package flowrecord

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// The detectors look, record by record and in bounded memory, for what a
// digest raises as findings: port scans, sweeps, accepted inbound service
// ports per interface and bytes leaving to public addresses. They allocate
// nothing per record once their keys have been seen. What they find stays
// out of Summary, whose shape the generator's own tally checks; Signals
// returns it.

// DefaultMaxSources bounds each scan detector's table: at most about 300
// bytes a key (its 128-byte sketch, counts and a share of the index), so
// about 1.2 MB for each of the two tables when full.
const DefaultMaxSources = 4096

// A probe is a record of at most MaxProbePackets packets that carry no
// payload, at most MaxProbePacketBytes bytes each on average: a SYN, its
// retries, or a SYN and the RST that answers it (an IPv6 and a TCP header
// with options). Only probes count towards scans and sweeps, so that a
// client exchanging data with many servers of one service (S3 addresses on
// 443, say) is not taken for a sweep.
const (
	MaxProbePackets     = 3
	MaxProbePacketBytes = 80
)

// Thresholds decide which tracked sources Signals reports.
type Thresholds struct {
	// ScanPorts is how many distinct destination ports one source must
	// probe on one host to count as a port scan.
	ScanPorts int
	// SweepHosts is how many distinct hosts one source must probe on one
	// port to count as a sweep.
	SweepHosts int
}

// Fanout is one source that probed many ports of a host (a port scan: Dst
// set, Port -1) or one port of many hosts (a sweep: Dst invalid).
type Fanout struct {
	Src netip.Addr `json:"src"`
	Dst netip.Addr `json:"dst,omitzero"`
	// Port and Protocol are the swept port; -1 in a port scan.
	Port     int `json:"port"`
	Protocol int `json:"protocol"`
	// Distinct is the HyperLogLog estimate of the ports (scan) or hosts
	// (sweep) reached, within about 9.2% (one standard error).
	Distinct uint64 `json:"distinct"`
	Records  uint64 `json:"records"`
	Accepted uint64 `json:"accepted"`
	Rejected uint64 `json:"rejected"`
	// MaxError bounds how much Records may overstate: the source took a
	// slot another key had; its Distinct may then understate.
	MaxError    uint64 `json:"maxError,omitempty"`
	FirstStart  int64  `json:"firstStart"`
	LastEnd     int64  `json:"lastEnd"`
	InterfaceID string `json:"interfaceId"`
}

// InboundPort is a destination port that accepted records reached on an
// interface's own address from a higher source port: a service the
// interface offers.
type InboundPort struct {
	InterfaceID string `json:"interfaceId"`
	Port        int    `json:"port"`
	Protocol    int    `json:"protocol"`
	Records     uint64 `json:"records"`
}

// Egress is the accepted bytes an interface sent to one public address.
type Egress struct {
	InterfaceID string     `json:"interfaceId"`
	Dst         netip.Addr `json:"dst"`
	// AWSService is the record's pkt-dst-aws-service when its format has
	// the field; empty otherwise.
	AWSService string `json:"awsService,omitempty"`
	Bytes      uint64 `json:"bytes"`
	MaxError   uint64 `json:"maxError,omitempty"`
}

// Signals is what the detectors found.
type Signals struct {
	PortScans []Fanout `json:"portScans"`
	Sweeps    []Fanout `json:"sweeps"`
	// ScansApproximate is true when more sources probed than MaxSources.
	ScansApproximate bool `json:"scansApproximate"`
	// InboundPorts lists every tracked interface port (at most
	// Options.MaxTracked), by interface then port.
	InboundPorts       []InboundPort `json:"inboundPorts"`
	InboundApproximate bool          `json:"inboundApproximate"`
	// Egress ranks every tracked interface and public destination by
	// bytes: at most Options.MaxTracked of them, the heaviest when more
	// were seen.
	Egress            []Egress `json:"egress"`
	EgressBytes       uint64   `json:"egressBytes"`
	EgressApproximate bool     `json:"egressApproximate"`
}

// MaxFanouts bounds Signals.PortScans and Signals.Sweeps each.
const MaxFanouts = 100

type srcPortKey struct {
	src  netip.Addr
	port uint32
}

type inboundKey struct {
	st   *stats
	port uint32
}

type egressKey struct {
	st  *stats
	dst netip.Addr
	svc uint8 // index into awsServices + 1; 0 when the record names none
}

type detectors struct {
	scans       *sketchTable[talkerKey]  // (src, dst) → distinct ports
	sweeps      *sketchTable[srcPortKey] // (src, port) → distinct hosts
	inbound     *spaceSaving[inboundKey]
	egress      *spaceSaving[egressKey]
	egressBytes uint64
}

func newDetectors(o Options) *detectors {
	return &detectors{
		scans:  newSketchTable(o.MaxSources, compareTalkers, hashTalker),
		sweeps: newSketchTable(o.MaxSources, compareSrcPort, func(k srcPortKey) uint64 { return addrHash(k.src, uint64(k.port)) }),
		inbound: newSpaceSaving(o.MaxTracked, compareInbound, func(k inboundKey) uint64 {
			return mix(uint64(k.st.seq)<<32 | uint64(k.port))
		}),
		egress: newSpaceSaving(o.MaxTracked, compareEgress, func(k egressKey) uint64 {
			return addrHash(k.dst, uint64(k.st.seq)<<8|uint64(k.svc))
		}),
	}
}

// add looks at one record of interface st.
func (d *detectors) add(r *Record, st *stats, hasProto bool) {
	if r.LogStatus != StatusOK && r.LogStatus != StatusNone {
		return
	}
	src, dst := r.SrcAddr, r.DstAddr
	if !src.IsValid() || !dst.IsValid() {
		return
	}
	var own netip.Addr
	if st.id != "" && st.id != noInterface { // not the overflow's mix of interfaces
		fam := &st.own4
		if !src.Is4() {
			fam = &st.own6
		}
		own = fam.learn(src, dst)
	}
	hasPorts := r.Has(FieldDstPort)
	accepted := r.Action == ActionAccept
	if hasPorts && r.Packets <= MaxProbePackets && r.Bytes <= r.Packets*MaxProbePacketBytes && r.Has(FieldPackets) {
		pk := portKey(r.DstPort, r.Protocol, hasProto)
		d.scans.add(talkerKey{src, dst}, valueHash(uint64(pk)), accepted, st.id, r.Start, r.End)
		d.sweeps.add(srcPortKey{src, pk}, addrValueHash(dst), accepted, st.id, r.Start, r.End)
	}
	if !accepted || !hasPorts {
		return
	}
	// An accepted record to the interface's own address (or, until that
	// is known, any) from a higher port reached a service it offers.
	if r.DstPort < r.SrcPort && r.Has(FieldSrcPort) && (!own.IsValid() || dst == own) && st.id != "" {
		d.inbound.add(inboundKey{st, portKey(r.DstPort, r.Protocol, hasProto)}, 1)
	}
	// Bytes leave when a private source (a VPC's IPv4 addresses are), or
	// the interface's own IPv6 address, sends to a public one.
	if isPublic(dst) && (!isPublic(src) || src == own) {
		d.egress.add(egressKey{st, dst, awsServiceCode(r)}, r.Bytes)
		d.egressBytes += r.Bytes
	}
}

// ownAddr narrows an interface's own address of one family (IPv4 or IPv6)
// down from its records: every record of an interface's stream has its
// address as source or destination, so of the two addresses of its first
// record, the one every later record shows is its own. learn returns the
// invalid Addr until one is left, and starts over when a record shows
// neither (an interface with several addresses of the family), so that the
// inbound and egress detectors then skip its records until it settles.
type ownAddr struct {
	own  [2]netip.Addr
	ownN uint8
}

func (s *ownAddr) learn(src, dst netip.Addr) netip.Addr {
	switch s.ownN {
	case 0:
		s.own = [2]netip.Addr{src, dst}
		s.ownN = 2
		return netip.Addr{}
	case 2:
		a, b := s.own[0] == src || s.own[0] == dst, s.own[1] == src || s.own[1] == dst
		switch {
		case a && b:
			return netip.Addr{}
		case a:
			s.ownN = 1
		case b:
			s.own[0], s.ownN = s.own[1], 1
		default:
			s.own = [2]netip.Addr{src, dst}
			return netip.Addr{}
		}
		return s.own[0]
	}
	if s.own[0] == src || s.own[0] == dst {
		return s.own[0]
	}
	s.own = [2]netip.Addr{src, dst}
	s.ownN = 2
	return netip.Addr{}
}

// isPublic reports whether a is an address of the internet: not private
// (RFC 1918, fc00::/7), shared (100.64.0.0/10), loopback, link-local,
// multicast or unspecified.
func isPublic(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		if b[0] == 100 && b[1]&0xc0 == 64 {
			return false
		}
	}
	special := a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() ||
		a.IsUnspecified() || a.IsInterfaceLocalMulticast() || a.Is4In6()
	return !special
}

// IsPublic reports whether a is an internet address, as the detectors
// decide what leaves.
func IsPublic(a netip.Addr) bool { return a.IsValid() && isPublic(a) }

func addrValueHash(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return valueHash(uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3]))
	}
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	return valueHash(valueHash(hi) ^ lo)
}

// awsServices are the values of pkt-dst-aws-service that AWS documents;
// a record naming another counts as "AMAZON".
var awsServices = []string{
	"AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "CHIME_MEETINGS",
	"CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT", "CODEBUILD", "DYNAMODB", "EBS", "EC2",
	"EC2_INSTANCE_CONNECT", "GLOBALACCELERATOR", "KINESIS_VIDEO_STREAMS", "ROUTE53",
	"ROUTE53_HEALTHCHECKS", "ROUTE53_HEALTHCHECKS_PUBLISHING", "ROUTE53_RESOLVER", "S3",
	"WORKSPACES_GATEWAYS",
}

func awsServiceCode(r *Record) uint8 {
	v, ok := r.Value(FieldPktDstAWSService)
	if !ok {
		return 0
	}
	for i, s := range awsServices {
		if s == v {
			return uint8(i + 1)
		}
	}
	return 1
}

func compareSrcPort(a, b srcPortKey) int {
	if c := a.src.Compare(b.src); c != 0 {
		return c
	}
	return cmp.Compare(a.port, b.port)
}

func compareInbound(a, b inboundKey) int {
	if c := strings.Compare(a.st.id, b.st.id); c != 0 {
		return c
	}
	return cmp.Compare(a.port, b.port)
}

func compareEgress(a, b egressKey) int {
	if c := a.dst.Compare(b.dst); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.st.id, b.st.id), cmp.Compare(a.svc, b.svc))
}

// merge folds b's detectors into d, b's interfaces mapped to d's through
// ifaces (nil for an interface d does not track one by one).
func (d *detectors) merge(b *detectors, ifaces func(id string) *stats) {
	same := func(id string) string {
		if st := ifaces(id); st != nil {
			return st.id
		}
		return ""
	}
	d.scans.merge(b.scans, same)
	d.sweeps.merge(b.sweeps, same)
	d.inbound.merge(remapKeys(b.inbound, d.inbound.hash, compareInbound, ifaces, func(k *inboundKey) **stats { return &k.st }))
	d.egress.merge(remapKeys(b.egress, d.egress.hash, compareEgress, ifaces, func(k *egressKey) **stats { return &k.st }))
	d.egressBytes += b.egressBytes
}

// remapKeys copies b with the interface in each key (reached through at)
// replaced by the merging aggregator's counters of the same interface; keys
// of interfaces it does not track one by one are dropped. The entries'
// errors carry over, so the Space-Saving bounds hold after the merge.
func remapKeys[K comparable](b *spaceSaving[K], hash func(K) uint64, compare func(a, b K) int, ifaces func(string) *stats, at func(*K) **stats) *spaceSaving[K] {
	es := b.list()
	kept := es[:0]
	for _, e := range es {
		p := at(&e.key)
		if st := ifaces((*p).id); st != nil {
			*p = st
			kept = append(kept, e)
		}
	}
	out := newSpaceSaving(b.capacity, compare, hash)
	out.load(kept, !b.evicted)
	out.evicted = b.evicted
	return out
}

// Signals returns what the detectors found, with th deciding which
// sources count as scanning. It does not change the aggregator.
func (a *Aggregator) Signals(th Thresholds) Signals {
	d := a.det
	if d == nil {
		return Signals{PortScans: []Fanout{}, Sweeps: []Fanout{}, InboundPorts: []InboundPort{}, Egress: []Egress{}}
	}
	s := Signals{
		ScansApproximate:   d.scans.evicted || d.sweeps.evicted,
		InboundApproximate: d.inbound.evicted,
		EgressBytes:        d.egressBytes,
		EgressApproximate:  d.egress.evicted,
		PortScans:          []Fanout{},
		Sweeps:             []Fanout{},
	}
	for _, sl := range d.scans.over(uint64(max(th.ScanPorts, 1)), MaxFanouts) {
		s.PortScans = append(s.PortScans, fanoutOf(sl.key.src, sl.key.dst, -1, -1, sl))
	}
	for _, sl := range d.sweeps.over(uint64(max(th.SweepHosts, 1)), MaxFanouts) {
		port, proto := int(sl.key.port>>16), int(sl.key.port&0xffff)-1
		s.Sweeps = append(s.Sweeps, fanoutOf(sl.key.src, netip.Addr{}, port, proto, sl))
	}
	for _, e := range d.inbound.top(a.opts.MaxTracked) {
		s.InboundPorts = append(s.InboundPorts, InboundPort{InterfaceID: e.key.st.id, Port: int(e.key.port >> 16), Protocol: int(e.key.port&0xffff) - 1, Records: e.count})
	}
	slices.SortFunc(s.InboundPorts, func(x, y InboundPort) int {
		return cmp.Or(strings.Compare(x.InterfaceID, y.InterfaceID), cmp.Compare(x.Port, y.Port), cmp.Compare(x.Protocol, y.Protocol))
	})
	for _, e := range d.egress.top(a.opts.MaxTracked) {
		eg := Egress{InterfaceID: e.key.st.id, Dst: e.key.dst, Bytes: e.count, MaxError: e.err}
		if e.key.svc > 0 {
			eg.AWSService = awsServices[e.key.svc-1]
		}
		s.Egress = append(s.Egress, eg)
	}
	if s.InboundPorts == nil {
		s.InboundPorts = []InboundPort{}
	}
	if s.Egress == nil {
		s.Egress = []Egress{}
	}
	return s
}

func fanoutOf[K comparable](src, dst netip.Addr, port, proto int, sl *sketchSlot[K]) Fanout {
	return Fanout{
		Src: src, Dst: dst, Port: port, Protocol: proto,
		Distinct: sl.distinct.estimate(), Records: sl.records, Accepted: sl.accepted, Rejected: sl.rejected,
		MaxError: sl.err, FirstStart: sl.start, LastEnd: sl.end, InterfaceID: sl.iface,
	}
}
