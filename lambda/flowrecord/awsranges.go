package flowrecord

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// AWSRanges tells AWS's published address ranges (the ip-ranges.json
// document, https://ip-ranges.amazonaws.com/ip-ranges.json) apart from the
// rest of the internet. A prefix listed under several services (every
// range is also under AMAZON) takes its most specific service: the one
// that is not AMAZON, when there is one.
type AWSRanges struct {
	// CreateDate and SyncToken are the document's, to show which copy a
	// digest used.
	CreateDate   string
	SyncToken    string
	byPrefix     map[netip.Prefix]awsRange
	bits4, bits6 []int // the prefix lengths in use, longest first
}

type awsRange struct {
	prefix          netip.Prefix
	service, region string
}

// MaxAWSRangesBytes bounds the document: today's is about 2 MB.
const MaxAWSRangesBytes = 16 << 20

// AWSRange is what a lookup found.
type AWSRange struct {
	Prefix  netip.Prefix `json:"prefix"`
	Service string       `json:"service"`
	Region  string       `json:"region"`
}

// ParseAWSRanges reads an ip-ranges.json document. The document may come
// from the network (lambda/digest/awsranges.go), so it is checked against
// AWS's shape before any of it is used or shown: a syncToken of digits, a
// createDate of the form YYYY-MM-DD-hh-mm-ss, at least one prefix, IPv4
// CIDRs under prefixes and IPv6 CIDRs under ipv6_prefixes, and short
// service and region names of letters, digits, '-' and '_'. The error
// names the first thing that is wrong.
func ParseAWSRanges(doc []byte) (*AWSRanges, error) {
	if len(doc) > MaxAWSRangesBytes {
		return nil, fmt.Errorf("parsing AWS IP ranges: %d bytes, more than %d", len(doc), MaxAWSRangesBytes)
	}
	var raw rawAWSRanges
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("parsing AWS IP ranges: %w", err)
	}
	if err := raw.checkHeader(); err != nil {
		return nil, fmt.Errorf("parsing AWS IP ranges: %w", err)
	}
	r := &AWSRanges{CreateDate: raw.CreateDate, SyncToken: raw.SyncToken, byPrefix: map[netip.Prefix]awsRange{}}
	for i, p := range raw.Prefixes {
		if err := r.add(p.Prefix, p.Region, p.Service, false); err != nil {
			return nil, fmt.Errorf("parsing AWS IP ranges: prefixes[%d]: %w", i, err)
		}
	}
	for i, p := range raw.IPv6Prefixes {
		if err := r.add(p.Prefix, p.Region, p.Service, true); err != nil {
			return nil, fmt.Errorf("parsing AWS IP ranges: ipv6_prefixes[%d]: %w", i, err)
		}
	}
	if len(r.byPrefix) == 0 {
		return nil, fmt.Errorf("parsing AWS IP ranges: the document (createDate %q) lists no prefix", raw.CreateDate)
	}
	r.indexLengths()
	return r, nil
}

// rawAWSRanges is the document as AWS publishes it; fields it has that
// the lookup does not need (network_border_group) are not read.
type rawAWSRanges struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		Prefix  string `json:"ip_prefix"`
		Region  string `json:"region"`
		Service string `json:"service"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		Prefix  string `json:"ipv6_prefix"`
		Region  string `json:"region"`
		Service string `json:"service"`
	} `json:"ipv6_prefixes"`
}

// awsCreateDateLayout is createDate's form, in UTC.
const awsCreateDateLayout = "2006-01-02-15-04-05"

// maxAWSNameLen bounds a service or region name (the longest AWS uses
// today, CLOUDFRONT_ORIGIN_FACING, has 24 characters).
const maxAWSNameLen = 64

func (raw *rawAWSRanges) checkHeader() error {
	if raw.SyncToken == "" || len(raw.SyncToken) > 20 || strings.Trim(raw.SyncToken, "0123456789") != "" {
		return fmt.Errorf("syncToken %q: want 1 to 20 digits", clip(raw.SyncToken))
	}
	if _, err := time.Parse(awsCreateDateLayout, raw.CreateDate); err != nil {
		return fmt.Errorf("createDate %q: want YYYY-MM-DD-hh-mm-ss", clip(raw.CreateDate))
	}
	return nil
}

// add indexes one prefix. AMAZON lists every range; a named service is
// more specific, and of two named services the first by name wins, so
// that the result does not depend on the document's order.
func (r *AWSRanges) add(p, region, service string, want6 bool) error {
	pfx, err := netip.ParsePrefix(p)
	if err != nil {
		return fmt.Errorf("prefix %q: %w", clip(p), err)
	}
	switch is6 := pfx.Addr().Is6(); {
	case is6 && !want6:
		return fmt.Errorf("prefix %s: an IPv6 prefix under prefixes", p)
	case !is6 && want6:
		return fmt.Errorf("prefix %s: an IPv4 prefix under ipv6_prefixes", p)
	}
	if !validAWSName(service) {
		return fmt.Errorf("prefix %s: service %q: want 1 to %d letters, digits, '-' or '_'", p, clip(service), maxAWSNameLen)
	}
	if !validAWSName(region) {
		return fmt.Errorf("prefix %s: region %q: want 1 to %d letters, digits, '-' or '_'", p, clip(region), maxAWSNameLen)
	}
	pfx = pfx.Masked()
	if cur, ok := r.byPrefix[pfx]; !ok || (cur.service == "AMAZON" && service != "AMAZON") ||
		(cur.service != "AMAZON" && service != "AMAZON" && service < cur.service) {
		r.byPrefix[pfx] = awsRange{prefix: pfx, service: service, region: region}
	}
	return nil
}

func validAWSName(s string) bool {
	if s == "" || len(s) > maxAWSNameLen {
		return false
	}
	for _, c := range s {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error: a hostile document must not
// make the log line as large as itself.
func clip(s string) string {
	const maxQuoted = 64
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "..."
}

// indexLengths lists the prefix lengths in use per family, longest first:
// Lookup tries only these.
func (r *AWSRanges) indexLengths() {
	seen := map[int]bool{}
	for p := range r.byPrefix {
		key := p.Bits()
		if p.Addr().Is6() {
			key += 1000
		}
		if !seen[key] {
			seen[key] = true
			if p.Addr().Is4() {
				r.bits4 = append(r.bits4, p.Bits())
			} else {
				r.bits6 = append(r.bits6, p.Bits())
			}
		}
	}
	slices.SortFunc(r.bits4, func(a, b int) int { return b - a })
	slices.SortFunc(r.bits6, func(a, b int) int { return b - a })
}

// Lookup returns the most specific AWS range holding a, preferring a named
// service over AMAZON, and false when a is not in AWS's ranges: one map
// lookup per prefix length the document uses (about twenty).
func (r *AWSRanges) Lookup(a netip.Addr) (AWSRange, bool) {
	if r == nil || !a.IsValid() {
		return AWSRange{}, false
	}
	a = a.Unmap()
	lengths := r.bits4
	if a.Is6() {
		lengths = r.bits6
	}
	for _, bits := range lengths { // longest first
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if x, ok := r.byPrefix[p]; ok {
			return AWSRange{Prefix: x.prefix, Service: x.service, Region: x.region}, true
		}
	}
	return AWSRange{}, false
}

// Len is the number of distinct prefixes.
func (r *AWSRanges) Len() int { return len(r.byPrefix) }
