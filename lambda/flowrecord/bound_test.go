package flowrecord

import (
	"fmt"
	"testing"
)

// ifaceLine is a default-format line of interface i with the given bytes.
func ifaceLine(i int, bytes int) string {
	return fmt.Sprintf("2 123456789010 eni-%017x 10.0.0.%d 10.0.1.1 443 %d 6 1 %d 1418530010 1418530070 ACCEPT OK", i, i%250+1, 1024+i%7, bytes)
}

// TestMergeRespectsInterfaceBound merges aggregators whose interfaces
// together pass the bound: the merged one lists no more than the bound,
// the interfaces one pass would list, and the same totals.
func TestMergeRespectsInterfaceBound(t *testing.T) {
	opts := Options{MaxInterfaces: 100}
	// The first part sees interfaces 0-59, the second 30-89 and then 90-159
	// (past the bound together), the third 0-9 again.
	var parts [][]string
	for _, r := range [][2]int{{0, 60}, {30, 160}, {0, 10}} {
		var lines []string
		for i := r[0]; i < r[1]; i++ {
			lines = append(lines, ifaceLine(i, 1000+i))
		}
		parts = append(parts, lines)
	}
	single := NewAggregator(opts)
	p := NewParser(nil)
	var merged *Aggregator
	for _, lines := range parts {
		part := NewAggregator(opts)
		for _, l := range lines {
			single.AddLine(p, l)
			part.AddLine(p, l)
		}
		if merged == nil {
			merged = part
		} else {
			merged.Merge(part)
		}
	}
	s := merged.Summary()
	diffSummaries(t, s, single.Summary())
	if len(s.Interfaces) != 100 || s.InterfaceOverflow.Records != 60 {
		t.Errorf("%d interfaces listed and %d records in overflow, want 100 and 60", len(s.Interfaces), s.InterfaceOverflow.Records)
	}
	if _, ok := s.Interface(fmt.Sprintf("eni-%017x", 99)); !ok {
		t.Error("the 100th interface seen is not listed")
	}
}
