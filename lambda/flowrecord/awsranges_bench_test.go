package flowrecord_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// realisticAWSRanges is a document of the real one's size and shape
// (about 2 MB: some 10,000 IPv4 prefixes of /8 to /32 and 8,000 IPv6 of
// /24 to /64, each listed under AMAZON and half again under a service),
// made up, since the tests have no network; and addresses to look up, a
// quarter of them inside a prefix.
func realisticAWSRanges(tb testing.TB) ([]byte, []netip.Addr) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(14, 4))
	type p4 struct {
		P string `json:"ip_prefix"`
		R string `json:"region"`
		S string `json:"service"`
		N string `json:"network_border_group"`
	}
	type p6 struct {
		P string `json:"ipv6_prefix"`
		R string `json:"region"`
		S string `json:"service"`
		N string `json:"network_border_group"`
	}
	services := []string{"EC2", "S3", "CLOUDFRONT", "ROUTE53_HEALTHCHECKS", "DYNAMODB", "API_GATEWAY"}
	var v4 []p4
	var v6 []p6
	var addrs []netip.Addr
	for i := range 10_000 {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		pfx := netip.PrefixFrom(a, 8+rng.IntN(25)).Masked()
		v4 = append(v4, p4{pfx.String(), "us-east-1", "AMAZON", "us-east-1"})
		if i%2 == 0 {
			v4 = append(v4, p4{pfx.String(), "us-east-1", services[i%len(services)], "us-east-1"})
		}
		if i%4 == 0 {
			addrs = append(addrs, a)
		}
	}
	for i := range 8_000 {
		var b [16]byte
		b[0], b[1] = 0x2a, 0x05
		for j := 2; j < 8; j++ {
			b[j] = byte(rng.IntN(256))
		}
		pfx := netip.PrefixFrom(netip.AddrFrom16(b), 24+rng.IntN(41)).Masked()
		v6 = append(v6, p6{pfx.String(), "eu-west-1", "AMAZON", "eu-west-1"})
		if i%2 == 0 {
			v6 = append(v6, p6{pfx.String(), "eu-west-1", services[i%len(services)], "eu-west-1"})
		}
	}
	for range 3 * len(addrs) { // three outside AWS (most likely) for each inside
		addrs = append(addrs, netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}))
	}
	doc, err := json.Marshal(map[string]any{"syncToken": "1764547200", "createDate": "2025-12-01-00-00-00", "prefixes": v4, "ipv6_prefixes": v6})
	if err != nil {
		tb.Fatal(err)
	}
	return doc, addrs
}

// BenchmarkAWSRangesLookup is one lookup in a document of the real one's
// size: the findings look up each distinct public destination once per
// run, never each record; it must not allocate.
func BenchmarkAWSRangesLookup(b *testing.B) {
	doc, addrs := realisticAWSRanges(b)
	r, err := flowrecord.ParseAWSRanges(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	found := 0
	i := 0
	for b.Loop() {
		if _, ok := r.Lookup(addrs[i%len(addrs)]); ok {
			found++
		}
		i++
	}
	if found == 0 {
		b.Fatal("no address found: the benchmark measures misses only")
	}
}

// BenchmarkParseAWSRanges is the cold start's cost of a document of the
// real one's size, once per process.
func BenchmarkParseAWSRanges(b *testing.B) {
	doc, _ := realisticAWSRanges(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := flowrecord.ParseAWSRanges(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAWSRangesLookupAllocs proves a lookup allocates nothing, in a
// document of the real one's size, hit or miss.
func TestAWSRangesLookupAllocs(t *testing.T) {
	doc, addrs := realisticAWSRanges(t)
	r, err := flowrecord.ParseAWSRanges(doc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes, %d distinct prefixes", len(doc), r.Len())
	i := 0
	if n := testing.AllocsPerRun(1000, func() { r.Lookup(addrs[i%len(addrs)]); i++ }); n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
}
