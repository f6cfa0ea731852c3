package flowrecord

import "testing"

// floodLines returns n default-format REJECT lines from the sources of one
// /48 that collidingIPv6 chooses: under the unseeded fold the address hash
// once applied, all of them hashed alike.
func floodLines(n int) []string {
	lines := make([]string, 0, n)
	for _, src := range collidingIPv6(n) {
		lines = append(lines, "2 123456789010 eni-1235b8ca123456789 "+src.String()+" 2001:db8:ffff::1 40000 22 6 1 60 1418530010 1418530070 REJECT OK")
	}
	return lines
}

// BenchmarkIPv6Flood times parse plus aggregate over 10,000 such sources:
// about 13,400 ns a record with the unseeded fold, 245 ns with the seeded
// hashes, close to BenchmarkParseAggregate's ordinary lines.
func BenchmarkIPv6Flood(b *testing.B) {
	lines := floodLines(10_000)
	p := NewParser(nil)
	a := NewAggregator(Options{})
	for _, l := range lines {
		a.AddLine(p, l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.AddLine(p, lines[i%len(lines)])
	}
	reportRate(b)
}

// reportRate adds records a second to a benchmark that handles one record
// per iteration.
func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
