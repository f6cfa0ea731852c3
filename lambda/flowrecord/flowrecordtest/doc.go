// Package flowrecordtest writes flow log records for tests and benchmarks,
// as net/http/httptest serves HTTP for tests: support code that the shipped
// binaries do not link.
//
// A Generator writes realistic lines of any format (many interfaces, a
// skewed distribution of peers and ports, a share of rejects, NODATA,
// SKIPDATA and IPv6 records, optionally malformed lines), deterministically
// from a seed and one line at a time. It tallies what it wrote with code of
// its own, built on flowrecord's exported types only, and Expected returns
// the exact Summary an Aggregator must give for those lines.
//
// The Generator also plants behaviours a digest must raise, each at a
// given time and with the subject a report must name (planted.go): a port
// scan, a sweep from inside, a new external destination, an exfiltration
// burst and a new inbound port.
package flowrecordtest
