package flowrecordtest

import (
	"fmt"
	"net/netip"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Behaviour names a planted behaviour: what a digest must raise.
type Behaviour string

// The behaviours a Generator plants.
const (
	PlantPortScan     Behaviour = "port-scan"
	PlantSweep        Behaviour = "sweep"
	PlantNewExternal  Behaviour = "new-external-destination"
	PlantExfiltration Behaviour = "exfiltration"
	PlantNewInbound   Behaviour = "new-inbound-port"
)

// Line is one planted line and the interface whose stream it belongs to.
type Line struct {
	InterfaceID string
	Text        string
}

// Planted is one planted behaviour: the lines that make it and the subject
// a report must name for it (a source address, a destination address, or
// an interface and port).
type Planted struct {
	Behaviour   Behaviour
	Subject     string
	InterfaceID string
	At          int64 // Unix seconds of the first line
	Lines       []Line
}

// Addresses the planted behaviours use: documentation ranges (RFC 5737),
// never drawn by the background traffic.
var (
	ScannerAddr     = netip.MustParseAddr("198.51.100.7")
	NewExternalAddr = netip.MustParseAddr("203.0.113.50")
	ExfilAddr       = netip.MustParseAddr("198.51.100.200")
	NewInboundPort  = 9999
)

// plant writes one line of interface iface for g.rec and tallies it, so
// that Expected covers planted lines too.
func (g *Generator) plant(p *Planted, iface int) {
	g.iface = iface
	g.writeLine()
	g.tally.add(g.c.Format, g.ifaces[iface].id, &g.rec)
	p.Lines = append(p.Lines, Line{InterfaceID: g.ifaces[iface].id, Text: string(g.line)})
}

func (g *Generator) flow(at int64, src, dst netip.Addr, srcPort, dstPort int, action flowrecord.Action, packets, bytes uint64, egress bool) {
	g.rec = genRecord{
		status: flowrecord.StatusOK, traffic: true, ports: true, action: action, protocol: 6,
		src: src, dst: dst, srcPort: srcPort, dstPort: dstPort, packets: packets, bytes: bytes,
		start: at, end: at + 30, egress: egress, peer: -1,
	}
}

// PortScan plants ScannerAddr probing ports 1 to ports of interface
// iface's address at time at, every probe rejected but the last few.
func (g *Generator) PortScan(iface, ports int, at int64) Planted {
	p := Planted{Behaviour: PlantPortScan, Subject: ScannerAddr.String(), InterfaceID: g.ifaces[iface].id, At: at}
	for port := 1; port <= ports; port++ {
		action := flowrecord.ActionReject
		if port > ports-3 {
			action = flowrecord.ActionAccept
		}
		g.flow(at+int64(port%60), ScannerAddr, g.ifaces[iface].v4, 40000+port, port, action, 1, 44, false)
		g.plant(&p, iface)
	}
	return p
}

// Sweep plants interface iface probing port 22 on hosts 10.0.200.1 to
// 10.0.200.<hosts> from its own address: a compromised instance looking
// for neighbours, seen in its own stream.
func (g *Generator) Sweep(iface, hosts int, at int64) Planted {
	src := g.ifaces[iface].v4
	p := Planted{Behaviour: PlantSweep, Subject: src.String(), InterfaceID: g.ifaces[iface].id, At: at}
	for h := 1; h <= hosts; h++ {
		dst := netip.AddrFrom4([4]byte{10, 0, 200, byte(h)})
		g.flow(at+int64(h%60), src, dst, 50000+h, 22, flowrecord.ActionAccept, 2, 120, true)
		g.plant(&p, iface)
	}
	return p
}

// NewExternal plants interface iface talking to NewExternalAddr on 443.
func (g *Generator) NewExternal(iface int, at int64) Planted {
	p := Planted{Behaviour: PlantNewExternal, Subject: NewExternalAddr.String(), InterfaceID: g.ifaces[iface].id, At: at}
	for i := range 3 {
		g.flow(at+int64(i*60), g.ifaces[iface].v4, NewExternalAddr, 51000+i, 443, flowrecord.ActionAccept, 20, 9_000, true)
		g.plant(&p, iface)
	}
	return p
}

// Exfiltration plants interface iface sending bytes to ExfilAddr on 443,
// in records of at most 1 GiB.
func (g *Generator) Exfiltration(iface int, bytes uint64, at int64) Planted {
	p := Planted{Behaviour: PlantExfiltration, Subject: ExfilAddr.String(), InterfaceID: g.ifaces[iface].id, At: at}
	for i := 0; bytes > 0; i++ {
		b := min(bytes, 1<<30)
		bytes -= b
		g.flow(at+int64(i*10), g.ifaces[iface].v4, ExfilAddr, 52000+i%1000, 443, flowrecord.ActionAccept, b/1400+1, b, true)
		g.plant(&p, iface)
	}
	return p
}

// NewInbound plants accepted connections to NewInboundPort on interface
// iface's address from a background peer.
func (g *Generator) NewInbound(iface int, at int64) Planted {
	p := Planted{Behaviour: PlantNewInbound, Subject: fmt.Sprintf("%s %d/tcp", g.ifaces[iface].id, NewInboundPort), InterfaceID: g.ifaces[iface].id, At: at}
	for i := range 5 {
		g.flow(at+int64(i*30), g.peers4[1], g.ifaces[iface].v4, 45000+i, NewInboundPort, flowrecord.ActionAccept, 12, 4_000, false)
		g.plant(&p, iface)
	}
	return p
}

// InterfaceAddr returns the IPv4 address of interface i.
func (g *Generator) InterfaceAddr(i int) netip.Addr { return g.ifaces[i].v4 }
