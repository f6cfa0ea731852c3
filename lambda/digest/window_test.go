package digest

import (
	"strings"
	"testing"
	"time"
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
	head := func(from, to string) *digestHead {
		h := &digestHead{Kind: DigestKind}
		h.Window.From, h.Window.To = mustTime(from), mustTime(to)
		return h
	}
	for _, tc := range []struct {
		name        string
		cp          Checkpoint
		last        *digestHead
		from, to    string
		wantAdopted bool
	}{
		{
			name: "first run covers one schedule period",
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "next run starts at the checkpoint",
			cp:   Checkpoint{End: mustTime("2026-11-25T18:45:00Z")},
			last: head("2026-11-25T17:45:00Z", "2026-11-25T18:45:00Z"),
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a digest written but not checkpointed is not redone",
			cp:   Checkpoint{End: mustTime("2026-11-25T18:45:00Z")},
			last: head("2026-11-25T18:45:00Z", "2026-11-25T19:10:00Z"),
			from: "2026-11-25T19:10:00Z", to: "2026-11-25T19:45:00Z", wantAdopted: true,
		},
		{
			name: "first run after a first digest that was not checkpointed",
			last: head("2026-11-25T17:30:00Z", "2026-11-25T19:00:00Z"),
			from: "2026-11-25T19:00:00Z", to: "2026-11-25T19:45:00Z", wantAdopted: true,
		},
		{
			name: "an old digest does not stretch the first window",
			last: head("2026-10-01T00:00:00Z", "2026-10-01T01:00:00Z"),
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a digest that does not start at the checkpoint is ignored",
			cp:   Checkpoint{End: mustTime("2026-11-25T18:45:00Z")},
			last: head("2026-11-25T18:00:00Z", "2026-11-25T19:10:00Z"),
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a late partial run catches up from the checkpoint",
			cp:   Checkpoint{End: mustTime("2026-11-25T12:20:00Z"), Partial: true},
			from: "2026-11-25T12:20:00Z", to: "2026-11-25T19:45:00Z",
		},
		{
			name: "a checkpoint at the end leaves an empty window",
			cp:   Checkpoint{End: mustTime("2026-11-25T19:45:00Z")},
			from: "2026-11-25T19:45:00Z", to: "2026-11-25T19:45:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, adopted := planWindow(tc.cp, []*digestHead{tc.last}, now, 15*time.Minute, time.Hour)
			if !w.From.Equal(mustTime(tc.from)) || !w.To.Equal(mustTime(tc.to)) || adopted != tc.wantAdopted {
				t.Errorf("window [%s, %s) adopted=%v, want [%s, %s) adopted=%v", w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), adopted, tc.from, tc.to, tc.wantAdopted)
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
			sl := window{From: mustTime(tc.from), To: mustTime(tc.to)}.slices(tc.slice)
			var got []string
			for i, s := range sl {
				got = append(got, s.From.Format("15:04"))
				if i > 0 && !s.From.Equal(sl[i-1].To) {
					t.Errorf("slice %d starts at %s, slice %d ended at %s", i, s.From, i-1, sl[i-1].To)
				}
				if i == len(sl)-1 {
					got = append(got, s.To.Format("15:04"))
					if !s.To.Equal(mustTime(tc.to)) {
						t.Errorf("last slice ends at %s, want the window's end %s", s.To, tc.to)
					}
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("slices %v, want %v", got, tc.want)
			}
		})
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

func TestDecodeCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        Checkpoint
		wantErr     string
	}{
		{name: "as the stack creates it", value: "{}"},
		{name: "written by a run", value: `{"version":1,"end":"2026-11-25T19:45:00Z","partial":true,"sliceSeconds":300,"updatedAt":"2026-11-25T20:00:07Z"}`,
			want: Checkpoint{Version: 1, End: mustTime("2026-11-25T19:45:00Z"), Partial: true, SliceSeconds: 300, UpdatedAt: mustTime("2026-11-25T20:00:07Z")}},
		{name: "not JSON", value: "2026-11-25", wantErr: "decoding checkpoint parameter /p"},
		{name: "from newer code", value: `{"version":2}`, wantErr: "version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeCheckpoint("/p", tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// Any digest planWindow would adopt was written at least the settle lag
// after its end; the search for the newest digest must start no later.
func TestDigestSearchStartCoversAdoptableDigests(t *testing.T) {
	now := mustTime("2026-11-25T20:00:07Z")
	const lag, period = 15 * time.Minute, time.Hour
	for _, tc := range []struct {
		name     string
		cp       Checkpoint
		from, to string // the earliest-written digest planWindow adopts
	}{
		{
			name: "first run",
			from: "2026-11-25T17:00:00Z", to: "2026-11-25T18:46:00Z",
		},
		{
			name: "later run",
			cp:   Checkpoint{End: mustTime("2026-11-25T18:45:00Z")},
			from: "2026-11-25T18:45:00Z", to: "2026-11-25T18:46:00Z",
		},
		{
			name: "checkpoint days old",
			cp:   Checkpoint{End: mustTime("2026-11-20T00:00:00Z")},
			from: "2026-11-20T00:00:00Z", to: "2026-11-20T00:01:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &digestHead{Kind: DigestKind}
			h.Window.From, h.Window.To = mustTime(tc.from), mustTime(tc.to)
			if _, adopted := planWindow(tc.cp, []*digestHead{h}, now, lag, period); !adopted {
				t.Fatalf("planWindow does not adopt %+v; the case tests nothing", h.Window)
			}
			written := h.Window.To.Add(lag)
			if since := digestSearchStart(tc.cp, now, lag, period); since.After(written) {
				t.Errorf("search starts at %s, after the digest written at %s", since, written)
			}
		})
	}
}

// Two runs in a row wrote their digests and failed to checkpoint: the
// third continues after both.
func TestPlanWindowFollowsTheChain(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 20, 0, 0, time.UTC)
	at := func(hhmm string) time.Time {
		tm, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 11, 25, tm.Hour(), tm.Minute(), 0, 0, time.UTC)
	}
	head := func(from, to string) *digestHead {
		h := &digestHead{Kind: DigestKind}
		h.Window.From, h.Window.To = at(from), at(to)
		return h
	}
	cp := Checkpoint{End: at("09:00")}
	written := []*digestHead{head("08:00", "09:00"), head("09:00", "10:00"), head("10:00", "11:00")}
	w, adopted := planWindow(cp, written, now, 15*time.Minute, time.Hour)
	if !adopted || !w.From.Equal(at("11:00")) || !w.To.Equal(at("12:05")) {
		t.Errorf("window %s to %s (adopted %v), want 11:00 to 12:05 adopted", w.From.Format("15:04"), w.To.Format("15:04"), adopted)
	}
	// A gap breaks the chain: only digests that continue it count.
	written = []*digestHead{head("09:00", "10:00"), head("10:30", "11:00")}
	if w, _ := planWindow(cp, written, now, 15*time.Minute, time.Hour); !w.From.Equal(at("10:00")) {
		t.Errorf("window starts %s, want 10:00", w.From.Format("15:04"))
	}
}
