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
package flowrecordtest
