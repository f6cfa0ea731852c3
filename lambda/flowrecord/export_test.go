package flowrecord

import "testing"

// Exports for the tests of package flowrecord_test, which read lines from
// package flowrecordtest's generator; that package imports this one, so
// those tests cannot live inside it.

const WideV5Format = wideV5Format

var (
	AllV11Format  = allV11Format
	MustFormat    = mustFormat
	DiffSummaries = diffSummaries
	ReportRate    = reportRate
)

// CheckFastPath fails t unless the fast path parses line and the general
// path reads it into the same record.
func CheckFastPath(t *testing.T, p *Parser, line string) {
	t.Helper()
	var fast, general Record
	fast.reset(p.format)
	buf := append([]byte(line), pad[:]...)
	if !p.parseFast(line, buf, &fast) {
		t.Fatalf("format %.40q...: fast path gives up on %q", p.format, line)
	}
	fast.line = line
	if !parseGeneralOnly(p, line, &general) {
		t.Fatalf("general path fails on %q: %v", line, p.fail.toError())
	}
	checkRecord(t, &fast, &general)
}
