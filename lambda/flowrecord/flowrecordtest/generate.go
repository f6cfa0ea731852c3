package flowrecordtest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Config describes the records a Generator writes. Zero values take the
// defaults; a negative share means none.
type Config struct {
	Seed       int64
	Records    int                // lines to write, malformed ones included
	Interfaces int                // network interfaces, one log stream each; default 8
	Format     *flowrecord.Format // default: the version 2 default format
	// StartTime and Span place every record's start and end inside
	// [StartTime, StartTime+Span]. Defaults: 2026-01-01T00:00:00Z and 3600.
	StartTime int64
	Span      int64
	// Peers is the number of remote addresses talking to the interfaces,
	// drawn with a Zipf skew so that a few dominate. Default 150, which
	// with 8 interfaces keeps every top list within flowrecord.DefaultMaxTracked.
	Peers int
	// Shares of all lines. Defaults: 10% REJECT, 20% IPv6, 1% NODATA,
	// 0.2% SKIPDATA and no malformed lines.
	RejectShare    float64
	IPv6Share      float64
	NoDataShare    float64
	SkipDataShare  float64
	MalformedShare float64
	// BulkInside keeps the rare multi-GiB bulk transfers (about 1 in
	// 50,000 accepted records) between private addresses: a background
	// without exfiltration, for the findings' false-positive tests. By
	// default a bulk transfer may go to any peer, public ones included.
	BulkInside bool
}

func (c Config) withDefaults() Config {
	if c.Interfaces <= 0 {
		c.Interfaces = 8
	}
	if c.Format == nil {
		c.Format = flowrecord.DefaultFormat()
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
	c      Config
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
	check *flowrecord.Parser // gives malformed samples the parser's own words

	fields []flowrecord.Field // of c.Format, looked up once
	tally  tally
}

type genIface struct {
	id, vpc, subnet, instance, az string
	v4, v6                        netip.Addr
}

// genRecord is what one line says, before it is written in a format.
type genRecord struct {
	status           flowrecord.LogStatus
	traffic          bool // false for NODATA and SKIPDATA lines
	action           flowrecord.Action
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
func NewGenerator(c Config) *Generator {
	c = c.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x9e3779b97f4a7c15))
	g := &Generator{c: c, rng: rng, check: flowrecord.NewParser(c.Format)}
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
	g.tally = newTally()
	g.fields = c.Format.Fields()
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

// flowrecord.Format returns the format of the lines.
func (g *Generator) Format() *flowrecord.Format { return g.c.Format }

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
		g.quiet(i, flowrecord.StatusNoData)
	case u < c.MalformedShare+c.NoDataShare+c.SkipDataShare:
		g.quiet(i, flowrecord.StatusSkipData)
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

func (g *Generator) quiet(i int, status flowrecord.LogStatus) {
	start, end := g.window(i)
	g.rec = genRecord{status: status, start: start, end: end, peer: -1}
}

func (g *Generator) traffic(i int) {
	c := &g.c
	r := &g.rec
	*r = genRecord{status: flowrecord.StatusOK, traffic: true, ports: true, peer: -1}
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
		r.action = flowrecord.ActionReject
		r.protocol = 6
		r.srcPort, r.dstPort = ephemeral, scannedPorts[g.rng.IntN(len(scannedPorts))]
		r.packets = 1 + uint64(g.rng.IntN(3))
		r.bytes = r.packets * uint64(40+g.rng.IntN(20))
		return
	}
	r.action = flowrecord.ActionAccept
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
	if g.rng.IntN(50_000) == 0 && (!c.BulkInside || peer.IsPrivate()) {
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
		for _, fd := range []flowrecord.Field{flowrecord.FieldDstPort, flowrecord.FieldBytes, flowrecord.FieldSrcAddr, flowrecord.FieldStart} {
			if !f.Has(fd) {
				continue
			}
			bad := map[flowrecord.Field]string{flowrecord.FieldDstPort: "70000", flowrecord.FieldBytes: "12x4", flowrecord.FieldSrcAddr: "10.0.0.256", flowrecord.FieldStart: "-17"}[fd]
			at, _ := f.Index(fd)
			g.replaceToken(at, bad)
			return
		}
		g.line = append(g.line[:0], "not a flow log record"...)
	default: // nothing at all
		g.line = g.line[:0]
	}
}

func (g *Generator) replaceToken(idx int, tok string) {
	out := make([]byte, 0, len(g.line)+len(tok))
	field := 0
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
	for i, fd := range g.fields {
		if i > 0 {
			b = append(b, ' ')
		}
		b = g.appendField(b, fd, r, f)
	}
	g.line = b
}

func dash(b []byte) []byte { return append(b, '-') }

// appendField writes one field: first those every line has, then, for a
// line of traffic, those of its flow; any other field is "-".
func (g *Generator) appendField(b []byte, fd flowrecord.Field, r *genRecord, f *genIface) []byte {
	if out, ok := g.appendLineField(b, fd, r, f); ok {
		return out
	}
	if !r.traffic {
		return dash(b)
	}
	if out, ok := appendFlowField(b, fd, r); ok {
		return out
	}
	return appendFlowDetail(b, fd, r)
}

// appendLineField writes the fields that NODATA and SKIPDATA lines have
// too: the record's version, account, interface and window.
func (g *Generator) appendLineField(b []byte, fd flowrecord.Field, r *genRecord, f *genIface) ([]byte, bool) {
	switch fd {
	case flowrecord.FieldVersion:
		return strconv.AppendInt(b, int64(g.c.Format.Version()), 10), true
	case flowrecord.FieldAccountID:
		return append(b, genAccount...), true
	case flowrecord.FieldInterfaceID:
		return append(b, f.id...), true
	case flowrecord.FieldStart:
		return strconv.AppendInt(b, r.start, 10), true
	case flowrecord.FieldEnd:
		return strconv.AppendInt(b, r.end, 10), true
	case flowrecord.FieldLogStatus:
		return append(b, r.status.String()...), true
	case flowrecord.FieldVPCID:
		return append(b, f.vpc...), true
	case flowrecord.FieldSubnetID:
		return append(b, f.subnet...), true
	case flowrecord.FieldInstanceID:
		return append(b, f.instance...), true
	case flowrecord.FieldRegion:
		return append(b, "us-east-1"...), true
	case flowrecord.FieldAZID:
		return append(b, f.az...), true
	case flowrecord.FieldECSClusterName:
		if g.iface%4 == 0 {
			return append(b, "payments"...), true
		}
		return dash(b), true
	case flowrecord.FieldInstanceTag:
		// Tag values come percent-encoded.
		return append(b, "web%20tier%3Dblue"...), true
	case flowrecord.FieldInterfaceTag:
		return append(b, "team%3Dnetworking"...), true
	}
	return b, false
}

// appendFlowField writes the flow's fields of the default format.
func appendFlowField(b []byte, fd flowrecord.Field, r *genRecord) ([]byte, bool) {
	switch fd {
	case flowrecord.FieldSrcAddr, flowrecord.FieldPktSrcAddr:
		return r.src.AppendTo(b), true
	case flowrecord.FieldDstAddr, flowrecord.FieldPktDstAddr:
		return r.dst.AppendTo(b), true
	case flowrecord.FieldSrcPort:
		return strconv.AppendInt(b, int64(r.srcPort), 10), true
	case flowrecord.FieldDstPort:
		return strconv.AppendInt(b, int64(r.dstPort), 10), true
	case flowrecord.FieldProtocol:
		return strconv.AppendInt(b, int64(r.protocol), 10), true
	case flowrecord.FieldPackets:
		return strconv.AppendUint(b, r.packets, 10), true
	case flowrecord.FieldBytes:
		return strconv.AppendUint(b, r.bytes, 10), true
	case flowrecord.FieldAction:
		return append(b, r.action.String()...), true
	}
	return b, false
}

// appendFlowDetail writes the flow's fields of later versions, derived
// from the flow so that they vary as they would; any other field is "-".
func appendFlowDetail(b []byte, fd flowrecord.Field, r *genRecord) []byte {
	switch fd {
	case flowrecord.FieldTCPFlags:
		switch {
		case r.protocol != 6:
			return append(b, '0')
		case r.action == flowrecord.ActionReject:
			return append(b, '2')
		}
		return append(b, "19"...)
	case flowrecord.FieldType:
		if r.src.Is4() {
			return append(b, "IPv4"...)
		}
		return append(b, "IPv6"...)
	case flowrecord.FieldFlowDirection:
		if r.egress {
			return append(b, "egress"...)
		}
		return append(b, "ingress"...)
	case flowrecord.FieldTrafficPath:
		if r.egress {
			return strconv.AppendInt(b, int64(1+r.peer%8), 10)
		}
	case flowrecord.FieldPktDstAWSService:
		if r.egress && r.peer%50 == 1 {
			return append(b, "S3"...)
		}
	case flowrecord.FieldRejectReason:
		if r.action == flowrecord.ActionReject && r.srcPort%20 == 0 {
			return append(b, "BPA"...)
		}
	case flowrecord.FieldEncryptionStatus:
		if r.dstPort == 443 {
			return append(b, '2')
		}
		return append(b, '0')
	}
	return dash(b)
}
