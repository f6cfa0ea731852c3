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
