package flowrecordtest_test

import (
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

func TestGeneratorRecords(t *testing.T) {
	const start, span = 1_800_000_000, 7200
	g := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 9, Records: 50_000, StartTime: start, Span: span, Interfaces: 12})
	p := flowrecord.NewParser(g.Format())
	var r flowrecord.Record
	var lines []string
	var sawV6, sawNoData, sawSkip, sawReject bool
	lastStart := map[string]int64{}
	for g.Next() {
		line := g.Line()
		lines = append(lines, line)
		if err := p.Parse(line, &r); err != nil {
			t.Fatalf("generated line %q: %v", line, err)
		}
		if r.InterfaceID != g.InterfaceID() {
			t.Fatalf("line of %s reported as %s", r.InterfaceID, g.InterfaceID())
		}
		if r.Start < start || r.End > start+span || r.Start > r.End {
			t.Fatalf("window %d-%d outside [%d, %d] or reversed", r.Start, r.End, start, start+span)
		}
		// Within a stream, windows move forward as AWS writes them,
		// give or take the jitter of one aggregation interval.
		if r.Start+60 < lastStart[r.InterfaceID] {
			t.Fatalf("%s went back in time: %d after %d", r.InterfaceID, r.Start, lastStart[r.InterfaceID])
		}
		lastStart[r.InterfaceID] = max(lastStart[r.InterfaceID], r.Start)
		sawV6 = sawV6 || r.SrcAddr.Is6()
		sawNoData = sawNoData || r.LogStatus == flowrecord.StatusNoData
		sawSkip = sawSkip || r.LogStatus == flowrecord.StatusSkipData
		sawReject = sawReject || r.Action == flowrecord.ActionReject
	}
	if !sawV6 || !sawNoData || !sawSkip || !sawReject {
		t.Errorf("missing kinds of records: IPv6 %v, NODATA %v, SKIPDATA %v, REJECT %v", sawV6, sawNoData, sawSkip, sawReject)
	}
	if len(lastStart) != 12 {
		t.Errorf("%d interfaces wrote, want 12", len(lastStart))
	}
	again := flowrecordtest.NewGenerator(flowrecordtest.Config{Seed: 9, Records: 50_000, StartTime: start, Span: span, Interfaces: 12})
	for i := 0; again.Next(); i++ {
		if again.Line() != lines[i] {
			t.Fatalf("line %d differs between two generators with one seed", i)
		}
	}
	if len(g.InterfaceIDs()) != 12 {
		t.Errorf("InterfaceIDs() = %v", g.InterfaceIDs())
	}
}
