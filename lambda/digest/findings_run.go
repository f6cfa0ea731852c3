package digest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

// evaluateFindings computes the window's findings from the aggregator's
// detectors and the baseline, which it loads from the run state. A
// baseline that cannot be read leaves the findings that need none (scans,
// sweeps) and says so in the basis; the run goes on, since the digest's
// counts do not depend on it. The baseline it returns, taught the window,
// is saved by saveBaseline once the window is counted.
func (s *Summarizer) evaluateFindings(ctx context.Context, agg *flowrecord.Aggregator, w Window, loaded func() (*baseline, error)) ([]Finding, *FindingsBasis, *baseline) {
	th := s.cfg.Findings
	ranges := s.awsRanges(ctx)
	base, err := loaded()
	if err != nil {
		slog.ErrorContext(ctx, "reading the findings baseline failed; new-since-baseline findings are skipped this run", "error", err)
		base = nil
	}
	summary := agg.Summary()
	signals := agg.Signals(flowrecord.Thresholds{ScanPorts: th.ScanPorts, SweepHosts: th.SweepHosts})
	fs, basis := buildFindings(findingsInput{
		window:  w,
		signals: signals,
		ifaces:  summary.Interfaces,
		th:      th,
		base:    base,
		ranges:  ranges.Ranges,
		source:  ranges.Source,
		vpcOf:   s.egressVPCs(ctx, signals, base != nil),
	})
	return fs, &basis, base
}

// maxVPCLookups bounds the interfaces described per run to find the VPC
// that data left from: DescribeNetworkInterfaces takes them in batches.
const maxVPCLookups = 1000

// egressVPCs describes the interfaces that sent to public addresses, the
// heaviest first and at most maxVPCLookups, for the VPC each is in: the
// baseline remembers destinations per VPC. Without a baseline there is
// nothing to look up; a failed call leaves every destination under no VPC
// and is logged.
func (s *Summarizer) egressVPCs(ctx context.Context, sig flowrecord.Signals, wanted bool) map[string]string {
	if !wanted {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, e := range sig.Egress {
		if e.InterfaceID != "" && !seen[e.InterfaceID] && len(ids) < maxVPCLookups {
			seen[e.InterfaceID] = true
			ids = append(ids, e.InterfaceID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	infos, err := describeInterfaces(ctx, s.ec2, ids)
	if err != nil {
		slog.ErrorContext(ctx, "describing the interfaces that sent to public addresses failed; their destinations count under no VPC", "error", err)
		return nil
	}
	out := make(map[string]string, len(infos))
	for id, info := range infos {
		if validVPCID(info.VPCID) {
			out[id] = info.VPCID
		}
	}
	return out
}

// validVPCID checks an id against AWS's shape (vpc- and 8 or 17 lower-case
// hex digits) before it becomes part of a baseline key.
func validVPCID(id string) bool {
	hex, ok := strings.CutPrefix(id, "vpc-")
	if !ok || (len(hex) != 8 && len(hex) != 17) {
		return false
	}
	for _, c := range hex {
		digit, lowerHex := '0' <= c && c <= '9', 'a' <= c && c <= 'f'
		if !digit && !lowerHex {
			return false
		}
	}
	return true
}

// startBaseline reads the baseline of the window starting at from in the
// background, while the window is read, and returns the wait for it.
func (s *Summarizer) startBaseline(ctx context.Context, from time.Time) func() (*baseline, error) {
	type result struct {
		b   *baseline
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := loadBaseline(ctx, s.state, from, s.cfg.Findings.BaselineDays)
		ch <- result{b, err}
	}()
	return sync.OnceValues(func() (*baseline, error) {
		r := <-ch
		return r.b, r.err
	})
}

// saveMargin is kept back from the Lambda deadline when saving the
// baseline, so that a slow write cannot make a counted run time out.
const saveMargin = 500 * time.Millisecond

// saveBaseline writes the baseline a run taught. Failing loses this
// window's learning only (what it saw may be reported as new again later):
// it is logged, not the run's error.
func (s *Summarizer) saveBaseline(ctx context.Context, rc runCtx, base *baseline) {
	if base == nil {
		return
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-saveMargin))
		defer cancel()
	}
	if err := base.save(ctx, s.state, rc.nonce); err != nil {
		slog.ErrorContext(ctx, "saving the findings baseline failed; this window's destinations and ports may be reported as new again", "error", err)
	}
}

// withFindingsMetrics adds to ms the digest's findings counted by type,
// one metric per type and no dimension; none for a digest whose window was
// not read.
func withFindingsMetrics(d *Digest, ms ...metrics.Metric) []metrics.Metric {
	if d.FindingsBasis == nil {
		return ms
	}
	names := map[string]string{
		FindingExfiltration: metrics.FindingsEgressVolume,
		FindingPortScan:     metrics.FindingsPortScan,
		FindingSweep:        metrics.FindingsSweep,
		FindingNewInbound:   metrics.FindingsNewInbound,
		FindingNewExternal:  metrics.FindingsNewExternal,
		FindingNewInterface: metrics.FindingsNewInterface,
	}
	for _, t := range FindingTypes {
		ms = append(ms, metrics.Metric{Name: names[t], Value: float64(d.FindingsBasis.ByType[t]), Unit: metrics.Count})
	}
	return ms
}

// findingsSummaryLine is the line under "Findings" that says what they
// rest on.
func findingsSummaryLine(b *FindingsBasis) string {
	switch b.Baseline {
	case "learning":
		return fmt.Sprintf("Baseline: learning since %s; nothing is new until it has a full day.", b.BaselineSince.UTC().Format("2006-01-02 15:04"))
	case "unavailable":
		return "Baseline: unavailable this run; only scans and sweeps were looked for."
	}
	return fmt.Sprintf("Baseline: the last %d days (since %s).", b.Thresholds.BaselineDays, b.BaselineSince.UTC().Format("2006-01-02 15:04"))
}
