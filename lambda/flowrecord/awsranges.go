package flowrecord

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
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

// ParseAWSRanges reads an ip-ranges.json document.
func ParseAWSRanges(doc []byte) (*AWSRanges, error) {
	if len(doc) > MaxAWSRangesBytes {
		return nil, fmt.Errorf("parsing AWS IP ranges: %d bytes, more than %d", len(doc), MaxAWSRangesBytes)
	}
	var raw struct {
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
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("parsing AWS IP ranges: %w", err)
	}
	r := &AWSRanges{CreateDate: raw.CreateDate, SyncToken: raw.SyncToken, byPrefix: map[netip.Prefix]awsRange{}}
	add := func(p, region, service string) error {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("parsing AWS IP ranges: prefix %q: %w", p, err)
		}
		pfx = pfx.Masked()
		// AMAZON lists every range; a named service is more specific.
		if cur, ok := r.byPrefix[pfx]; !ok || (cur.service == "AMAZON" && service != "AMAZON") ||
			(cur.service != "AMAZON" && service != "AMAZON" && service < cur.service) {
			r.byPrefix[pfx] = awsRange{prefix: pfx, service: service, region: region}
		}
		return nil
	}
	for _, p := range raw.Prefixes {
		if err := add(p.Prefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	for _, p := range raw.IPv6Prefixes {
		if err := add(p.Prefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	if len(r.byPrefix) == 0 {
		return nil, fmt.Errorf("parsing AWS IP ranges: the document (createDate %q) lists no prefix", raw.CreateDate)
	}
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
	return r, nil
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
