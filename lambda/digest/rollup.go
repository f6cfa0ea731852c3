package digest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// Statuses of an account-region in an organization run.
const (
	StatusDigested = "digested"  // a digest was written (possibly partial or incomplete)
	StatusNoWindow = "no-window" // nothing to read yet (the settle lag), or no slice finished
	StatusFailed   = "failed"    // could not be read: Class and Reason say why
)

// maxMemberReason bounds the failure reason an account-region keeps, in
// runes.
const maxMemberReason = 512

// maxMemberNewIDs bounds the new interface ids one account-region keeps for
// the roll-up; the count is always whole.
const maxMemberNewIDs = 20

// MemberSummary is the compact summary of one account-region's digest that
// the run state keeps for the roll-up (at most
// runstate.MaxMemberSummaryBytes of JSON: lists are cut to fit, and
// Truncated says so).
type MemberSummary struct {
	Status string `json:"status"`
	// Class, Code and Reason say why a failed account-region could not be
	// read (package org's classes: role-unavailable, denied,
	// region-not-enabled, throttled, other).
	Class  string `json:"class,omitempty"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Delivery is the SQS delivery that failed (its
	// ApproximateReceiveCount).
	Delivery int `json:"delivery,omitempty"`

	Window     *Window `json:"window,omitempty"`
	Incomplete bool    `json:"incomplete,omitempty"`
	Totals     Totals  `json:"totals"`
	SkipData   uint64  `json:"skipData"`
	Malformed  uint64  `json:"malformed"`

	NewInterfaces   int      `json:"newInterfaces"`
	NewInterfaceIDs []string `json:"newInterfaceIds,omitempty"`

	// TopK is the length of a full top list in the digest: a list this
	// long may have left keys out, each with at most its last count.
	TopK               int                      `json:"topK"`
	TopTalkers         []flowrecord.Talker      `json:"topTalkers,omitempty"`
	TopRejectedSources []flowrecord.SourceCount `json:"topRejectedSources,omitempty"`
	TopDstPorts        []flowrecord.PortCount   `json:"topDstPorts,omitempty"`
	Truncated          bool                     `json:"truncated,omitempty"`
}

// memberOf is the compact summary of d.
func memberOf(d *Digest, topK int) MemberSummary {
	m := MemberSummary{
		Status:             StatusDigested,
		Window:             &d.Window,
		Incomplete:         d.Incomplete != nil,
		Reason:             incompleteReason(d),
		Totals:             d.Totals,
		SkipData:           d.SkipData.Records,
		Malformed:          d.Malformed.Count,
		NewInterfaces:      d.NewInterfaces.Count,
		TopK:               topK,
		TopTalkers:         d.TopTalkers,
		TopRejectedSources: d.TopRejectedSources,
		TopDstPorts:        d.TopDstPorts,
		Truncated:          d.Truncated,
	}
	for _, n := range d.NewInterfaces.Items[:min(len(d.NewInterfaces.Items), maxMemberNewIDs)] {
		m.NewInterfaceIDs = append(m.NewInterfaceIDs, n.InterfaceID)
	}
	return m
}

func incompleteReason(d *Digest) string {
	if d.Incomplete == nil {
		return ""
	}
	return d.Incomplete.Reason
}

// encode marshals m within runstate.MaxMemberSummaryBytes, halving its
// longest list until it fits.
func (m *MemberSummary) encode() ([]byte, error) {
	m.Reason = capRunes(m.Reason, maxMemberReason)
	for range 64 {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding an account-region summary: %w", err)
		}
		if len(b) <= runstate.MaxMemberSummaryBytes {
			return b, nil
		}
		m.Truncated = true
		switch l := max(len(m.NewInterfaceIDs), len(m.TopTalkers), len(m.TopRejectedSources), len(m.TopDstPorts)); {
		case l == 0:
			m.Reason = capRunes(m.Reason, 64)
		case len(m.TopTalkers) == l:
			m.TopTalkers = m.TopTalkers[:l/2]
		case len(m.TopRejectedSources) == l:
			m.TopRejectedSources = m.TopRejectedSources[:l/2]
		case len(m.TopDstPorts) == l:
			m.TopDstPorts = m.TopDstPorts[:l/2]
		default:
			m.NewInterfaceIDs = m.NewInterfaceIDs[:l/2]
		}
	}
	return nil, fmt.Errorf("encoding an account-region summary: it does not fit in %d bytes", runstate.MaxMemberSummaryBytes)
}

// RollupKind marks the organization roll-up documents.
const RollupKind = "vpc-flow-logs-organization-rollup"

// RollupVersion is the version of the roll-up's JSON shape.
const RollupVersion = 1

// RollupStreamName is the digest group's stream of the roll-ups.
const RollupStreamName = "organization"

// Rollup is one organization run's summary: DIGEST.md ("Organization mode") describes
// every field.
type Rollup struct {
	Kind           string    `json:"kind"`
	Version        int       `json:"version"`
	RunID          string    `json:"runId"`
	OrganizationID string    `json:"organizationId"`
	StartedAt      time.Time `json:"startedAt"`
	GeneratedAt    time.Time `json:"generatedAt"`
	// Window spans the digests' windows: the earliest start, the latest
	// end. Each account-region's own window is in its digest.
	Window Window `json:"window"`

	AccountRegions RollupCounts `json:"accountRegions"`
	Totals         Totals       `json:"totals"`
	SkipData       uint64       `json:"skipData"`
	Malformed      uint64       `json:"malformed"`
	NewInterfaces  int          `json:"newInterfaces"`

	ByAccount []AccountRollup `json:"byAccount"`
	ByRegion  []RegionRollup  `json:"byRegion"`
	// LostRecords lists the accounts whose digests counted SKIPDATA.
	LostRecords []AccountCount `json:"lostRecords"`
	Unreadable  []Unreadable   `json:"unreadable"`

	TopTalkers         []flowrecord.Talker      `json:"topTalkers"`
	TopRejectedSources []flowrecord.SourceCount `json:"topRejectedSources"`
	TopDstPorts        []flowrecord.PortCount   `json:"topDstPorts"`
	// Approximate is true when a merged top list's count may overstate
	// (MaxError > 0): see DIGEST.md.
	Approximate bool `json:"approximate"`
	Truncated   bool `json:"truncated,omitempty"`
}

// RollupCounts counts the run's account-regions by outcome.
type RollupCounts struct {
	Expected int `json:"expected"`
	Digested int `json:"digested"`
	// Incomplete counts the digested account-regions whose digest is
	// marked incomplete: its window's records were not counted.
	Incomplete int `json:"incomplete"`
	NoWindow   int `json:"noWindow"`
	Failed     int `json:"failed"`
}

// AccountRollup is one account's share of the run.
type AccountRollup struct {
	Account       string         `json:"account"`
	Totals        Totals         `json:"totals"`
	SkipData      uint64         `json:"skipData"`
	NewInterfaces int            `json:"newInterfaces"`
	New           []RegionEntity `json:"newInterfaceIds"`
	Failed        int            `json:"failedRegions"`
}

// RegionEntity is an id in a region.
type RegionEntity struct {
	Region string `json:"region"`
	ID     string `json:"interfaceId"`
}

// RegionRollup is one region's share of the run.
type RegionRollup struct {
	Region        string `json:"region"`
	Totals        Totals `json:"totals"`
	SkipData      uint64 `json:"skipData"`
	NewInterfaces int    `json:"newInterfaces"`
}

// AccountCount is a count for one account.
type AccountCount struct {
	Account string `json:"account"`
	Records uint64 `json:"records"`
}

// Unreadable is an account-region whose records could not be read.
type Unreadable struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Class   string `json:"class"`
	Code    string `json:"code,omitempty"`
	Reason  string `json:"reason"`
}

// rollupBuilder merges account-region summaries one at a time.
type rollupBuilder struct {
	r        Rollup
	accounts map[string]*AccountRollup
	regions  map[string]*RegionRollup
	talkers  *topMerger[[2]netip.Addr]
	rejected *topMerger[netip.Addr]
	ports    *topMerger[[2]int]
	topK     int
	expected map[string]bool // account#region of the run
	unlisted int             // members outside the run's accounts and regions
	seen     map[string]bool
}

func newRollupBuilder(run runstate.OrgRun, orgID string, topK int, now time.Time) *rollupBuilder {
	b := &rollupBuilder{
		r: Rollup{
			Kind: RollupKind, Version: RollupVersion, RunID: run.ID, OrganizationID: orgID,
			StartedAt: run.StartedAt.UTC(), GeneratedAt: now.UTC(),
			AccountRegions: RollupCounts{Expected: run.Expected()},
		},
		accounts: map[string]*AccountRollup{},
		regions:  map[string]*RegionRollup{},
		talkers:  newTopMerger(func(a, b [2]netip.Addr) int { return cmp.Or(a[0].Compare(b[0]), a[1].Compare(b[1])) }),
		rejected: newTopMerger(netip.Addr.Compare),
		ports:    newTopMerger(func(a, b [2]int) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) }),
		topK:     topK,
		expected: map[string]bool{},
		seen:     map[string]bool{},
	}
	for _, a := range run.Accounts {
		for _, rg := range run.Regions {
			b.expected[a+"#"+rg] = true
		}
	}
	return b
}

// add merges one account-region's stored summary. A summary that does
// not decode counts the account-region as failed, with the reason.
func (b *rollupBuilder) add(account, region string, raw []byte) {
	if !b.expected[account+"#"+region] || b.seen[account+"#"+region] {
		b.unlisted++
		return
	}
	b.seen[account+"#"+region] = true
	var m MemberSummary
	if err := json.Unmarshal(raw, &m); err != nil {
		m = MemberSummary{Status: StatusFailed, Class: "other", Reason: "its stored summary does not decode: " + err.Error()}
	}
	acct := b.account(account)
	switch m.Status {
	case StatusDigested:
		b.r.AccountRegions.Digested++
		if m.Incomplete {
			b.r.AccountRegions.Incomplete++
			b.r.Unreadable = append(b.r.Unreadable, Unreadable{Account: account, Region: region, Class: "incomplete", Reason: capRunes(m.Reason, maxMemberReason)})
		}
	case StatusNoWindow:
		b.r.AccountRegions.NoWindow++
		return
	default:
		b.r.AccountRegions.Failed++
		acct.Failed++
		b.r.Unreadable = append(b.r.Unreadable, Unreadable{Account: account, Region: region, Class: capRunes(m.Class, 32), Code: capRunes(m.Code, 64), Reason: capRunes(m.Reason, maxMemberReason)})
		return
	}
	b.addDigested(acct, b.region(region), region, &m)
}

func (b *rollupBuilder) addDigested(acct *AccountRollup, reg *RegionRollup, region string, m *MemberSummary) {
	if w := m.Window; w != nil {
		if b.r.Window.From.IsZero() || w.From.Before(b.r.Window.From) {
			b.r.Window.From = w.From
		}
		if w.To.After(b.r.Window.To) {
			b.r.Window.To = w.To
		}
	}
	for _, t := range []*Totals{&b.r.Totals, &acct.Totals, &reg.Totals} {
		addTotals(t, m.Totals)
	}
	b.r.SkipData += m.SkipData
	acct.SkipData += m.SkipData
	reg.SkipData += m.SkipData
	b.r.Malformed += m.Malformed
	b.r.NewInterfaces += m.NewInterfaces
	acct.NewInterfaces += m.NewInterfaces
	reg.NewInterfaces += m.NewInterfaces
	for _, id := range m.NewInterfaceIDs[:min(len(m.NewInterfaceIDs), maxMemberNewIDs)] {
		if id != "" && streamInterface(id) == id { // stored by us, checked again: it becomes output
			acct.New = append(acct.New, RegionEntity{Region: region, ID: id})
		}
	}
	full := m.TopK > 0
	b.talkers.addList(len(m.TopTalkers) >= m.TopK && full, func(yield func([2]netip.Addr, uint64, uint64)) {
		for _, x := range m.TopTalkers {
			yield([2]netip.Addr{x.Src, x.Dst}, x.Bytes, x.MaxError)
		}
	})
	b.rejected.addList(len(m.TopRejectedSources) >= m.TopK && full, func(yield func(netip.Addr, uint64, uint64)) {
		for _, x := range m.TopRejectedSources {
			yield(x.Src, x.Records, x.MaxError)
		}
	})
	b.ports.addList(len(m.TopDstPorts) >= m.TopK && full, func(yield func([2]int, uint64, uint64)) {
		for _, x := range m.TopDstPorts {
			yield([2]int{x.Port, x.Protocol}, x.Records, x.MaxError)
		}
	})
}

func addTotals(t *Totals, o Totals) {
	t.Records += o.Records
	t.Accepted += o.Accepted
	t.Rejected += o.Rejected
	t.Bytes += o.Bytes
	t.Packets += o.Packets
	t.AcceptedBytes += o.AcceptedBytes
	t.RejectedBytes += o.RejectedBytes
	t.Interfaces += o.Interfaces
	if o.FirstStart != 0 && (t.FirstStart == 0 || o.FirstStart < t.FirstStart) {
		t.FirstStart = o.FirstStart
	}
	t.LastEnd = max(t.LastEnd, o.LastEnd)
}

func (b *rollupBuilder) account(id string) *AccountRollup {
	a, ok := b.accounts[id]
	if !ok {
		a = &AccountRollup{Account: id}
		b.accounts[id] = a
	}
	return a
}

func (b *rollupBuilder) region(id string) *RegionRollup {
	r, ok := b.regions[id]
	if !ok {
		r = &RegionRollup{Region: id}
		b.regions[id] = r
	}
	return r
}

// missing records as failed every account-region of the run that has no
// summary: its message is still being retried (attempts holds the last
// failed delivery's outcome, by account#region), or went to the
// dead-letter queue without the function recording it (a crash or a
// timeout).
func (b *rollupBuilder) missing(attempts map[string]MemberSummary) {
	for _, k := range slices.Sorted(mapKeys(b.expected)) {
		if b.seen[k] {
			continue
		}
		account, region, _ := strings.Cut(k, "#")
		b.r.AccountRegions.Failed++
		b.account(account).Failed++
		u := Unreadable{Account: account, Region: region, Class: "other",
			Reason: "no outcome was recorded: its message is still in flight or in the dead-letter queue"}
		if a, ok := attempts[k]; ok {
			u.Class, u.Code = capRunes(a.Class, 32), capRunes(a.Code, 64)
			u.Reason = capRunes(fmt.Sprintf("still being retried after delivery %d failed: %s", a.Delivery, a.Reason), maxMemberReason)
		}
		b.r.Unreadable = append(b.r.Unreadable, u)
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// rollup finishes the document: lists sorted, top lists cut to topK.
func (b *rollupBuilder) rollup() Rollup {
	r := b.r
	for _, a := range b.accounts {
		slices.SortFunc(a.New, func(x, y RegionEntity) int {
			return cmp.Or(strings.Compare(x.Region, y.Region), strings.Compare(x.ID, y.ID))
		})
		if a.New == nil {
			a.New = []RegionEntity{}
		}
		r.ByAccount = append(r.ByAccount, *a)
		if a.SkipData > 0 {
			r.LostRecords = append(r.LostRecords, AccountCount{Account: a.Account, Records: a.SkipData})
		}
	}
	// The busiest accounts first: when the document must be cut, they stay.
	slices.SortFunc(r.ByAccount, func(x, y AccountRollup) int {
		return cmp.Or(cmp.Compare(y.Totals.Bytes, x.Totals.Bytes), strings.Compare(x.Account, y.Account))
	})
	for _, rg := range b.regions {
		r.ByRegion = append(r.ByRegion, *rg)
	}
	slices.SortFunc(r.ByRegion, func(x, y RegionRollup) int { return strings.Compare(x.Region, y.Region) })
	slices.SortFunc(r.LostRecords, func(x, y AccountCount) int {
		return cmp.Or(cmp.Compare(y.Records, x.Records), strings.Compare(x.Account, y.Account))
	})
	slices.SortFunc(r.Unreadable, func(x, y Unreadable) int {
		return cmp.Or(strings.Compare(x.Account, y.Account), strings.Compare(x.Region, y.Region))
	})
	b.topLists(&r)
	r.normalize()
	return r
}

func (b *rollupBuilder) topLists(r *Rollup) {
	for _, e := range b.talkers.top(b.topK) {
		r.TopTalkers = append(r.TopTalkers, flowrecord.Talker{Src: e.key[0], Dst: e.key[1], Bytes: e.count, MaxError: e.maxErr})
		r.Approximate = r.Approximate || e.maxErr > 0
	}
	for _, e := range b.rejected.top(b.topK) {
		r.TopRejectedSources = append(r.TopRejectedSources, flowrecord.SourceCount{Src: e.key, Records: e.count, MaxError: e.maxErr})
		r.Approximate = r.Approximate || e.maxErr > 0
	}
	for _, e := range b.ports.top(b.topK) {
		r.TopDstPorts = append(r.TopDstPorts, flowrecord.PortCount{Port: e.key[0], Protocol: e.key[1], Records: e.count, MaxError: e.maxErr})
		r.Approximate = r.Approximate || e.maxErr > 0
	}
}

func (r *Rollup) normalize() {
	if r.ByAccount == nil {
		r.ByAccount = []AccountRollup{}
	}
	if r.ByRegion == nil {
		r.ByRegion = []RegionRollup{}
	}
	if r.LostRecords == nil {
		r.LostRecords = []AccountCount{}
	}
	if r.Unreadable == nil {
		r.Unreadable = []Unreadable{}
	}
	if r.TopTalkers == nil {
		r.TopTalkers = []flowrecord.Talker{}
	}
	if r.TopRejectedSources == nil {
		r.TopRejectedSources = []flowrecord.SourceCount{}
	}
	if r.TopDstPorts == nil {
		r.TopDstPorts = []flowrecord.PortCount{}
	}
}

// encode marshals the roll-up within limit bytes, halving its longest
// list until it fits; the counts stay whole and Truncated says so. The
// unreadable account-regions are cut last: they are what an operator acts
// on.
func (r *Rollup) encode(limit int) ([]byte, error) {
	for range 64 {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encoding the roll-up: %w", err)
		}
		if len(b) <= limit {
			return b, nil
		}
		r.Truncated = true
		if !r.shrink() {
			break
		}
	}
	return nil, fmt.Errorf("encoding the roll-up: it does not fit in %d bytes even with every list cut", limit)
}

func (r *Rollup) shrink() bool {
	longest := 0
	for _, a := range r.ByAccount {
		longest = max(longest, len(a.New))
	}
	if longest > 1 {
		// Every account's list at once, so that the cuts take a few
		// rounds, not one per account.
		for i := range r.ByAccount {
			a := &r.ByAccount[i]
			a.New = a.New[:min(len(a.New), longest/2)]
		}
		return true
	}
	switch {
	case len(r.ByAccount) > 1:
		r.ByAccount = r.ByAccount[:len(r.ByAccount)/2]
	case len(r.LostRecords) > 1:
		r.LostRecords = r.LostRecords[:len(r.LostRecords)/2]
	case len(r.Unreadable) > 1:
		r.Unreadable = r.Unreadable[:len(r.Unreadable)/2]
	default:
		return false
	}
	return true
}
