package flowrecord_test

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// TestAWSRanges checks lookups in the trimmed copy of AWS's document: a
// named service wins over AMAZON, the most specific prefix wins, IPv6 and
// IPv4-mapped addresses are found, and others are not AWS's.
func TestAWSRanges(t *testing.T) {
	doc, err := os.ReadFile("testdata/ip-ranges.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := flowrecord.ParseAWSRanges(doc)
	if err != nil {
		t.Fatal(err)
	}
	if r.CreateDate != "2022-11-11-02-33-09" {
		t.Errorf("createDate %q", r.CreateDate)
	}
	for _, tt := range []struct {
		name, addr, service, region string
	}{
		{"S3 over AMAZON", "52.217.1.2", "S3", "us-east-1"},
		{"EC2 over AMAZON", "107.22.9.9", "EC2", "us-east-1"},
		{"AMAZON only", "52.53.0.1", "AMAZON", "us-west-1"},
		{"IPv6", "2a05:d07a:a0ff::1", "S3", "eu-south-1"},
		{"IPv4-mapped", "::ffff:54.231.10.10", "S3", "us-east-1"},
		{"not AWS", "198.51.100.200", "", ""},
		{"edge of a prefix", "52.218.0.0", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := r.Lookup(netip.MustParseAddr(tt.addr))
			if ok != (tt.service != "") || got.Service != tt.service || got.Region != tt.region {
				t.Errorf("Lookup(%s) = %+v, %v; want %s %s", tt.addr, got, ok, tt.service, tt.region)
			}
		})
	}
	for _, bad := range []string{`{`, `{"prefixes":[]}`, `{"prefixes":[{"ip_prefix":"3.5.140.0/33"}]}`} {
		if _, err := flowrecord.ParseAWSRanges([]byte(bad)); err == nil || !strings.Contains(err.Error(), "AWS IP ranges") {
			t.Errorf("ParseAWSRanges(%s): error %v", bad, err)
		}
	}
}

// TestParseAWSRangesRefuses proves that a document not of AWS's shape is
// refused as a whole, with an error naming what is wrong, since the
// document may come from the network: each case breaks one rule.
func TestParseAWSRangesRefuses(t *testing.T) {
	const head = `"syncToken":"1668133989","createDate":"2022-11-11-02-33-09"`
	v4 := func(p, service, region string) string {
		return `{` + head + `,"prefixes":[{"ip_prefix":"` + p + `","region":"` + region + `","service":"` + service + `"}]}`
	}
	for _, tt := range []struct{ name, doc, want string }{
		{"not JSON", `{`, "unexpected end"},
		{"an array", `[]`, "cannot unmarshal array"},
		{"no syncToken", `{"createDate":"2022-11-11-02-33-09","prefixes":[{"ip_prefix":"3.5.140.0/22","region":"x","service":"S3"}]}`, `syncToken ""`},
		{"syncToken not digits", `{"syncToken":"12a","createDate":"2022-11-11-02-33-09"}`, `syncToken "12a"`},
		{"no createDate", `{"syncToken":"1"}`, `createDate ""`},
		{"createDate not AWS's form", `{"syncToken":"1","createDate":"2022-11-11T02:33:09Z"}`, `createDate "2022-11-11T02:33:09Z"`},
		{"createDate with a control byte", `{"syncToken":"1","createDate":"2022-11-11-02-33-0\u001b"}`, `createDate "2022-11-11-02-33-0\x1b"`},
		{"no prefix", `{` + head + `,"prefixes":[],"ipv6_prefixes":[]}`, "lists no prefix"},
		{"bits out of range", v4("3.5.140.0/33", "S3", "us-east-1"), `prefixes[0]: prefix "3.5.140.0/33"`},
		{"not a CIDR", v4("3.5.140.0", "S3", "us-east-1"), `prefixes[0]: prefix "3.5.140.0"`},
		{"IPv6 under prefixes", v4("2a05:d07a:a000::/40", "S3", "eu-south-1"), "an IPv6 prefix under prefixes"},
		{"IPv4 under ipv6_prefixes", `{` + head + `,"ipv6_prefixes":[{"ipv6_prefix":"3.5.140.0/22","region":"x","service":"S3"}]}`, "ipv6_prefixes[0]: prefix 3.5.140.0/22: an IPv4 prefix"},
		{"service with markup", v4("3.5.140.0/22", "<b>S3</b>", "us-east-1"), `service "<b>S3</b>"`},
		{"empty region", v4("3.5.140.0/22", "S3", ""), `region ""`},
		{"long service is clipped", v4("3.5.140.0/22", strings.Repeat("S", 5000), "us-east-1"), `service "` + strings.Repeat("S", 64) + `..."`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := flowrecord.ParseAWSRanges([]byte(tt.doc))
			if err == nil {
				t.Fatalf("parsed (%d prefixes); want an error saying %q", r.Len(), tt.want)
			}
			if !strings.Contains(err.Error(), "parsing AWS IP ranges") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q; want one saying %q", err, tt.want)
			}
		})
	}
	big := make([]byte, flowrecord.MaxAWSRangesBytes+1)
	if _, err := flowrecord.ParseAWSRanges(big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a document over the cap: error %v", err)
	}
}
