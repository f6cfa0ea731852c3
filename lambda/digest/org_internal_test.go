package digest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// A work message is hostile input: only the exact shape is accepted, and
// the error says what was wrong.
func TestParseWorkMessage(t *testing.T) {
	const run = "20261203T230000Z-0123456789abcdef"
	for _, tc := range []struct {
		name, body, wantErr string
	}{
		{"valid", `{"runId":"` + run + `","account":"111111111111","region":"eu-west-1"}`, ""},
		{"an unknown field", `{"runId":"` + run + `","account":"111111111111","region":"eu-west-1","sk":"x"}`, "unknown field"},
		{"a key injection in the account", `{"runId":"` + run + `","account":"111111111111#x","region":"eu-west-1"}`, "account"},
		{"a bad region", `{"runId":"` + run + `","account":"111111111111","region":"../etc"}`, "region"},
		{"a bad run id", `{"runId":"x","account":"111111111111","region":"eu-west-1"}`, "run id"},
		{"two objects", `{"runId":"` + run + `","account":"111111111111","region":"eu-west-1"}{}`, "after the JSON object"},
		{"too large", `{"runId":"` + strings.Repeat("a", 2000) + `"}`, "the limit is"},
		{"not JSON", `hello`, "decoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseWorkMessage(tc.body)
			if tc.wantErr == "" {
				if err != nil || m.RunID != run || m.Account != "111111111111" || m.Region != "eu-west-1" {
					t.Fatalf("%+v, %v", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

// An invocation that is neither an SQS event nor the schedule's is
// refused, naming its detail-type, before any call.
func TestHandleRefusesOtherEvents(t *testing.T) {
	o := &Org{}
	_, err := o.Handle(context.Background(), json.RawMessage(`{"detail-type":"Tag Change on Resource","source":"aws.tag"}`))
	if err == nil || !strings.Contains(err.Error(), "Tag Change on Resource") {
		t.Errorf("err = %v, want a refusal naming the detail-type", err)
	}
}

// The merged top list keeps Space-Saving's promise across account-regions:
// every merged count is at least the true organization-wide count and
// overstates it by at most its MaxError, however the per-account-region
// lists were cut. Checked on random traffic against an exact count.
func TestTopMergerBracketsTheTruth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name          string
		parts, keys   int
		topK          int
		wantApproxAll bool
	}{
		{"lists never cut", 5, 8, 10, false},
		{"lists cut at 10 of 200 keys", 40, 200, 10, true},
		{"one part", 1, 50, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			truth := map[int]uint64{}
			m := newTopMerger(cmp.Compare[int])
			for range tc.parts {
				counts := map[int]uint64{}
				for range 500 {
					k := int(r.ExpFloat64() * float64(tc.keys) / 3)
					if k >= tc.keys {
						k = tc.keys - 1
					}
					counts[k] += uint64(1 + r.IntN(100))
				}
				list := topOf(counts, tc.topK)
				for k, c := range counts {
					truth[k] += c
				}
				m.addList(len(list) >= tc.topK, func(yield func(int, uint64, uint64)) {
					for _, e := range list {
						yield(e.key, e.count, 0)
					}
				})
			}
			top := m.top(tc.topK)
			approx := false
			for _, e := range top {
				if e.count < truth[e.key] || e.count-e.maxErr > truth[e.key] {
					t.Errorf("key %d: merged %d ± %d, true %d", e.key, e.count, e.maxErr, truth[e.key])
				}
				approx = approx || e.maxErr > 0
			}
			if len(top) == 0 || approx != tc.wantApproxAll {
				t.Errorf("%d merged keys, approximate %v; want some, approximate %v", len(top), approx, tc.wantApproxAll)
			}
		})
	}
}

// topOf is an exact top-k of counts, largest first.
func topOf(counts map[int]uint64, k int) []merged[int] {
	m := newTopMerger(cmp.Compare[int])
	m.addList(false, func(yield func(int, uint64, uint64)) {
		for key, c := range counts {
			yield(key, c, 0)
		}
	})
	return m.top(k)
}

// An account-region's summary stays within the run state's bound however
// long its lists and reason, and says when it was cut.
func TestMemberSummaryIsBounded(t *testing.T) {
	d := &Digest{Window: Window{From: time.Unix(0, 0), To: time.Unix(3600, 0)}}
	for i := range 2000 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, byte(i >> 8), byte(i)})
		d.TopTalkers = append(d.TopTalkers, flowrecord.Talker{Src: a, Dst: a, Bytes: uint64(i)})
		d.TopRejectedSources = append(d.TopRejectedSources, flowrecord.SourceCount{Src: a, Records: uint64(i)})
		d.TopDstPorts = append(d.TopDstPorts, flowrecord.PortCount{Port: i, Protocol: 6, Records: uint64(i)})
		d.NewInterfaces.Items = append(d.NewInterfaces.Items, NewInterface{InterfaceID: fmt.Sprintf("eni-%017x", i)})
	}
	m := memberOf(d, 10)
	m.Reason = strings.Repeat("x", 100_000)
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	var back MemberSummary
	if len(b) > runstate.MaxMemberSummaryBytes || json.Unmarshal(b, &back) != nil || !back.Truncated {
		t.Errorf("%d bytes (limit %d), truncated %v", len(b), runstate.MaxMemberSummaryBytes, back.Truncated)
	}
}

// What an account-region's failure says (AWS's message, which quotes
// names others chose) and what a corrupted stored summary holds reach the
// SNS text escaped and capped, and the roll-up's counts stay whole.
func TestRollupTextEscapesHostileStrings(t *testing.T) {
	run := runstate.OrgRun{ID: "20261203T230000Z-0123456789abcdef", Accounts: []string{"111111111111", "222222222222"},
		Regions: []string{"eu-west-1"}, StartedAt: time.Unix(0, 0)}
	b := newRollupBuilder(run, "o-abcdefghij", settings.DefaultTopK, time.Unix(0, 0))
	hostile := MemberSummary{Status: StatusFailed, Class: "denied", Reason: "denied\n\nRecords: 999 (all fine)\x1b[2J\u202e" + strings.Repeat("y", 5000)}
	raw, err := hostile.encode()
	if err != nil {
		t.Fatal(err)
	}
	b.add("111111111111", "eu-west-1", raw)
	b.add("222222222222", "eu-west-1", []byte(`{"status":"digested","newInterfaceIds":["eni-0123456789abcdef0","eni-x\nFAKE"]}`))
	b.add("333333333333", "eu-west-1", []byte(`{"status":"digested"}`)) // not in the run
	r := b.rollup()
	txt := r.Text()
	for _, bad := range []string{"\n\nRecords: 999", "\x1b", "\u202e", strings.Repeat("y", 300)} {
		if strings.Contains(txt, bad) {
			t.Errorf("the text holds %q raw:\n%s", bad, txt)
		}
	}
	if !strings.Contains(txt, `\n\nRecords: 999 (all fine)\x1b[2J\u202e`) {
		t.Errorf("the reason is not shown escaped:\n%s", txt)
	}
	if r.AccountRegions != (RollupCounts{Expected: 2, Digested: 1, Failed: 1}) || len(r.ByAccount[0].New)+len(r.ByAccount[1].New) != 1 {
		t.Errorf("counts %+v, accounts %+v; want the member outside the run ignored and only the well-formed id kept", r.AccountRegions, r.ByAccount)
	}
	if n := utf8.RuneCountInString(r.Unreadable[0].Reason); n > maxMemberReason {
		t.Errorf("the stored reason is %d runes, want at most %d", n, maxMemberReason)
	}
}

// A digest marked incomplete (a window given up after failed runs) counts
// as digested, and the roll-up also lists it, with the digest's reason,
// among the account-regions whose records were not counted.
func TestRollupListsIncompleteDigests(t *testing.T) {
	run := runstate.OrgRun{ID: "20261203T230000Z-0123456789abcdef", Accounts: []string{"111111111111"}, Regions: []string{"eu-west-1"}}
	d := &Digest{Incomplete: &Incomplete{Reason: "6 runs started on this window without finishing it"}}
	m := memberOf(d, 10)
	raw, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	b := newRollupBuilder(run, "o-abcdefghij", 10, time.Unix(0, 0))
	b.add("111111111111", "eu-west-1", raw)
	r := b.rollup()
	if r.AccountRegions != (RollupCounts{Expected: 1, Digested: 1, Incomplete: 1}) || len(r.Unreadable) != 1 ||
		r.Unreadable[0].Class != "incomplete" || !strings.Contains(r.Unreadable[0].Reason, "6 runs") {
		t.Errorf("counts %+v, unreadable %+v; want the incomplete digest counted and listed with its reason", r.AccountRegions, r.Unreadable)
	}
}
