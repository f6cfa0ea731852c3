package digest

import (
	"cmp"
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Finding types, in the order a digest ranks equal severities.
const (
	FindingExfiltration = "egress-volume"
	FindingPortScan     = "port-scan"
	FindingSweep        = "sweep"
	FindingNewInbound   = "new-inbound-port"
	FindingNewExternal  = "new-external-destination"
	FindingNewInterface = "new-talking-interface"
)

// FindingTypes lists every finding type, for metrics and documents.
var FindingTypes = []string{FindingExfiltration, FindingPortScan, FindingSweep, FindingNewInbound, FindingNewExternal, FindingNewInterface}

// Severities, highest first.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// MaxFindings bounds the findings a digest lists; FindingsBasis.Total
// counts them all.
const MaxFindings = 25

// Finding is one thing in the window that needs a person's attention.
// DIGEST.md documents the schema; it only grows.
type Finding struct {
	Type     string `json:"type"`
	Severity string `json:"severity"`
	// Subject is what the finding is about: a source address (scans,
	// sweeps), a destination address, "<interface> <port>/<protocol>", an
	// interface, or "public addresses" for the egress volume.
	Subject string `json:"subject"`
	// Why says in words why it was raised, with the threshold.
	Why       string    `json:"why"`
	FirstSeen time.Time `json:"firstSeen"`
	Evidence  Evidence  `json:"evidence"`
}

// Evidence is what a finding rests on.
type Evidence struct {
	Interfaces []string `json:"interfaces"`
	Addresses  []string `json:"addresses"`
	Ports      []string `json:"ports"`
	Records    uint64   `json:"records,omitempty"`
	Accepted   uint64   `json:"accepted,omitempty"`
	Rejected   uint64   `json:"rejected,omitempty"`
	// Distinct is the estimated number of distinct ports (port scan) or
	// hosts (sweep), within about 9.2% (HyperLogLog, one standard error).
	Distinct uint64 `json:"distinct,omitempty"`
	Bytes    uint64 `json:"bytes,omitempty"`
	// LastWeekBytes is the same window a week before (egress volume).
	LastWeekBytes *uint64 `json:"lastWeekBytes,omitempty"`
	// VPC is the VPC a new external destination is new to; absent when
	// EC2 did not describe the interfaces.
	VPC    string `json:"vpc,omitempty"`
	Window Window `json:"window"`
	// Approximate is true when the counts come from a detector that
	// outgrew its bound: they may understate.
	Approximate bool `json:"approximate,omitempty"`
}

// FindingsBasis says what the findings were computed from.
type FindingsBasis struct {
	// Total counts the findings before the list was cut to MaxFindings.
	Total      int            `json:"total"`
	ByType     map[string]int `json:"byType"`
	Thresholds FindingsConfig `json:"thresholds"`
	// Baseline is "warm", "learning" (less than a day of history: nothing
	// is new yet) or "unavailable" (the run state could not be read).
	Baseline string `json:"baseline"`
	// BaselineSince is when the baseline started learning.
	BaselineSince time.Time `json:"baselineSince,omitzero"`
	// BaselineFalsePositive is the chance that a key never seen looks
	// seen: a new thing missed, never one raised.
	BaselineFalsePositive float64 `json:"baselineFalsePositive"`
	// EgressBytes and EgressAWSBytes split the window's bytes to public
	// addresses between AWS's published ranges and the rest;
	// LastWeekEgressBytes is the rest a week before, when the history had it.
	EgressBytes         uint64  `json:"egressBytes"`
	EgressAWSBytes      uint64  `json:"egressAwsBytes"`
	LastWeekEgressBytes *uint64 `json:"lastWeekEgressBytes,omitempty"`
	// TopEgress lists the public destinations that received the most bytes,
	// each with its AWS range when it is AWS's: where data leaves.
	TopEgress []EgressDestination `json:"topEgress"`
	// AWSRanges is the createDate of the ip-ranges.json copy in use, and
	// AWSRangesSource where the process got it: AWSRangesFetched at cold
	// start, or AWSRangesEmbedded (the copy built in). Digests written
	// before the fetch existed have no source: theirs was the built-in copy.
	AWSRanges       string `json:"awsRanges"`
	AWSRangesSource string `json:"awsRangesSource,omitempty"`
	// Approximate is true when a detector outgrew its bound.
	Approximate bool `json:"approximate"`
}

// EgressDestination is one public destination and the bytes it received.
type EgressDestination struct {
	Dst        string   `json:"dst"`
	Bytes      uint64   `json:"bytes"`
	AWS        string   `json:"aws,omitempty"`
	Interfaces []string `json:"interfaces"`
}

// maxTopEgress bounds FindingsBasis.TopEgress.
const maxTopEgress = 10

// FindingsConfig are the thresholds in force.
type FindingsConfig struct {
	ScanPorts    int `json:"scanPorts"`
	SweepHosts   int `json:"sweepHosts"`
	BaselineDays int `json:"baselineDays"`
	EgressFactor int `json:"egressFactor"`
	EgressMinMiB int `json:"egressMinMiB"`
}

// findingsInput is what the findings are computed from.
type findingsInput struct {
	window  Window
	signals flowrecord.Signals
	ifaces  []flowrecord.InterfaceSummary
	th      settings.Findings
	base    *baseline // nil when the run state could not be read
	ranges  *flowrecord.AWSRanges
	source  string // where ranges came from: AWSRangesFetched or AWSRangesEmbedded
	// vpcOf maps interfaces to their VPC, as EC2 describes them; an
	// interface missing from it counts under no VPC ("").
	vpcOf map[string]string
}

// buildFindings ranks what needs attention in the window and, when a
// baseline is given, adds the window's keys to today's filter and its
// egress to the history.
func buildFindings(in findingsInput) ([]Finding, FindingsBasis) {
	b := FindingsBasis{
		Thresholds: FindingsConfig(in.th),
		Baseline:   "unavailable",
		ByType:     map[string]int{},
		Approximate: in.signals.ScansApproximate || in.signals.InboundApproximate ||
			in.signals.EgressApproximate,
	}
	if in.ranges != nil {
		b.AWSRanges, b.AWSRangesSource = in.ranges.CreateDate, in.source
	}
	var fs []Finding
	fs = append(fs, scanFindings(in, in.signals.PortScans, FindingPortScan)...)
	fs = append(fs, scanFindings(in, in.signals.Sweeps, FindingSweep)...)
	egress := groupEgress(in)
	b.TopEgress = []EgressDestination{}
	for i, e := range egress {
		if e.aws == "" {
			b.EgressBytes += e.bytes
		} else {
			b.EgressAWSBytes += e.bytes
		}
		if i < maxTopEgress {
			b.TopEgress = append(b.TopEgress, EgressDestination{Dst: e.dst.String(), Bytes: e.bytes, AWS: e.aws, Interfaces: append([]string{}, e.ifaces...)})
		}
	}
	if in.base != nil {
		fs = append(fs, baselineFindings(in, egress, &b)...)
	}
	rankFindings(fs)
	b.Total = len(fs)
	for _, f := range fs {
		b.ByType[f.Type]++
	}
	return fs[:min(len(fs), MaxFindings)], b
}

// scanFindings turns the detectors' port scans or sweeps into findings:
// high from a private source (something inside scans), medium when a probe
// was accepted, low when every probe was rejected.
func scanFindings(in findingsInput, fos []flowrecord.Fanout, typ string) []Finding {
	out := make([]Finding, 0, len(fos))
	for _, fo := range fos {
		f := Finding{Type: typ, Subject: fo.Src.String(), FirstSeen: unixTime(fo.FirstStart)}
		f.Evidence = Evidence{
			Interfaces: nonEmpty(fo.InterfaceID), Records: fo.Records, Accepted: fo.Accepted,
			Rejected: fo.Rejected, Distinct: fo.Distinct, Window: in.window, Approximate: fo.MaxError > 0,
			Addresses: []string{fo.Src.String()}, Ports: []string{},
		}
		if typ == FindingPortScan {
			f.Evidence.Addresses = append(f.Evidence.Addresses, fo.Dst.String())
			f.Why = fmt.Sprintf("%s probed about %d distinct ports of %s (threshold %d) in %d records, %d accepted",
				fo.Src, fo.Distinct, fo.Dst, in.th.ScanPorts, fo.Records, fo.Accepted)
		} else {
			f.Evidence.Ports = []string{portName(fo.Port, fo.Protocol)}
			f.Why = fmt.Sprintf("%s probed %s on about %d distinct hosts (threshold %d) in %d records, %d accepted",
				fo.Src, portName(fo.Port, fo.Protocol), fo.Distinct, in.th.SweepHosts, fo.Records, fo.Accepted)
		}
		switch {
		case !flowrecord.IsPublic(fo.Src):
			f.Severity = SeverityHigh
			f.Why += "; the source is inside the network"
		case fo.Accepted > 0:
			f.Severity = SeverityMedium
		default:
			f.Severity = SeverityLow
		}
		out = append(out, f)
	}
	return out
}

// egressDest is the window's bytes to one public address.
type egressDest struct {
	dst    netip.Addr
	bytes  uint64
	ifaces []string
	aws    string // "S3 us-east-1" when in AWS's ranges
}

// groupEgress sums the detectors' (interface, destination) pairs by
// destination, the heaviest first, and tells AWS's addresses apart: by the
// record's pkt-dst-aws-service when the format had it, else by the ranges.
func groupEgress(in findingsInput) []egressDest {
	by := map[netip.Addr]*egressDest{}
	var order []*egressDest
	for _, e := range in.signals.Egress {
		d := by[e.Dst]
		if d == nil {
			d = &egressDest{dst: e.Dst}
			if r, ok := in.ranges.Lookup(e.Dst); ok {
				d.aws = r.Service + " " + r.Region
			}
			by[e.Dst] = d
			order = append(order, d)
		}
		if e.AWSService != "" && d.aws == "" {
			d.aws = e.AWSService
		}
		d.bytes += e.Bytes
		if e.InterfaceID != "" && len(d.ifaces) < 5 && !slices.Contains(d.ifaces, e.InterfaceID) {
			d.ifaces = append(d.ifaces, e.InterfaceID)
		}
	}
	out := make([]egressDest, 0, len(order))
	for _, d := range order {
		slices.Sort(d.ifaces)
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b egressDest) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), a.dst.Compare(b.dst))
	})
	return out
}

// Baseline keys: a destination from a VPC, an interface's inbound port, an
// interface.
func destKey(vpc string, a netip.Addr) string { return "d|" + vpc + "|" + a.String() }
func inboundKey(p flowrecord.InboundPort) string {
	return "p|" + p.InterfaceID + "|" + portName(p.Port, p.Protocol)
}
func ifaceKey(id string) string { return "i|" + id }

// baselineFindings checks the window against the baseline, then teaches
// it the window.
func baselineFindings(in findingsInput, egress []egressDest, b *FindingsBasis) []Finding {
	base := in.base
	warm := base.warm(in.window.From)
	b.Baseline = "learning"
	if warm {
		b.Baseline = "warm"
	}
	b.BaselineFalsePositive = base.falsePositive()
	var out []Finding
	if warm {
		out = append(out, newSinceFindings(in, egress)...)
		out = append(out, egressVolumeFinding(in, egress, b)...)
	} else if prev, ok := base.lastWeek(in.window); ok {
		b.LastWeekEgressBytes = &prev
	}
	today := base.today()
	for _, d := range vpcDestinations(in, egress) {
		today.add(destKey(d.vpc, d.dst))
	}
	for _, p := range in.signals.InboundPorts {
		today.add(inboundKey(p))
	}
	for _, it := range in.ifaces {
		if streamInterface(it.InterfaceID) == it.InterfaceID {
			today.add(ifaceKey(it.InterfaceID))
		}
	}
	base.record(in.window, b.EgressBytes, b.EgressAWSBytes)
	b.BaselineSince = base.history.Since
	return out
}

// vpcDest is the bytes the interfaces of one VPC sent to one public
// address outside AWS's ranges.
type vpcDest struct {
	vpc    string
	dst    netip.Addr
	bytes  uint64
	ifaces []string
}

// vpcDestinations groups the window's egress outside AWS's ranges by VPC
// and destination, the heaviest first.
func vpcDestinations(in findingsInput, egress []egressDest) []vpcDest {
	aws := make(map[netip.Addr]bool, len(egress))
	for _, e := range egress {
		aws[e.dst] = e.aws != ""
	}
	type key struct {
		vpc string
		dst netip.Addr
	}
	by := map[key]*vpcDest{}
	for _, e := range in.signals.Egress {
		if aws[e.Dst] {
			continue
		}
		k := key{in.vpcOf[e.InterfaceID], e.Dst}
		d := by[k]
		if d == nil {
			d = &vpcDest{vpc: k.vpc, dst: k.dst}
			by[k] = d
		}
		d.bytes += e.Bytes
		if e.InterfaceID != "" && len(d.ifaces) < 5 && !slices.Contains(d.ifaces, e.InterfaceID) {
			d.ifaces = append(d.ifaces, e.InterfaceID)
		}
	}
	out := make([]vpcDest, 0, len(by))
	for _, d := range by {
		slices.Sort(d.ifaces)
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b vpcDest) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), a.dst.Compare(b.dst), strings.Compare(a.vpc, b.vpc))
	})
	return out
}

// newSinceFindings raises what no filter of the last days holds: public
// destinations outside AWS's ranges (AWS's addresses change under every
// service and would drown the rest), inbound service ports and interfaces.
func newSinceFindings(in findingsInput, egress []egressDest) []Finding {
	base, w, days := in.base, in.window, in.th.BaselineDays
	var out []Finding
	for _, d := range vpcDestinations(in, egress) {
		if base.seen(destKey(d.vpc, d.dst)) {
			continue
		}
		from := "this log group's interfaces outside any known VPC"
		if d.vpc != "" {
			from = d.vpc
		}
		out = append(out, Finding{
			Type: FindingNewExternal, Severity: SeverityLow, Subject: d.dst.String(), FirstSeen: w.From,
			Why:      fmt.Sprintf("nothing in %s sent to %s in the last %d days; %s now", from, d.dst, days, size(d.bytes)),
			Evidence: Evidence{Interfaces: d.ifaces, Addresses: []string{d.dst.String()}, Ports: []string{}, Bytes: d.bytes, VPC: d.vpc, Window: w},
		})
	}
	for _, p := range in.signals.InboundPorts {
		if base.seen(inboundKey(p)) {
			continue
		}
		port := portName(p.Port, p.Protocol)
		out = append(out, Finding{
			Type: FindingNewInbound, Severity: SeverityMedium, Subject: p.InterfaceID + " " + port, FirstSeen: w.From,
			Why:      fmt.Sprintf("%s accepted connections on %s for the first time in %d days (%d records)", p.InterfaceID, port, days, p.Records),
			Evidence: Evidence{Interfaces: []string{p.InterfaceID}, Addresses: []string{}, Ports: []string{port}, Records: p.Records, Accepted: p.Records, Window: w},
		})
	}
	for _, it := range in.ifaces {
		if streamInterface(it.InterfaceID) != it.InterfaceID || base.seen(ifaceKey(it.InterfaceID)) {
			continue
		}
		out = append(out, Finding{
			Type: FindingNewInterface, Severity: SeverityLow, Subject: it.InterfaceID, FirstSeen: unixTime(it.FirstStart),
			Why:      fmt.Sprintf("%s had traffic for the first time in %d days: %d records, %s", it.InterfaceID, days, it.Records, size(it.Bytes)),
			Evidence: Evidence{Interfaces: []string{it.InterfaceID}, Addresses: []string{}, Ports: []string{}, Records: it.Records, Accepted: it.Accepted, Rejected: it.Rejected, Bytes: it.Bytes, Window: w},
		})
	}
	return out
}

// egressVolumeFinding compares the bytes that left to public addresses
// outside AWS's ranges with the same window a week before.
func egressVolumeFinding(in findingsInput, egress []egressDest, b *FindingsBasis) []Finding {
	prev, ok := in.base.lastWeek(in.window)
	if !ok {
		return nil
	}
	b.LastWeekEgressBytes = &prev
	now := b.EgressBytes
	floor := uint64(in.th.EgressMinMiB) << 20
	if now < floor || now <= uint64(in.th.EgressFactor)*prev {
		return nil
	}
	ev := Evidence{Interfaces: []string{}, Addresses: []string{}, Ports: []string{}, Bytes: now, LastWeekBytes: &prev, Window: in.window}
	for _, e := range egress {
		if e.aws != "" {
			continue
		}
		if len(ev.Addresses) < 5 {
			ev.Addresses = append(ev.Addresses, e.dst.String())
			for _, id := range e.ifaces {
				if !slices.Contains(ev.Interfaces, id) {
					ev.Interfaces = append(ev.Interfaces, id)
				}
			}
		}
	}
	top := "none"
	if len(ev.Addresses) > 0 {
		top = ev.Addresses[0]
	}
	return []Finding{{
		Type: FindingExfiltration, Severity: SeverityHigh, Subject: "public addresses", FirstSeen: in.window.From,
		Why: fmt.Sprintf("%s left to public addresses outside AWS's ranges, more than %d times the %s of the same window a week before (and at least %d MiB); the most to %s",
			size(now), in.th.EgressFactor, size(prev), in.th.EgressMinMiB, top),
		Evidence: ev,
	}}
}

var severityRank = map[string]int{SeverityHigh: 0, SeverityMedium: 1, SeverityLow: 2}

// rankFindings orders by severity, then type (FindingTypes), then the
// weight of the evidence, then subject: equal inputs, equal order.
func rankFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]),
			cmp.Compare(slices.Index(FindingTypes, a.Type), slices.Index(FindingTypes, b.Type)),
			cmp.Compare(b.Evidence.Bytes+b.Evidence.Distinct+b.Evidence.Records, a.Evidence.Bytes+a.Evidence.Distinct+a.Evidence.Records),
			strings.Compare(a.Subject, b.Subject),
		)
	})
}

func portName(p, proto int) string {
	return port(flowrecord.PortCount{Port: p, Protocol: proto})
}

func unixTime(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}

// shippedAWSRanges is AWS's ip-ranges.json as the binary was built with
// (make update-ip-ranges refreshes it): what a process uses when the fetch
// at cold start is off or fails (awsranges.go), for example in a VPC
// without internet egress. The digest shows which copy it used
// (FindingsBasis.AWSRanges, AWSRangesSource).
//
//go:embed ip-ranges.json
var shippedAWSRanges []byte
