package flowrecord

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
)

// GenConfig describes the records a Generator writes. Zero values take the
// defaults; a negative share means none.
type GenConfig struct {
	Seed       int64
	Records    int     // lines to write, malformed ones included
	Interfaces int     // network interfaces, one log stream each; default 8
	Format     *Format // default: the version 2 default format
	// StartTime and Span place every record's start and end inside
	// [StartTime, StartTime+Span]. Defaults: 2026-01-01T00:00:00Z and 3600.
	StartTime int64
	Span      int64
	// Peers is the number of remote addresses talking to the interfaces,
	// drawn with a Zipf skew so that a few dominate. Default 150, which
	// with 8 interfaces keeps every top list within DefaultMaxTracked.
	Peers int
	// Shares of all lines. Defaults: 10% REJECT, 20% IPv6, 1% NODATA,
	// 0.2% SKIPDATA and no malformed lines.
	RejectShare    float64
	IPv6Share      float64
	NoDataShare    float64
	SkipDataShare  float64
	MalformedShare float64
}

func (c GenConfig) withDefaults() GenConfig {
	if c.Interfaces <= 0 {
		c.Interfaces = 8
	}
	if c.Format == nil {
		c.Format = DefaultFormat()
	}
	if c.StartTime <= 0 {
		c.StartTime = 1_767_225_600
	}
	if c.Span <= 0 {
		c.Span = 3600
	}
	if c.Peers <= 0 {
		c.Peers = 150
	}
	share := func(v *float64, def float64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 0
		}
	}
	share(&c.RejectShare, 0.10)
	share(&c.IPv6Share, 0.20)
	share(&c.NoDataShare, 0.01)
	share(&c.SkipDataShare, 0.002)
	share(&c.MalformedShare, 0)
	return c
}

// Generator writes realistic flow log lines, deterministically from a seed,
// one at a time: it never holds the lines it wrote. It tallies what it
// wrote with code of its own, independent of the Aggregator, so Expected
// can check an Aggregator.
type Generator struct {
	c      GenConfig
	rng    *rand.Rand
	ifaces []genIface
	peers4 []netip.Addr
	peers6 []netip.Addr
	scan4  []netip.Addr
	scan6  []netip.Addr

	peerPick  *rand.Zipf
	portPick  *rand.Zipf
	ifacePick *rand.Zipf
	scanPick  *rand.Zipf

	n     int
	line  []byte
	iface int
	rec   genRecord
	check *Parser // gives malformed samples the parser's own words

	tally genTally
}

type genIface struct {
	id, vpc, subnet, instance, az string
	v4, v6                        netip.Addr
}

// genRecord is what one line says, before it is written in a format.
type genRecord struct {
	status           LogStatus
	traffic          bool // false for NODATA and SKIPDATA lines
	action           Action
	src, dst         netip.Addr
	srcPort, dstPort int
	ports            bool
	protocol         int
	packets, bytes   uint64
	start, end       int64
	egress           bool
	peer             int // index into the peer pool, -1 for scanners
}

var (
	servicePorts = []int{443, 80, 53, 22, 5432, 3306, 6379, 8080, 123, 9200, 27017, 25, 11211, 8443, 2049}
	scannedPorts = []int{22, 3389, 23, 445, 1433, 5900, 8080, 3306, 6379, 25}
)

const genAccount = "123456789012"

// NewGenerator returns a generator for c.
func NewGenerator(c GenConfig) *Generator {
	c = c.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x9e3779b97f4a7c15))
	g := &Generator{c: c, rng: rng, check: NewParser(c.Format)}
	for k := range c.Interfaces {
		g.ifaces = append(g.ifaces, genIface{
			id:       awsID(rng, "eni-"),
			vpc:      awsID(rng, "vpc-"),
			subnet:   awsID(rng, "subnet-"),
			instance: awsID(rng, "i-"),
			az:       fmt.Sprintf("use1-az%d", k%6+1),
			v4:       netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)}),
			v6:       netip.AddrFrom16([16]byte{0x26, 0x00, 0x1f, 0x18, 0x0a, 0xbc, byte(k >> 8), byte(k), 15: 0x10}),
		})
	}
	for i := range c.Peers {
		g.peers4 = append(g.peers4, g.randomV4(i))
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		for j := 4; j < 16; j++ {
			b[j] = byte(rng.Uint32())
		}
		g.peers6 = append(g.peers6, netip.AddrFrom16(b))
	}
	for range 200 {
		g.scan4 = append(g.scan4, netip.AddrFrom4([4]byte{byte(1 + rng.IntN(222)), byte(rng.Uint32()), byte(rng.Uint32()), byte(1 + rng.IntN(254))}))
		g.scan6 = append(g.scan6, netip.AddrFrom16([16]byte{0x24, 0x0e, byte(rng.Uint32()), byte(rng.Uint32()), 15: byte(1 + rng.IntN(254))}))
	}
	g.peerPick = rand.NewZipf(rng, 1.2, 2, uint64(c.Peers-1))
	g.portPick = rand.NewZipf(rng, 1.5, 1, uint64(len(servicePorts)-1))
	g.ifacePick = rand.NewZipf(rng, 1.1, 3, uint64(c.Interfaces-1))
	g.scanPick = rand.NewZipf(rng, 1.3, 1, uint64(len(g.scan4)-1))
	g.tally = newGenTally()
	return g
}

// awsID returns a resource ID of the current 17-hex-digit form.
func awsID(rng *rand.Rand, prefix string) string {
	return fmt.Sprintf("%s%x%016x", prefix, rng.IntN(16), rng.Uint64())
}

// randomV4 mixes peers inside the VPC with public ones.
func (g *Generator) randomV4(i int) netip.Addr {
	if i%4 == 0 {
		return netip.AddrFrom4([4]byte{10, byte(1 + g.rng.IntN(3)), byte(g.rng.Uint32()), byte(1 + g.rng.IntN(254))})
	}
	return netip.AddrFrom4([4]byte{byte(3 + g.rng.IntN(200)), byte(g.rng.Uint32()), byte(g.rng.Uint32()), byte(1 + g.rng.IntN(254))})
}

// Format returns the format of the lines.
func (g *Generator) Format() *Format { return g.c.Format }

// Next writes the next line and reports whether there was one to write.
func (g *Generator) Next() bool {
	if g.n >= g.c.Records {
		return false
	}
	i := g.n
	g.n++
	g.iface = int(g.ifacePick.Uint64())
	u := g.rng.Float64()
	c := &g.c
	switch {
	case u < c.MalformedShare:
		g.traffic(i)
		g.writeLine()
		g.corrupt(i)
		g.tally.malformed(g.line, g.check)
		return true
	case u < c.MalformedShare+c.NoDataShare:
		g.quiet(i, StatusNoData)
	case u < c.MalformedShare+c.NoDataShare+c.SkipDataShare:
		g.quiet(i, StatusSkipData)
	default:
		g.traffic(i)
	}
	g.writeLine()
	g.tally.add(c.Format, g.ifaces[g.iface].id, &g.rec)
	return true
}

// Line returns the line Next wrote.
func (g *Generator) Line() string { return string(g.line) }

// InterfaceID returns the interface whose log stream the line belongs to.
func (g *Generator) InterfaceID() string { return g.ifaces[g.iface].id }

// InterfaceIDs returns every interface the generator may write for.
func (g *Generator) InterfaceIDs() []string {
	ids := make([]string, len(g.ifaces))
	for i, f := range g.ifaces {
		ids[i] = f.id
	}
	return ids
}

// window returns the capture window of line i: windows advance through
// the span as lines do, last from 1 to 60 seconds and never leave the span.
func (g *Generator) window(i int) (int64, int64) {
	c := &g.c
	base := c.StartTime + int64(float64(c.Span)*float64(i)/float64(max(c.Records, 1)))
	start := base + g.rng.Int64N(10)
	end := start + 1 + g.rng.Int64N(60)
	last := c.StartTime + c.Span
	start = min(start, last)
	end = min(end, last)
	return start, end
}

func (g *Generator) quiet(i int, status LogStatus) {
	start, end := g.window(i)
	g.rec = genRecord{status: status, start: start, end: end, peer: -1}
}

func (g *Generator) traffic(i int) {
	c := &g.c
	r := &g.rec
	*r = genRecord{status: StatusOK, traffic: true, ports: true, peer: -1}
	r.start, r.end = g.window(i)
	f := &g.ifaces[g.iface]
	v6 := g.rng.Float64() < c.IPv6Share
	local := f.v4
	if v6 {
		local = f.v6
	}
	ephemeral := 32768 + g.rng.IntN(28232)
	if g.rng.Float64() < c.RejectShare {
		s := int(g.scanPick.Uint64())
		r.src = g.scan4[s]
		if v6 {
			r.src = g.scan6[s]
		}
		r.dst = local
		r.action = ActionReject
		r.protocol = 6
		r.srcPort, r.dstPort = ephemeral, scannedPorts[g.rng.IntN(len(scannedPorts))]
		r.packets = 1 + uint64(g.rng.IntN(3))
		r.bytes = r.packets * uint64(40+g.rng.IntN(20))
		return
	}
	r.action = ActionAccept
	p := int(g.peerPick.Uint64())
	r.peer = p
	peer := g.peers4[p]
	if v6 {
		peer = g.peers6[p]
	}
	port := servicePorts[g.portPick.Uint64()]
	r.protocol = 6
	if port == 53 || port == 123 {
		r.protocol = 17
	}
	if g.rng.IntN(25) == 0 {
		r.protocol, port, ephemeral = 1, 0, 0
		if v6 {
			r.protocol = 58
		}
	}
	r.egress = g.rng.IntN(2) == 0
	if r.egress {
		r.src, r.dst = local, peer
		r.srcPort, r.dstPort = ephemeral, port
	} else {
		r.src, r.dst = peer, local
		r.srcPort, r.dstPort = ephemeral, port
	}
	r.packets = 1 + uint64(g.rng.ExpFloat64()*40)
	r.bytes = r.packets * uint64(52+g.rng.IntN(1448))
	if g.rng.IntN(50_000) == 0 {
		// Bulk transfers push counters past 32 bits.
		r.packets = 3_000_000 + uint64(g.rng.IntN(1_000_000))
		r.bytes = r.packets * 1400
	}
}

// corrupt spoils the line just written in one of the ways logs go wrong.
func (g *Generator) corrupt(i int) {
	f := g.c.Format
	switch i % 4 {
	case 0: // a field short
		for len(g.line) > 0 && g.line[len(g.line)-1] != ' ' {
			g.line = g.line[:len(g.line)-1]
		}
		if len(g.line) > 0 {
			g.line = g.line[:len(g.line)-1]
		}
	case 1: // a field too many, as a line of a wider format shows
		g.line = append(g.line, " -"...)
	case 2: // a value that does not parse
		for _, fd := range []Field{FieldDstPort, FieldBytes, FieldSrcAddr, FieldStart} {
			if !f.Has(fd) {
				continue
			}
			bad := map[Field]string{FieldDstPort: "70000", FieldBytes: "12x4", FieldSrcAddr: "10.0.0.256", FieldStart: "-17"}[fd]
			g.replaceToken(f.pos[fd], bad)
			return
		}
		g.line = append(g.line[:0], "not a flow log record"...)
	default: // nothing at all
		g.line = g.line[:0]
	}
}

func (g *Generator) replaceToken(idx int8, tok string) {
	out := make([]byte, 0, len(g.line)+len(tok))
	field := int8(0)
	start := 0
	for j := 0; j <= len(g.line); j++ {
		if j == len(g.line) || g.line[j] == ' ' {
			if field > 0 {
				out = append(out, ' ')
			}
			if field == idx {
				out = append(out, tok...)
			} else {
				out = append(out, g.line[start:j]...)
			}
			field++
			start = j + 1
		}
	}
	g.line = out
}

func (g *Generator) writeLine() {
	r := &g.rec
	f := &g.ifaces[g.iface]
	b := g.line[:0]
	for i, fd := range g.c.Format.fields {
		if i > 0 {
			b = append(b, ' ')
		}
		b = g.appendField(b, fd, r, f)
	}
	g.line = b
}

func dash(b []byte) []byte { return append(b, '-') }

func (g *Generator) appendField(b []byte, fd Field, r *genRecord, f *genIface) []byte {
	switch fd {
	case FieldVersion:
		return strconv.AppendInt(b, int64(g.c.Format.Version()), 10)
	case FieldAccountID:
		return append(b, genAccount...)
	case FieldInterfaceID:
		return append(b, f.id...)
	case FieldStart:
		return strconv.AppendInt(b, r.start, 10)
	case FieldEnd:
		return strconv.AppendInt(b, r.end, 10)
	case FieldLogStatus:
		return append(b, r.status.String()...)
	case FieldVPCID:
		return append(b, f.vpc...)
	case FieldSubnetID:
		return append(b, f.subnet...)
	case FieldInstanceID:
		return append(b, f.instance...)
	case FieldRegion:
		return append(b, "us-east-1"...)
	case FieldAZID:
		return append(b, f.az...)
	case FieldECSClusterName:
		if g.iface%4 == 0 {
			return append(b, "payments"...)
		}
		return dash(b)
	case FieldInstanceTag:
		// Tag values come percent-encoded.
		return append(b, "web%20tier%3Dblue"...)
	case FieldInterfaceTag:
		return append(b, "team%3Dnetworking"...)
	}
	if !r.traffic {
		return dash(b)
	}
	switch fd {
	case FieldSrcAddr, FieldPktSrcAddr:
		return r.src.AppendTo(b)
	case FieldDstAddr, FieldPktDstAddr:
		return r.dst.AppendTo(b)
	case FieldSrcPort:
		return strconv.AppendInt(b, int64(r.srcPort), 10)
	case FieldDstPort:
		return strconv.AppendInt(b, int64(r.dstPort), 10)
	case FieldProtocol:
		return strconv.AppendInt(b, int64(r.protocol), 10)
	case FieldPackets:
		return strconv.AppendUint(b, r.packets, 10)
	case FieldBytes:
		return strconv.AppendUint(b, r.bytes, 10)
	case FieldAction:
		return append(b, r.action.String()...)
	case FieldTCPFlags:
		switch {
		case r.protocol != 6:
			return append(b, '0')
		case r.action == ActionReject:
			return append(b, '2')
		}
		return append(b, "19"...)
	case FieldType:
		if r.src.Is4() {
			return append(b, "IPv4"...)
		}
		return append(b, "IPv6"...)
	case FieldFlowDirection:
		if r.egress {
			return append(b, "egress"...)
		}
		return append(b, "ingress"...)
	case FieldTrafficPath:
		if r.egress {
			return strconv.AppendInt(b, int64(1+r.peer%8), 10)
		}
		return dash(b)
	case FieldPktDstAWSService:
		if r.egress && r.peer%50 == 1 {
			return append(b, "S3"...)
		}
		return dash(b)
	case FieldRejectReason:
		if r.action == ActionReject && r.srcPort%20 == 0 {
			return append(b, "BPA"...)
		}
		return dash(b)
	case FieldEncryptionStatus:
		if r.dstPort == 443 {
			return append(b, '2')
		}
		return append(b, '0')
	}
	return dash(b)
}

// Expected returns the Summary an Aggregator with options o gives for the
// lines written so far, read as a CloudWatch Logs reader reads them: each
// line through a Parser whose SetInterfaceID was given the line's
// InterfaceID, which matters only for formats without ${interface-id}. It
// equals that Summary exactly while no top list sees more than o.MaxTracked
// distinct keys; past that the Aggregator approximates and Expected keeps
// the exact figures.
func (g *Generator) Expected(o Options) Summary {
	return g.tally.summary(o.withDefaults())
}

// genTally counts what the generator wrote, keyed as the Summary is, in
// plain maps: its memory follows the generator's pools, not the lines.
type genTally struct {
	total, noData, skipData stats
	windows                 []Window
	ifaces                  map[string]*stats
	protos                  [256]protoStats
	talkers                 map[talkerKey]uint64
	ports                   map[uint32]uint64
	rejected                map[netip.Addr]uint64
	malformedCount          uint64
	samples                 []MalformedSample
}

// maxGenSamples bounds the malformed samples the generator keeps for
// Expected.
const maxGenSamples = 100

func newGenTally() genTally {
	return genTally{
		ifaces:   map[string]*stats{},
		talkers:  map[talkerKey]uint64{},
		ports:    map[uint32]uint64{},
		rejected: map[netip.Addr]uint64{},
	}
}

func (t *genTally) malformed(line []byte, p *Parser) {
	t.malformedCount++
	if len(t.samples) < maxGenSamples {
		var r Record
		t.samples = append(t.samples, sampleOf(string(line), p.Parse(string(line), &r)))
	}
}

func (t *genTally) add(f *Format, iface string, r *genRecord) {
	id := iface // the line's own field, or the stream's through SetInterfaceID
	st := t.ifaces[id]
	if st == nil {
		st = &stats{id: id, seq: len(t.ifaces)}
		t.ifaces[id] = st
	}
	traffic := r.traffic
	has := func(fd Field) bool { return f.Has(fd) }
	var bytes, packets uint64
	if traffic && has(FieldBytes) {
		bytes = r.bytes
	}
	if traffic && has(FieldPackets) {
		packets = r.packets
	}
	for _, s := range []*stats{&t.total, st} {
		s.records++
		if traffic && has(FieldAction) {
			if r.action == ActionAccept {
				s.accepted++
			} else {
				s.rejected++
			}
		}
		if has(FieldLogStatus) {
			switch r.status {
			case StatusNoData:
				s.noData++
			case StatusSkipData:
				s.skipData++
			}
		}
		s.bytes += bytes
		s.packets += packets
		s.addTime(r.start, r.end, has(FieldStart), has(FieldEnd))
	}
	if has(FieldLogStatus) {
		var start, end int64
		if has(FieldStart) {
			start = r.start
		}
		if has(FieldEnd) {
			end = r.end
		}
		switch r.status {
		case StatusNoData:
			t.noData.records++
			t.noData.addTime(r.start, r.end, has(FieldStart), has(FieldEnd))
		case StatusSkipData:
			t.skipData.records++
			t.skipData.addTime(r.start, r.end, has(FieldStart), has(FieldEnd))
			t.windows = insertWindow(t.windows, Window{InterfaceID: id, Start: start, End: end})
		}
	}
	if !traffic {
		return
	}
	if has(FieldProtocol) {
		p := &t.protos[r.protocol]
		p.records++
		p.bytes += bytes
		p.packets += packets
	}
	if has(FieldSrcAddr) && has(FieldDstAddr) {
		t.talkers[talkerKey{r.src, r.dst}] += bytes
	}
	if has(FieldDstPort) {
		t.ports[portKey(r.dstPort, r.protocol, has(FieldProtocol))]++
	}
	if has(FieldAction) && r.action == ActionReject && has(FieldSrcAddr) {
		t.rejected[r.src]++
	}
}

// exactTop ranks exact counts as spaceSaving.top does.
func exactTop[K comparable](m map[K]uint64, k int, compare func(a, b K) int) []ssEntry[K] {
	es := make([]ssEntry[K], 0, len(m))
	for key, n := range m {
		es = append(es, ssEntry[K]{key: key, count: n})
	}
	slices.SortFunc(es, func(a, b ssEntry[K]) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return compare(a.key, b.key)
	})
	if len(es) > k {
		es = es[:k]
	}
	return es
}

func (t *genTally) summary(o Options) Summary {
	k := o.TopK
	samples := t.samples
	if len(samples) > o.MalformedSamples {
		samples = samples[:o.MalformedSamples]
	}
	// The aggregator tracks the first MaxInterfaces interfaces it sees.
	tracked := map[string]*stats{}
	var overflow stats
	for id, st := range t.ifaces {
		if st.seq < o.MaxInterfaces {
			tracked[id] = st
		} else {
			overflow.merge(st)
		}
	}
	return Summary{
		Totals:             t.total.totals(),
		NoData:             t.noData.window(),
		SkipData:           SkipData{StatusWindow: t.skipData.window(), Windows: append([]Window{}, t.windows...)},
		Interfaces:         interfacesOf(tracked),
		InterfaceOverflow:  overflow.overflow(),
		ByProtocol:         protocolsOf(&t.protos),
		TopTalkers:         talkersOf(exactTop(t.talkers, k, compareTalkers)),
		TopDstPorts:        portsOf(exactTop(t.ports, k, func(a, b uint32) int { return cmp.Compare(a, b) })),
		TopRejectedSources: sourcesOf(exactTop(t.rejected, k, netip.Addr.Compare)),
		Malformed:          Malformed{Count: t.malformedCount, Samples: append([]MalformedSample{}, samples...)},
		Approximate:        len(t.talkers) > o.MaxTracked || len(t.ports) > o.MaxTracked || len(t.rejected) > o.MaxTracked,
		TopK:               k,
		MaxTracked:         o.MaxTracked,
		MaxInterfaces:      o.MaxInterfaces,
	}
}
