package digest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPlanWindow(t *testing.T) {
	now := mustTime("2026-11-25T20:00:07Z")
	const lag, period, maxCatchUp = 15 * time.Minute, time.Hour, 24 * time.Hour
	for _, tc := range []struct {
		name     string
		cp       runstate.Checkpoint
		from, to string
		gapFrom  string // "" for no gap
	}{
		{
			name: "first run covers one schedule period",
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "next run starts at the checkpoint",
			cp:   runstate.Checkpoint{End: mustTime("2026-11-25T18:45:00Z")},
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a late partial run catches up from the checkpoint",
			cp:   runstate.Checkpoint{End: mustTime("2026-11-25T12:20:00Z"), Partial: true},
			from: "2026-11-25T12:20:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a checkpoint at the end leaves an empty window",
			cp:   runstate.Checkpoint{End: mustTime("2026-11-25T19:45:00Z")},
			from: "2026-11-25T19:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a checkpoint exactly the catch-up limit old takes no gap",
			cp:   runstate.Checkpoint{End: mustTime("2026-11-24T19:45:00Z")},
			from: "2026-11-24T19:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		// Fails on the code before the catch-up limit: it planned every
		// hour since 2000.
		{
			name: "a checkpoint from the year 2000 skips to the catch-up limit",
			cp:   runstate.Checkpoint{End: mustTime("2000-01-01T00:00:00Z")},
			from: "2026-11-24T19:45:00Z", to: "2026-11-25T19:45:00Z", gapFrom: "2000-01-01T00:00:00Z",
		},
		{
			name: "failing runs after a gap keep their window's start",
			cp: runstate.Checkpoint{End: mustTime("2000-01-01T00:00:00Z"),
				Intent: &runstate.Intent{From: mustTime("2026-11-24T18:45:00Z"), To: mustTime("2026-11-25T18:45:00Z"), Attempts: 2}},
			from: "2026-11-24T19:45:00Z", to: "2026-11-25T19:45:00Z", gapFrom: "2000-01-01T00:00:00Z",
		},
		{
			name: "an intent within the catch-up limit keeps the start",
			cp: runstate.Checkpoint{End: mustTime("2000-01-01T00:00:00Z"),
				Intent: &runstate.Intent{From: mustTime("2026-11-24T20:45:00Z"), To: mustTime("2026-11-25T18:45:00Z"), Attempts: 2}},
			from: "2026-11-24T20:45:00Z", to: "2026-11-25T19:45:00Z", gapFrom: "2000-01-01T00:00:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planWindow(tc.cp, now, lag, period, maxCatchUp)
			if !p.w.From.Equal(mustTime(tc.from)) || !p.w.To.Equal(mustTime(tc.to)) {
				t.Errorf("window [%s, %s), want [%s, %s)", p.w.From.Format(time.RFC3339), p.w.To.Format(time.RFC3339), tc.from, tc.to)
			}
			switch {
			case tc.gapFrom == "" && p.gap != nil:
				t.Errorf("gap %+v, want none", *p.gap)
			case tc.gapFrom != "" && (p.gap == nil || !p.gap.From.Equal(mustTime(tc.gapFrom)) || !p.gap.To.Equal(p.w.From) ||
				!strings.Contains(p.gap.Reason, "catch-up limit of 24h0m0s")):
				t.Errorf("gap %+v, want one from %s to the window's start, saying why", p.gap, tc.gapFrom)
			}
		})
	}
}

// A window that ends after now minus the settle lag is refused, whatever
// its source. Before the run state, a digest in the group (anyone can write
// one) with a far end moved the checkpoint there.
func TestCheckWindowRefusesTheFuture(t *testing.T) {
	limit := mustTime("2026-11-25T19:45:00Z")
	for _, tc := range []struct {
		name string
		to   string
		ok   bool
	}{
		{"ends at the limit", "2026-11-25T19:45:00Z", true},
		{"ends before", "2026-11-25T19:00:00Z", true},
		{"ends a minute after", "2026-11-25T19:46:00Z", false},
		{"ends in 2099", "2099-01-01T00:00:00Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkWindow(window{From: mustTime("2026-11-25T18:45:00Z"), To: mustTime(tc.to)}, limit)
			if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), tc.to)) {
				t.Errorf("err = %v, want ok=%v and an error naming the end", err, tc.ok)
			}
		})
	}
}

// Only the digest of the run that wrote the intent is adopted: its nonce,
// its group, its window's start and an end within the intent's window.
// Before the run state any digest starting at the checkpoint was adopted,
// so each forged case below moved the checkpoint.
func TestOwnedByNeedsNonceAndWindow(t *testing.T) {
	in := &runstate.Intent{Nonce: "8c1f0e5a9b2d4c6e8f0a1b2c3d4e5f60", From: mustTime("2026-11-25T18:45:00Z"), To: mustTime("2026-11-25T19:45:00Z")}
	head := func(nonce, group, from, to string) *digestHead {
		h := &digestHead{Kind: DigestKind, LogGroup: group}
		h.Run.Nonce = nonce
		h.Window.From, h.Window.To = mustTime(from), mustTime(to)
		return h
	}
	const g = "/vpc/flow-logs"
	for _, tc := range []struct {
		name string
		h    *digestHead
		want bool
	}{
		{"the run's digest", head(in.Nonce, g, "2026-11-25T18:45:00Z", "2026-11-25T19:45:00Z"), true},
		{"the run's partial digest", head(in.Nonce, g, "2026-11-25T18:45:00Z", "2026-11-25T19:05:00Z"), true},
		{"forged: no nonce", head("", g, "2026-11-25T18:45:00Z", "2026-11-25T19:45:00Z"), false},
		{"forged: wrong nonce", head("8c1f0e5a9b2d4c6e8f0a1b2c3d4e5f61", g, "2026-11-25T18:45:00Z", "2026-11-25T19:45:00Z"), false},
		{"forged: the nonce with a far end", head(in.Nonce, g, "2026-11-25T18:45:00Z", "2099-01-01T00:00:00Z"), false},
		{"forged: the nonce three hours on", head(in.Nonce, g, "2026-11-25T18:45:00Z", "2026-11-25T22:45:00Z"), false},
		{"forged: another start", head(in.Nonce, g, "2026-11-25T18:00:00Z", "2026-11-25T19:45:00Z"), false},
		{"empty window", head(in.Nonce, g, "2026-11-25T18:45:00Z", "2026-11-25T18:45:00Z"), false},
		{"another group", head(in.Nonce, "/other", "2026-11-25T18:45:00Z", "2026-11-25T19:45:00Z"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.ownedBy(in, g); got != tc.want {
				t.Errorf("ownedBy = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWindowSlices(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string
		slice    time.Duration
		want     []string // slice starts, then the end
	}{
		{"aligned hour in six", "2026-11-25T18:00:00Z", "2026-11-25T19:00:00Z", 10 * time.Minute,
			[]string{"18:00", "18:10", "18:20", "18:30", "18:40", "18:50", "19:00"}},
		{"unaligned ends keep the window exact", "2026-11-25T18:45:00Z", "2026-11-25T19:12:30Z", 10 * time.Minute,
			[]string{"18:45", "18:50", "19:00", "19:10", "19:12"}},
		{"shorter than a slice", "2026-11-25T18:45:00Z", "2026-11-25T18:47:00Z", 10 * time.Minute,
			[]string{"18:45", "18:47"}},
		{"empty", "2026-11-25T18:45:00Z", "2026-11-25T18:45:00Z", 10 * time.Minute, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := window{From: mustTime(tc.from), To: mustTime(tc.to)}.sliceIter(tc.slice)
			var got []string
			var prev window
			for s, ok := next(); ok; s, ok = next() {
				if !prev.To.IsZero() && !s.From.Equal(prev.To) {
					t.Errorf("slice starts at %s, the one before ended at %s", s.From, prev.To)
				}
				got = append(got, s.From.Format("15:04"))
				prev = s
			}
			if len(got) > 0 {
				got = append(got, prev.To.Format("15:04"))
				if !prev.To.Equal(mustTime(tc.to)) {
					t.Errorf("last slice ends at %s, want the window's end %s", prev.To, tc.to)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("slices %v, want %v", got, tc.want)
			}
		})
	}
}

// Planning a window from the year 2000 holds one slice at a time: no
// allocation per slice. The code before built a slice of every window
// slice up front (1.4 million for 26 years of ten-minute slices, above
// 400 MiB with the run's other state).
func TestSlicesArePlannedLazily(t *testing.T) {
	w := window{From: mustTime("2000-01-01T00:00:00Z"), To: mustTime("2026-11-25T19:45:00Z")}
	allocs := testing.AllocsPerRun(10, func() {
		next := w.sliceIter(10 * time.Minute)
		for range 1000 {
			if _, ok := next(); !ok {
				t.Fatal("the window ended early")
			}
		}
	})
	if allocs > 2 {
		t.Errorf("%.0f allocations to plan 1,000 slices of a 26-year window, want at most 2 whatever the count", allocs)
	}
}

func TestStreamNames(t *testing.T) {
	for _, tc := range []struct {
		name, eni, traffic string
	}{
		{"eni-0c19436730cc350ae-all", "eni-0c19436730cc350ae", "ALL"},
		{"eni-0c19436730cc350ae-accept", "eni-0c19436730cc350ae", "ACCEPT"},
		{"eni-1234abcd-reject", "eni-1234abcd", "REJECT"},
		{"eni-", "", ""},
		{"digests", "", ""},
		{"ENI-0C19-all", "", "ALL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := streamInterface(tc.name); got != tc.eni {
				t.Errorf("interface %q, want %q", got, tc.eni)
			}
			if got := streamTraffic(tc.name); got != tc.traffic {
				t.Errorf("traffic %q, want %q", got, tc.traffic)
			}
		})
	}
}

func TestNewInterfacesByCreationTime(t *testing.T) {
	const aa, bb, cc, dd = "eni-000000aa", "eni-000000bb", "eni-000000cc", "eni-000000dd"
	w := window{From: mustTime("2026-11-25T18:00:00Z"), To: mustTime("2026-11-25T19:00:00Z")}
	streams := []stream{
		{aa + "-all", mustTime("2026-11-25T18:10:00Z")},
		{bb + "-accept", mustTime("2026-11-25T17:10:00Z")}, // older stream of the same interface
		{bb + "-reject", mustTime("2026-11-25T18:20:00Z")},
		{cc + "-all", mustTime("2026-11-25T19:00:00Z")}, // at the end: the next window's
		{dd + "-all", mustTime("2026-11-25T18:00:00Z")}, // at the start: this window's
		{dd + "-reject", mustTime("2026-11-25T18:30:00Z")},
		{"not-an-interface", mustTime("2026-11-25T18:10:00Z")},
	}
	got := newInterfaces(streams, w)
	if len(got) != 2 || got[0].ID != aa || got[1].ID != dd ||
		strings.Join(got[1].Streams, ",") != dd+"-all,"+dd+"-reject" || !got[1].Created.Equal(w.From) {
		t.Errorf("new interfaces %+v, want %s and %s (two streams, created at the window's start)", got, aa, dd)
	}
}

func TestFieldCount(t *testing.T) {
	for line, want := range map[string]int{
		"":      0,
		"\n":    0,
		"a":     1,
		"a b c": 3,
		"a b\n": 2,
		"a  b":  3,
	} {
		if got := fieldCount(line); got != want {
			t.Errorf("fieldCount(%q) = %d, want %d", line, got, want)
		}
	}
}

// floodedDigests answers GetLogEvents with a page of forged digests, each
// with the right window and a wrong nonce, then the run's own digest.
type floodedDigests struct {
	LogsAPI
	forged int
	own    string
}

func (f floodedDigests) GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error) {
	out := &cloudwatchlogs.GetLogEventsOutput{NextForwardToken: aws.String("f/end")}
	forged := strings.Replace(f.own, `"nonce":"8c1f`, `"nonce":"0000`, 1)
	for range f.forged {
		out.Events = append(out.Events, logstypes.OutputLogEvent{Message: aws.String(forged)})
	}
	out.Events = append(out.Events, logstypes.OutputLogEvent{Message: aws.String(f.own)})
	return out, nil
}

// The search for a run's own digest reads a bounded number of events: a
// flood in the digest group (anyone can write there) makes it give up,
// without an error, so that the window is read again rather than every
// later run failing.
func TestFindRunDigestIsBounded(t *testing.T) {
	in := &runstate.Intent{Nonce: "8c1f0e5a9b2d4c6e8f0a1b2c3d4e5f60", From: mustTime("2026-11-25T18:45:00Z"), To: mustTime("2026-11-25T19:45:00Z"),
		StartedAt: mustTime("2026-11-25T20:00:07Z")}
	own := `{"kind":"` + DigestKind + `","logGroup":"/vpc/flow-logs","window":{"from":"2026-11-25T18:45:00Z","to":"2026-11-25T19:45:00Z"},"run":{"nonce":"8c1f0e5a9b2d4c6e8f0a1b2c3d4e5f60"}}`
	for _, tc := range []struct {
		name   string
		forged int
		found  bool
	}{
		{"own digest after a few forgeries", 10, true},
		{"own digest behind a flood", maxRunDigestScan, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := findRunDigest(t.Context(), floodedDigests{forged: tc.forged, own: own}, "/vpc/flow-logs/digests", "/vpc/flow-logs", in)
			if err != nil || (h != nil) != tc.found {
				t.Errorf("found %v, err %v; want found=%v and no error", h != nil, err, tc.found)
			}
		})
	}
}
