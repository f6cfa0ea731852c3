package flowrecord

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
)

// hostileRest completes a default-format line after its interface ID.
const hostileRest = " 10.0.0.1 10.0.0.2 443 1024 6 1 100 1418530010 1418530070 ACCEPT OK"

// TestHostileInterfaceIDsKeepMemoryBounded feeds parse and aggregate 1,000
// lines whose interface IDs are 200 KiB each and then 100,000 valid,
// distinct interface IDs, and checks that the live heap grows by less than
// 32 MiB. Whoever can write to the log group chooses these IDs; the code
// before this test kept a copy of every distinct one, 200 MiB for the long
// ones alone, and a run over moto passed 380 MiB in a 256 MB function.
func TestHostileInterfaceIDsKeepMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds 200 MiB of lines")
	}
	const (
		longLines = 1000
		longID    = 200 << 10
		distinct  = 100_000
		bound     = 32 << 20
	)
	p := NewParser(nil)
	a := NewAggregator(Options{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	line := make([]byte, 0, longID+200)
	for i := range longLines {
		line = strconv.AppendInt(append(line[:0], "2 123456789010 eni-"...), int64(i), 16)
		for len(line) < longID {
			line = append(line, 'a')
		}
		a.AddLine(p, string(append(line, hostileRest...)))
	}
	for i := range distinct {
		a.AddLine(p, fmt.Sprintf("2 123456789010 eni-%017x%s", i, hostileRest))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap grew by %.1f MiB", float64(growth)/(1<<20))
	if growth > bound {
		t.Errorf("live heap grew by %.1f MiB, want under %d MiB", float64(growth)/(1<<20), bound>>20)
	}
	s := a.Summary()
	if s.Totals.Records != distinct || s.Totals.Bytes != 100*distinct || s.Malformed.Count != longLines {
		t.Errorf("counted %d records of %d bytes and %d malformed, want %d, %d and %d",
			s.Totals.Records, s.Totals.Bytes, s.Malformed.Count, distinct, 100*distinct, longLines)
	}
	for _, smp := range s.Malformed.Samples {
		if len(smp.Line) > maxSampleLine || len(smp.Error) > 300 {
			t.Errorf("a malformed sample keeps %d bytes of line and %d of error", len(smp.Line), len(smp.Error))
		}
	}
	runtime.KeepAlive(a)
}
