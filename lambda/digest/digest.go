package digest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// DigestKind marks the JSON documents this package writes.
const DigestKind = "vpc-flow-logs-digest"

// DigestVersion is the version of the digest's JSON shape.
const DigestVersion = 1

// MaxDigestBytes bounds a digest's JSON: the CloudWatch Logs event limit of
// 256 KB (262,144 bytes) less the 26 bytes of per-event overhead, with room
// to spare. Lists are cut until a digest fits.
const MaxDigestBytes = 256*1024 - 26 - 2*1024

// Digest is the JSON document one run writes to the summary log group.
// DIGEST.md describes every field with an example.
type Digest struct {
	Kind        string    `json:"kind"`
	Version     int       `json:"version"`
	LogGroup    string    `json:"logGroup"`
	GeneratedAt time.Time `json:"generatedAt"`
	Window      Window    `json:"window"`
	// Run names the run that wrote the digest; see RunInfo.
	Run RunInfo `json:"run"`
	// Gap, when set, is event time before the window that no digest
	// counts: the checkpoint was older than the catch-up limit.
	Gap *Gap `json:"gap,omitempty"`
	// Incomplete, when set, says that the window's records were not
	// counted: runs kept failing on it.
	Incomplete *Incomplete `json:"incomplete,omitempty"`

	// Account, Region and OrgRun are set in organization mode only: the
	// spoke account-region whose group was read, and the organization run
	// that read it (DIGEST.md, "Organization mode").
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	OrgRun  string `json:"orgRunId,omitempty"`

	// SkipData comes first after the window: AWS lost records.
	SkipData SkipData                `json:"skipData"`
	Totals   Totals                  `json:"totals"`
	NoData   flowrecord.StatusWindow `json:"noData"`

	NewInterfaces      NewInterfaces                 `json:"newInterfaces"`
	TopTalkers         []flowrecord.Talker           `json:"topTalkers"`
	TopRejectedSources []flowrecord.SourceCount      `json:"topRejectedSources"`
	TopDstPorts        []flowrecord.PortCount        `json:"topDstPorts"`
	BusiestInterfaces  []flowrecord.InterfaceSummary `json:"busiestInterfaces"`
	// InterfaceOverflow sums the records of the interfaces past the
	// aggregator's bound, which no per-interface list holds; absent when
	// none. A warning says so too.
	InterfaceOverflow flowrecord.InterfaceOverflow `json:"interfaceOverflow,omitzero"`
	ByProtocol        []flowrecord.ProtocolSummary `json:"byProtocol"`
	Malformed         flowrecord.Malformed         `json:"malformed"`

	// Approximate is true when a top list outgrew the aggregator's bound;
	// see flowrecord.Summary.Approximate. Totals are always exact.
	Approximate bool `json:"approximate"`
	// Truncated is true when lists were cut below TopK to fit the event.
	Truncated bool     `json:"truncated,omitempty"`
	Read      ReadInfo `json:"read"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Window is the event time a digest covers, [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Partial is true when the run stopped before PlannedTo; the next run
	// continues from To.
	Partial   bool      `json:"partial"`
	PlannedTo time.Time `json:"plannedTo,omitzero"`
}

// RunInfo names the run that wrote a digest. Nonce is the random value
// the run recorded in the run state before reading; a digest found in the
// digest group counts as written by a run only when it carries that run's
// nonce and window.
type RunInfo struct {
	Nonce string `json:"nonce"`
	// Attempt is how many runs started on this window, this one included.
	Attempt int `json:"attempt"`
}

// Gap is event time skipped without being read, [From, To), and why.
type Gap struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Reason string    `json:"reason"`
}

// Incomplete marks a digest whose window was not read.
type Incomplete struct {
	Reason string `json:"reason"`
	// FailedRuns is how many runs started on the window without
	// finishing it, the first at Since.
	FailedRuns int       `json:"failedRuns"`
	Since      time.Time `json:"since"`
}

// SkipData reports the records AWS lost.
type SkipData struct {
	flowrecord.SkipData
	// Message says in words what the count means; empty when nothing was
	// lost.
	Message string `json:"message,omitempty"`
}

// Totals are the window's overall counters.
type Totals struct {
	flowrecord.Totals
	AcceptedBytes uint64 `json:"acceptedBytes"`
	RejectedBytes uint64 `json:"rejectedBytes"`
	// Interfaces is how many interfaces had records in the window, up to
	// the aggregator's bound; InterfaceOverflow holds the rest.
	Interfaces int `json:"interfaces"`
}

// NewInterfaces lists the interfaces whose first stream appeared in the
// window, the busiest first.
type NewInterfaces struct {
	Count int `json:"count"`
	// Gone counts the listed interfaces EC2 no longer knows.
	Gone  int            `json:"gone"`
	Items []NewInterface `json:"items"`
}

// NewInterface is one new interface: what it is and its own traffic.
type NewInterface struct {
	InterfaceID string    `json:"interfaceId"`
	Created     time.Time `json:"created"`
	Streams     []string  `json:"streams"`
	InterfaceInfo
	Traffic *InterfaceTraffic `json:"traffic,omitempty"`
}

// InterfaceTraffic is an interface's share of the window.
type InterfaceTraffic struct {
	flowrecord.Totals
	NoData   uint64 `json:"noData"`
	SkipData uint64 `json:"skipData"`
}

// ReadInfo says how the window was read.
type ReadInfo struct {
	FlowLogs      int    `json:"flowLogs"`
	Slices        int    `json:"slices"`
	Events        uint64 `json:"events"`
	FilterCalls   int64  `json:"filterCalls"`
	OtherFormat   uint64 `json:"otherFormatRecords"`
	OutsideWindow uint64 `json:"outsideWindowEvents,omitempty"`
}

// skipDataMessage states plainly what SKIPDATA means.
func skipDataMessage(s flowrecord.SkipData) string {
	if s.Records == 0 {
		return ""
	}
	return fmt.Sprintf("AWS lost flow log records: %d SKIPDATA record(s) mark capture windows whose records were not delivered; the totals miss that traffic", s.Records)
}

// withOverflowWarning adds to warnings, without changing the caller's
// slice, a warning that interfaces went past the aggregator's bound.
func withOverflowWarning(warnings []string, s *flowrecord.Summary) []string {
	o := s.InterfaceOverflow
	if o.Records == 0 {
		return warnings
	}
	return append(slices.Clip(warnings), fmt.Sprintf("more interfaces had records than the %d tracked one by one: %d records (%d bytes) of the others count in the totals and top lists but in no interface list; see interfaceOverflow",
		s.MaxInterfaces, o.Records, o.Bytes))
}

// buildInput is what a digest is made of.
type buildInput struct {
	logGroup    string
	generatedAt time.Time
	window      Window
	run         RunInfo
	gap         *Gap
	incomplete  *Incomplete
	summary     flowrecord.Summary
	tally       tally
	newIfaces   []newInterface
	infos       map[string]InterfaceInfo
	maxNew      int
	topK        int
	read        ReadInfo
	warnings    []string
}

// buildDigest assembles a digest from the window's summary.
func buildDigest(in buildInput) Digest {
	s := in.summary
	d := Digest{
		Kind:        DigestKind,
		Version:     DigestVersion,
		LogGroup:    in.logGroup,
		GeneratedAt: in.generatedAt.UTC(),
		Window:      in.window,
		Run:         in.run,
		Gap:         in.gap,
		Incomplete:  in.incomplete,
		SkipData:    SkipData{SkipData: s.SkipData, Message: skipDataMessage(s.SkipData)},
		Totals: Totals{
			Totals:        s.Totals,
			AcceptedBytes: in.tally.AcceptedBytes,
			RejectedBytes: in.tally.RejectedBytes,
			Interfaces:    len(s.Interfaces),
		},
		NoData:             s.NoData,
		TopTalkers:         s.TopTalkers,
		TopRejectedSources: s.TopRejectedSources,
		TopDstPorts:        s.TopDstPorts,
		BusiestInterfaces:  busiest(s.Interfaces, in.topK),
		InterfaceOverflow:  s.InterfaceOverflow,
		ByProtocol:         s.ByProtocol,
		Malformed:          s.Malformed,
		Approximate:        s.Approximate,
		Read:               in.read,
		Warnings:           withOverflowWarning(in.warnings, &s),
	}
	d.NewInterfaces.Count = len(in.newIfaces)
	for _, n := range listedNew(in.newIfaces, &s, in.maxNew) {
		item := NewInterface{InterfaceID: n.ID, Created: n.Created.UTC(), Streams: n.Streams}
		if info, ok := in.infos[n.ID]; ok {
			item.InterfaceInfo = info
		} else {
			item.State = InterfaceUnknown
		}
		if item.State == InterfaceGone {
			d.NewInterfaces.Gone++
		}
		if t, ok := s.Interface(n.ID); ok {
			item.Traffic = &InterfaceTraffic{Totals: t.Totals, NoData: t.NoData, SkipData: t.SkipData}
		}
		d.NewInterfaces.Items = append(d.NewInterfaces.Items, item)
	}
	d.normalize()
	return d
}

// normalize turns nil lists into empty ones, so that the JSON always has
// the same shape.
func (d *Digest) normalize() {
	if d.NewInterfaces.Items == nil {
		d.NewInterfaces.Items = []NewInterface{}
	}
	if d.TopTalkers == nil {
		d.TopTalkers = []flowrecord.Talker{}
	}
	if d.TopRejectedSources == nil {
		d.TopRejectedSources = []flowrecord.SourceCount{}
	}
	if d.TopDstPorts == nil {
		d.TopDstPorts = []flowrecord.PortCount{}
	}
	if d.BusiestInterfaces == nil {
		d.BusiestInterfaces = []flowrecord.InterfaceSummary{}
	}
	if d.ByProtocol == nil {
		d.ByProtocol = []flowrecord.ProtocolSummary{}
	}
	if d.Malformed.Samples == nil {
		d.Malformed.Samples = []flowrecord.MalformedSample{}
	}
	if d.SkipData.Windows == nil {
		d.SkipData.Windows = []flowrecord.Window{}
	}
}

// listedNew picks the new interfaces a digest lists: the busiest first,
// then by id, at most max.
func listedNew(all []newInterface, s *flowrecord.Summary, limit int) []newInterface {
	type ranked struct {
		n     newInterface
		bytes uint64
	}
	rs := make([]ranked, 0, len(all))
	for _, n := range all {
		t, _ := s.Interface(n.ID)
		rs = append(rs, ranked{n, t.Bytes})
	}
	slices.SortFunc(rs, func(a, b ranked) int {
		if c := cmp.Compare(b.bytes, a.bytes); c != 0 {
			return c
		}
		return strings.Compare(a.n.ID, b.n.ID)
	})
	out := make([]newInterface, 0, min(len(rs), limit))
	for _, r := range rs[:min(len(rs), limit)] {
		out = append(out, r.n)
	}
	return out
}

// busiest returns the k interfaces with the most bytes, then records.
func busiest(all []flowrecord.InterfaceSummary, k int) []flowrecord.InterfaceSummary {
	out := slices.Clone(all)
	slices.SortFunc(out, func(a, b flowrecord.InterfaceSummary) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Records, a.Records); c != 0 {
			return c
		}
		return strings.Compare(a.InterfaceID, b.InterfaceID)
	})
	return out[:min(len(out), k)]
}

// encode marshals the digest, cutting its lists until the JSON fits in
// limit bytes. Counts stay whole; only the listed items shrink, and
// Truncated says so.
func (d *Digest) encode(limit int) ([]byte, error) {
	for range 64 {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encoding the digest: %w", err)
		}
		if len(b) <= limit {
			return b, nil
		}
		d.Truncated = true
		if !d.shrink() {
			break
		}
	}
	return nil, fmt.Errorf("encoding the digest: it does not fit in %d bytes even with every list cut", limit)
}

// shrink halves the longest list; false when nothing is left to cut.
func (d *Digest) shrink() bool {
	type list struct {
		n   int
		cut func(n int)
	}
	lists := []list{
		{len(d.NewInterfaces.Items), func(n int) { d.NewInterfaces.Items = d.NewInterfaces.Items[:n] }},
		{len(d.Malformed.Samples), func(n int) { d.Malformed.Samples = d.Malformed.Samples[:n] }},
		{len(d.SkipData.Windows), func(n int) { d.SkipData.Windows = d.SkipData.Windows[:n] }},
		{len(d.TopTalkers), func(n int) { d.TopTalkers = d.TopTalkers[:n] }},
		{len(d.TopRejectedSources), func(n int) { d.TopRejectedSources = d.TopRejectedSources[:n] }},
		{len(d.TopDstPorts), func(n int) { d.TopDstPorts = d.TopDstPorts[:n] }},
		{len(d.BusiestInterfaces), func(n int) { d.BusiestInterfaces = d.BusiestInterfaces[:n] }},
		{len(d.ByProtocol), func(n int) { d.ByProtocol = d.ByProtocol[:n] }},
		{len(d.Warnings), func(n int) { d.Warnings = d.Warnings[:n] }},
	}
	longest := -1
	for i, l := range lists {
		if l.n > 0 && (longest < 0 || l.n > lists[longest].n) {
			longest = i
		}
	}
	if longest < 0 {
		return false
	}
	lists[longest].cut(lists[longest].n / 2)
	return true
}
