package reconcile

import (
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// SplitCoverage lays out a coverage document of the given entries as
// writeCoverage does, for tests of its bounds.
func SplitCoverage(entries []AccountRegionCoverage) ([][]byte, error) {
	d := CoverageDocument{Kind: "coverage", SweepID: "20261203T000000Z-0123456789abcdef", OrganizationID: "o-abcdefghij",
		GeneratedAt: time.Unix(0, 0).UTC(), Totals: CoverageTotals{ByClass: map[org.Class]int{}}}
	for _, c := range entries {
		d.add(c)
	}
	return d.split()
}

// EncodeCoverage is an entry as stored in its sweep item.
func EncodeCoverage(c AccountRegionCoverage, limit int) ([]byte, error) { return c.encode(limit) }
