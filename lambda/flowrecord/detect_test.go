package flowrecord_test

import (
	"net/netip"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

var testThresholds = flowrecord.Thresholds{ScanPorts: 25, SweepHosts: 25}

// aggregatePlanted aggregates an hour of background traffic with the
// planted lines mixed in after the first half, in one aggregator or, with
// split, in two merged ones.
func aggregatePlanted(t *testing.T, opts flowrecord.Options, split bool, plant func(g *flowrecordtest.Generator) []flowrecordtest.Planted) (*flowrecord.Aggregator, []flowrecordtest.Planted) {
	t.Helper()
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 7, Records: 20_000, Interfaces: 16})
	p := flowrecord.NewParser(g.Format())
	a, b := flowrecord.NewAggregator(opts), flowrecord.NewAggregator(opts)
	cur := a
	var planted []flowrecordtest.Planted
	for i := 0; g.Next(); i++ {
		cur.AddLine(p, g.Line())
		if i == 10_000 {
			if split {
				cur = b
			}
			planted = plant(g)
			for _, pl := range planted {
				for _, l := range pl.Lines {
					cur.AddLine(p, l.Text)
				}
			}
		}
	}
	if split {
		a.Merge(b)
	}
	return a, planted
}

func plantAll(g *flowrecordtest.Generator) []flowrecordtest.Planted {
	at := int64(1_767_227_400)
	return []flowrecordtest.Planted{
		g.PortScan(3, 200, at),
		g.Sweep(5, 60, at),
		g.NewExternal(2, at),
		g.Exfiltration(4, 5<<30, at),
		g.NewInbound(6, at),
	}
}

// TestDetectorsFindPlanted checks that every planted behaviour shows in the
// signals with its subject, in one pass and after a merge, and that the
// background alone raises no scan or sweep.
func TestDetectorsFindPlanted(t *testing.T) {
	for _, tt := range []struct {
		name  string
		split bool
	}{{"one pass", false}, {"merged", true}} {
		t.Run(tt.name, func(t *testing.T) {
			a, planted := aggregatePlanted(t, flowrecord.Options{}, tt.split, plantAll)
			s := a.Signals(testThresholds)
			scan, sweep := planted[0], planted[1]
			if len(s.PortScans) != 1 || s.PortScans[0].Src.String() != scan.Subject || s.PortScans[0].InterfaceID != scan.InterfaceID {
				t.Errorf("port scans %+v; want one from %s on %s", s.PortScans, scan.Subject, scan.InterfaceID)
			} else if d := s.PortScans[0].Distinct; d < 170 || d > 230 || s.PortScans[0].Accepted != 3 {
				t.Errorf("port scan reached %d distinct ports (%d accepted); want about 200 (3)", d, s.PortScans[0].Accepted)
			}
			if len(s.Sweeps) != 1 || s.Sweeps[0].Src.String() != sweep.Subject || s.Sweeps[0].Port != 22 {
				t.Errorf("sweeps %+v; want one from %s on port 22", s.Sweeps, sweep.Subject)
			}
			if !hasEgress(s, flowrecordtest.NewExternalAddr, 27_000) || !hasEgress(s, flowrecordtest.ExfilAddr, 5<<30) {
				t.Errorf("egress %+v misses a planted destination", s.Egress[:min(5, len(s.Egress))])
			}
			if s.Egress[0].Dst != flowrecordtest.ExfilAddr {
				t.Errorf("top egress destination %v; want the exfiltration's %v", s.Egress[0].Dst, flowrecordtest.ExfilAddr)
			}
			found := false
			for _, in := range s.InboundPorts {
				found = found || (in.InterfaceID == planted[4].InterfaceID && in.Port == flowrecordtest.NewInboundPort && in.Protocol == 6 && in.Records == 5)
			}
			if !found {
				t.Errorf("inbound ports %+v miss %s", s.InboundPorts, planted[4].Subject)
			}
		})
	}
	t.Run("background only", func(t *testing.T) {
		a, _ := aggregatePlanted(t, flowrecord.Options{}, false, func(*flowrecordtest.Generator) []flowrecordtest.Planted { return nil })
		s := a.Signals(testThresholds)
		if len(s.PortScans)+len(s.Sweeps) != 0 || s.ScansApproximate {
			t.Errorf("background traffic raised scans %+v and sweeps %+v", s.PortScans, s.Sweeps)
		}
		for _, in := range s.InboundPorts {
			if in.Port >= 32768 {
				t.Errorf("an ephemeral port counted as inbound service: %+v", in)
			}
		}
	})
}

func hasEgress(s flowrecord.Signals, dst netip.Addr, bytes uint64) bool {
	for _, e := range s.Egress {
		if e.Dst == dst && e.Bytes == bytes {
			return true
		}
	}
	return false
}

// TestDetectorsBounded checks that a flood of spoofed one-probe sources
// cannot grow the detectors past MaxSources nor hide a real scanner: the
// signals are marked approximate and the scanner is still reported.
func TestDetectorsBounded(t *testing.T) {
	opts := flowrecord.Options{MaxSources: 256}
	a, planted := aggregatePlanted(t, opts, false, func(g *flowrecordtest.Generator) []flowrecordtest.Planted {
		return []flowrecordtest.Planted{g.PortScan(1, 300, 1_767_227_400)}
	})
	p := flowrecord.NewParser(flowrecord.DefaultFormat())
	for i := range 50_000 {
		src := netip.AddrFrom4([4]byte{45, byte(i >> 16), byte(i >> 8), byte(i)})
		a.AddLine(p, "2 123456789012 eni-0a1b2c3d4e5f67890 "+src.String()+" 10.0.0.1 40000 22 6 1 40 1767227400 1767227460 REJECT OK")
	}
	s := a.Signals(testThresholds)
	if !s.ScansApproximate {
		t.Error("50,000 sources in 256 slots: signals not marked approximate")
	}
	if len(s.PortScans) != 1 || s.PortScans[0].Src.String() != planted[0].Subject {
		t.Errorf("port scans %+v; want the planted one from %s", s.PortScans, planted[0].Subject)
	}
}

// TestDetectorsAllocs checks that the detectors allocate nothing per
// record once their keys are known, planted lines included.
func TestDetectorsAllocs(t *testing.T) {
	a, planted := aggregatePlanted(t, flowrecord.Options{}, false, plantAll)
	p := flowrecord.NewParser(flowrecord.DefaultFormat())
	var lines []string
	for _, pl := range planted {
		for _, l := range pl.Lines {
			lines = append(lines, l.Text)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		a.AddLine(p, lines[i%len(lines)])
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per record; want 0", allocs)
	}
}

// TestEgressNamesAWSService checks that a record's pkt-dst-aws-service
// (formats of version 5) marks its destination as AWS's, an unknown name
// as AMAZON, and that without the field the egress carries no service.
func TestEgressNamesAWSService(t *testing.T) {
	f, err := flowrecord.ParseFormat("${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${action} ${pkt-dst-aws-service}")
	if err != nil {
		t.Fatal(err)
	}
	p := flowrecord.NewParser(f)
	a := flowrecord.NewAggregator(flowrecord.Options{})
	for _, l := range []string{
		"eni-0a1b2c3d4e5f67890 10.0.0.5 52.217.1.2 50000 443 6 10 9000 ACCEPT S3",
		"eni-0a1b2c3d4e5f67890 10.0.0.5 3.5.140.9 50001 443 6 10 7000 ACCEPT SOMETHING_NEW",
		"eni-0a1b2c3d4e5f67890 10.0.0.5 198.51.100.9 50002 443 6 10 5000 ACCEPT -",
	} {
		a.AddLine(p, l)
	}
	got := map[string]string{}
	for _, e := range a.Signals(testThresholds).Egress {
		got[e.Dst.String()] = e.AWSService
	}
	want := map[string]string{"52.217.1.2": "S3", "3.5.140.9": "AMAZON", "198.51.100.9": ""}
	for dst, svc := range want {
		if s, ok := got[dst]; !ok || s != svc {
			t.Errorf("egress to %s: service %q (listed %v); want %q", dst, s, ok, svc)
		}
	}
}
