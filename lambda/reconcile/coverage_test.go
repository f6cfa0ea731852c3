package reconcile_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

func vpcList(prefix, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("vpc-%08x%09x", prefix, i)
	}
	return out
}

// TestCoverageSplitsIntoParts proves that a coverage document too large for
// one CloudWatch Logs event (2,000 account-regions of 50 VPCs) is written in
// numbered parts, each a whole JSON document within the limit and carrying
// the organization's totals, and that together they hold every
// account-region once.
func TestCoverageSplitsIntoParts(t *testing.T) {
	var in []reconcile.AccountRegionCoverage
	for i := range 2000 {
		ids := vpcList(i, 50)
		in = append(in, reconcile.AccountRegionCoverage{Account: fmt.Sprintf("%012d", i/4), Region: []string{"us-east-1", "eu-west-1", "ap-south-1", "sa-east-1"}[i%4],
			Reachable: true, CoveredByUs: ids, Counts: reconcile.CoverageCounts{CoveredByUs: len(ids)}})
	}
	parts, err := reconcile.SplitCoverage(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("%d parts, want several", len(parts))
	}
	seen := map[string]bool{}
	for i, p := range parts {
		if len(p) > reconcile.MaxCoveragePartBytes {
			t.Errorf("part %d is %d bytes, more than %d", i+1, len(p), reconcile.MaxCoveragePartBytes)
		}
		var d reconcile.CoverageDocument
		if err := json.Unmarshal(p, &d); err != nil {
			t.Fatalf("part %d is not a JSON document: %v", i+1, err)
		}
		if d.Part != i+1 || d.Parts != len(parts) || d.Totals.AccountRegions != 2000 || d.Totals.VPCs.CoveredByUs != 100_000 {
			t.Errorf("part %d: part %d of %d, totals %+v", i+1, d.Part, d.Parts, d.Totals)
		}
		for _, raw := range d.AccountRegions {
			var c reconcile.AccountRegionCoverage
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			key := c.Account + "/" + c.Region
			if seen[key] {
				t.Errorf("%s in two parts", key)
			}
			seen[key] = true
		}
	}
	if len(seen) != 2000 {
		t.Errorf("%d account-regions in the parts, want 2000", len(seen))
	}
	t.Logf("2,000 account-regions of 50 VPCs: %d parts", len(parts))
}

// TestCoverageEntryBounded proves that one account-region's entry fits its
// sweep item whatever its number of VPCs and the length of AWS's reasons:
// the lists are cut, marked truncated, and the counts stay exact.
func TestCoverageEntryBounded(t *testing.T) {
	var unc []reconcile.UncoveredVPC
	for _, id := range vpcList(1, 5000) {
		unc = append(unc, reconcile.UncoveredVPC{VPCID: id, Code: "FlowLogsLimitExceeded", Reason: string(make([]byte, 256))})
	}
	c := reconcile.AccountRegionCoverage{Account: "111111111111", Region: "us-east-1", Reachable: true,
		CoveredByUs: vpcList(2, 20_000), Uncovered: unc, OutOfScope: vpcList(3, 20_000),
		Counts: reconcile.CoverageCounts{CoveredByUs: 20_000, Uncovered: 5000, OutOfScope: 20_000}}
	b, err := reconcile.EncodeCoverage(c, runstate.MaxCoverageBytes)
	if err != nil {
		t.Fatal(err)
	}
	var back reconcile.AccountRegionCoverage
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(b) > runstate.MaxCoverageBytes || !back.Truncated || back.Counts != c.Counts || len(back.CoveredByUs) == 0 {
		t.Errorf("%d bytes (limit %d), truncated %v, counts %+v, %d ids kept", len(b), runstate.MaxCoverageBytes, back.Truncated, back.Counts, len(back.CoveredByUs))
	}
}
