package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// DiffDigest compares one digest with the generator's expected summary of
// the same records and describes each difference; none means the digest
// says exactly what was delivered.
func DiffDigest(d digest.Digest, want flowrecord.Summary) []string {
	var diffs []string
	check := func(what string, got, exp any) {
		if !reflect.DeepEqual(got, exp) {
			g, _ := json.Marshal(got)
			e, _ := json.Marshal(exp)
			diffs = append(diffs, fmt.Sprintf("%s: digest %s, generator %s", what, g, e))
		}
	}
	check("totals", d.Totals.Totals, want.Totals)
	check("interfaces with records", d.Totals.Interfaces, len(want.Interfaces))
	check("NODATA", d.NoData, want.NoData)
	check("SKIPDATA", d.SkipData.SkipData, want.SkipData)
	check("malformed", d.Malformed.Count, want.Malformed.Count)
	check("traffic by protocol", d.ByProtocol, want.ByProtocol)
	check("top talkers", d.TopTalkers, want.TopTalkers)
	check("top destination ports", d.TopDstPorts, want.TopDstPorts)
	check("top rejected sources", d.TopRejectedSources, want.TopRejectedSources)
	for _, b := range d.BusiestInterfaces {
		w, ok := want.Interface(b.InterfaceID)
		if !ok {
			diffs = append(diffs, fmt.Sprintf("busiest interface %s: the generator wrote nothing for it", b.InterfaceID))
			continue
		}
		check("interface "+b.InterfaceID, b, w)
	}
	return diffs
}

// Sum is what digests of consecutive windows add up to: the counters that
// are exact in every digest, so that their sum over windows is exact too.
type Sum struct {
	Records, Accepted, Rejected, Bytes, Packets uint64
	AcceptedBytes, RejectedBytes                uint64
	NoData, SkipData, Malformed                 uint64
	// ByProtocol is records per protocol number.
	ByProtocol map[int]uint64
}

// SumDigests adds up digests.
func SumDigests(ds []digest.Digest) Sum {
	s := Sum{ByProtocol: map[int]uint64{}}
	for _, d := range ds {
		t := d.Totals
		s.Records += t.Records
		s.Accepted += t.Accepted
		s.Rejected += t.Rejected
		s.Bytes += t.Bytes
		s.Packets += t.Packets
		s.AcceptedBytes += t.AcceptedBytes
		s.RejectedBytes += t.RejectedBytes
		s.NoData += d.NoData.Records
		s.SkipData += d.SkipData.Records
		s.Malformed += d.Malformed.Count
		for _, p := range d.ByProtocol {
			s.ByProtocol[p.Protocol] += p.Records
		}
	}
	return s
}

// ExpectedSum is the Sum of an expected summary. The generator does not
// split bytes by action, so AcceptedBytes and RejectedBytes are left out
// of it (the caller compares their sum with Bytes).
func ExpectedSum(want flowrecord.Summary) Sum {
	s := Sum{
		Records: want.Totals.Records, Accepted: want.Totals.Accepted, Rejected: want.Totals.Rejected,
		Bytes: want.Totals.Bytes, Packets: want.Totals.Packets,
		NoData: want.NoData.Records, SkipData: want.SkipData.Records, Malformed: want.Malformed.Count,
		ByProtocol: map[int]uint64{},
	}
	for _, p := range want.ByProtocol {
		s.ByProtocol[p.Protocol] += p.Records
	}
	return s
}

// DiffSum compares the sum of digests with the expected one.
func DiffSum(got, want Sum) []string {
	var diffs []string
	if got.AcceptedBytes+got.RejectedBytes != got.Bytes {
		diffs = append(diffs, fmt.Sprintf("accepted bytes %d + rejected bytes %d != bytes %d", got.AcceptedBytes, got.RejectedBytes, got.Bytes))
	}
	got.AcceptedBytes, got.RejectedBytes = 0, 0
	if !reflect.DeepEqual(got, want) {
		diffs = append(diffs, fmt.Sprintf("digests add up to %+v, the generator wrote %+v", got, want))
	}
	return diffs
}

// Chain takes the digests in the order written and returns the distinct
// windows in time order, with how many events repeated a window already
// seen (a digest written twice, as a retried PutLogEvents whose first
// answer was lost does). It fails when two distinct windows overlap or
// leave a gap, or when a repeated window says something else.
func Chain(stored []StoredDigest) (windows []digest.Digest, repeats int, err error) {
	seen := map[string]int{}
	for _, s := range stored {
		d := s.Digest
		key := d.Window.From.String() + "/" + d.Window.To.String()
		if i, ok := seen[key]; ok {
			if !reflect.DeepEqual(windows[i].Totals, d.Totals) {
				return nil, 0, fmt.Errorf("window %s was digested twice with different totals", key)
			}
			repeats++
			continue
		}
		seen[key] = len(windows)
		windows = append(windows, d)
	}
	sort.SliceStable(windows, func(i, j int) bool { return windows[i].Window.From.Before(windows[j].Window.From) })
	for i := 1; i < len(windows); i++ {
		prev, cur := windows[i-1].Window, windows[i].Window
		if !prev.To.Equal(cur.From) {
			return nil, 0, fmt.Errorf("window %s to %s does not start where %s to %s ended", cur.From, cur.To, prev.From, prev.To)
		}
	}
	return windows, repeats, nil
}
