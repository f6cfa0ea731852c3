package digest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

const forgedNonce = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"

// forge writes into the digest stream, with timestamp at, an event that
// looks like a digest of window [from, to) carrying nonce: what anyone
// allowed logs:PutLogEvents on the digest group can do.
func (f *fixture) forge(at, from, to time.Time, nonce string) {
	f.t.Helper()
	d := digest.Digest{Kind: digest.DigestKind, Version: digest.DigestVersion, LogGroup: flowGroup, GeneratedAt: at,
		Window: digest.Window{From: from, To: to}, Run: digest.RunInfo{Nonce: nonce, Attempt: 1}}
	b, err := json.Marshal(d)
	if err != nil {
		f.t.Fatal(err)
	}
	_, err = f.logs.CreateLogStream(f.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(summaryGroup), LogStreamName: aws.String(digest.DigestStreamName)})
	var exists *logstypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		f.t.Fatal(err)
	}
	if _, err := f.logs.PutLogEvents(f.ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(summaryGroup), LogStreamName: aws.String(digest.DigestStreamName),
		LogEvents: []logstypes.InputLogEvent{{Message: aws.String(string(b)), Timestamp: aws.Int64(at.UnixMilli())}},
	}); err != nil {
		f.t.Fatal(err)
	}
}

// ownDigests are the digests the summarizer wrote: the forged ones left
// out.
func (f *fixture) ownDigests() []digest.Digest {
	var out []digest.Digest
	for _, d := range f.digests() {
		if d.Run.Nonce != "" && d.Run.Nonce != forgedNonce {
			out = append(out, d)
		}
	}
	return out
}

// checkSum fails unless the digests are contiguous and sum to exactly what
// the generator wrote into [from, to).
func checkSum(t *testing.T, ds []digest.Digest, lines []line, g *flowrecordtest.Generator, from, to time.Time) {
	t.Helper()
	checkContiguous(t, ds)
	want, _ := expectWindow(lines, g.Format(), from, to)
	got, malformed, _, _ := sumTotals(ds)
	if got != want.Totals || malformed != want.Malformed.Count {
		t.Errorf("sum over %d digests %+v (malformed %d), the generator wrote %+v (%d) into [%s, %s)",
			len(ds), got, malformed, want.Totals, want.Malformed.Count, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
}

// A forged digest that starts at the checkpoint is never adopted. Before
// the run state, the next run moved the checkpoint to the forgery's end:
// with a far end every later run was empty, with end + 3h those hours were
// skipped.
func TestForgedDigestIsIgnored(t *testing.T) {
	for _, tc := range []struct {
		name  string
		to    func(end time.Time) time.Time
		nonce string
	}{
		{"far in the future", func(time.Time) time.Time { return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC) }, ""},
		{"three hours on", func(end time.Time) time.Time { return end.Add(3 * time.Hour) }, ""},
		{"three hours on, with a nonce", func(end time.Time) time.Time { return end.Add(3 * time.Hour) }, forgedNonce},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.generator(21, 6_000, 4, nil)
			lines := f.generate(g)
			end := f.real.Add(-60 * time.Minute)
			f.setCheckpoint(end)
			f.forge(f.real, end, tc.to(end), tc.nonce)
			for _, at := range []time.Duration{-35 * time.Minute, -20 * time.Minute, 5 * time.Minute} {
				f.now = f.real.Add(at + lag)
				if _, err := f.run(f.ctx); err != nil {
					t.Fatal(err)
				}
			}
			ds := f.ownDigests()
			if len(ds) != 3 || !ds[0].Window.From.Equal(end) {
				t.Fatalf("%d digests of the summarizer, want 3 from %s", len(ds), end)
			}
			checkSum(t, ds, lines, g, end, f.now.Add(-lag).Truncate(time.Minute))
			if exp := g.Expected(flowrecord.Options{}); mustSum(ds) != exp.Totals {
				t.Errorf("sum %+v, the generator wrote %+v", mustSum(ds), exp.Totals)
			}
		})
	}
}

func mustSum(ds []digest.Digest) flowrecord.Totals {
	t, _, _, _ := sumTotals(ds)
	return t
}

// failFilter answers every FilterLogEvents with an access error while
// armed: a run that keeps failing on its window.
func failFilter(p *motoproxy.Proxy, armed *bool) {
	p.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "FilterLogEvents" || !*armed {
			return false
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"not authorized to perform logs:FilterLogEvents"}`))
		return true
	})
}

// A run failed after recording its intent; a digest with the intent's
// window, even stamped at the intent's exact millisecond, is not adopted
// unless it carries the intent's nonce. Before the run state, a digest
// with the right window was adopted whoever wrote it.
func TestForgedDigestWithWrongNonceIsIgnored(t *testing.T) {
	f := newFixture(t)
	g := f.generator(22, 5_000, 4, nil)
	lines := f.generate(g)
	_, p := emulator(t)
	armed := true
	failFilter(p, &armed)
	if _, err := f.run(f.ctx); err == nil {
		t.Fatal("the run with FilterLogEvents denied succeeded")
	}
	in := f.checkpoint().Intent
	if in == nil || in.Attempts != 1 {
		t.Fatalf("intent %+v after the failed run, want one with 1 attempt", in)
	}
	f.forge(in.StartedAt, in.From, in.To, forgedNonce)
	armed = false

	if _, err := f.run(f.ctx); err != nil {
		t.Fatal(err)
	}
	ds := f.ownDigests()
	if len(ds) != 1 || !ds[0].Window.From.Equal(in.From) || !ds[0].Window.To.Equal(in.To) || ds[0].Run.Attempt != 2 {
		t.Fatalf("digests %s, want one of the intent's window, the second attempt", jsonOf(ds))
	}
	checkSum(t, ds, lines, g, in.From, in.To)
	if cp := f.checkpoint(); !cp.End.Equal(in.To) || cp.Intent != nil {
		t.Errorf("checkpoint %+v, want end %s and no intent", cp, in.To)
	}
}

// An intent whose window ends after now minus the settle lag is refused,
// and so is the digest that carries its nonce: the run reads its own
// window, ending at the limit. Before the run state, such a digest moved
// the checkpoint past every later record.
func TestWindowAfterTheLagIsRefused(t *testing.T) {
	f := newFixture(t)
	g := f.generator(23, 5_000, 4, nil)
	lines := f.generate(g)
	end := f.real.Add(-60 * time.Minute)
	f.setCheckpoint(end)
	s := f.store()
	cp := f.checkpoint()
	started := f.now.Add(-time.Minute).Truncate(time.Millisecond)
	bad := &runstate.Intent{Nonce: forgedNonce, From: end, To: f.now.Add(time.Hour), Attempts: 1, FirstStartedAt: started, StartedAt: started}
	if _, err := s.Save(f.ctx, cp, runstate.Checkpoint{End: end, Intent: bad}, "test"); err != nil {
		t.Fatal(err)
	}
	f.forge(started, bad.From, bad.To, bad.Nonce)

	if _, err := f.run(f.ctx); err != nil {
		t.Fatal(err)
	}
	limit := f.now.Add(-lag).Truncate(time.Minute)
	ds := f.ownDigests()
	if len(ds) != 1 || !ds[0].Window.From.Equal(end) || !ds[0].Window.To.Equal(limit) {
		t.Fatalf("digests %s, want one from %s to the limit %s", jsonOf(ds), end, limit)
	}
	checkSum(t, ds, lines, g, end, limit)
	if cp := f.checkpoint(); !cp.End.Equal(limit) {
		t.Errorf("checkpoint %s, want the limit %s", cp.End, limit)
	}
}

// A checkpoint from the year 2000 catches up only MaxCatchUp: the digest
// starts there and carries the gap. The code before planned every slice
// since 2000 up front (above 400 MiB) and read them all.
func TestOldCheckpointSkipsAGap(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxCatchUp time.Duration
	}{
		{"default catch-up of a day", 0},
		{"catch-up of one hour", time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.MaxCatchUp = tc.maxCatchUp
			g := f.generator(24, 5_000, 4, nil)
			lines := f.generate(g)
			y2k := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			f.setCheckpoint(y2k)
			res, err := f.run(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			limit := f.now.Add(-lag).Truncate(time.Minute)
			want := limit.Add(-24 * time.Hour)
			if tc.maxCatchUp > 0 {
				want = limit.Add(-tc.maxCatchUp)
			}
			ds := f.ownDigests()
			if len(ds) != 1 || res.Partial {
				t.Fatalf("%d digests (partial %v), want 1 complete", len(ds), res.Partial)
			}
			d := ds[0]
			if !d.Window.From.Equal(want) || !d.Window.To.Equal(limit) {
				t.Errorf("window %+v, want %s to %s", d.Window, want, limit)
			}
			if d.Gap == nil || !d.Gap.From.Equal(y2k) || !d.Gap.To.Equal(want) || !strings.Contains(d.Gap.Reason, "catch-up limit") {
				t.Errorf("gap %+v, want from 2000 to %s with its reason", d.Gap, want)
			}
			if text := d.Text(); !strings.Contains(text, "WARNING: skipped 2000-01-01 00:00:00") {
				t.Errorf("the text does not warn of the gap:\n%s", text)
			}
			checkSum(t, ds, lines, g, want, limit)
			if cp := f.checkpoint(); !cp.End.Equal(limit) {
				t.Errorf("checkpoint %s, want %s", cp.End, limit)
			}
		})
	}
}

// A window whose runs keep failing uses up its budget: the run after
// MaxAttempts failures writes a digest marked incomplete with the reason,
// moves the checkpoint past the window, and the next run reads on. Before
// the budget, every run read the same window again and failed again.
func TestFailingWindowIsMarkedIncomplete(t *testing.T) {
	f := newFixture(t)
	g := f.generator(25, 3_000, 3, nil)
	lines := f.generate(g)
	end := f.real.Add(-60 * time.Minute)
	f.setCheckpoint(end)
	_, p := emulator(t)
	armed := true
	failFilter(p, &armed)
	f.now = f.real.Add(-20*time.Minute + lag)
	failedAt := f.now
	for i := range digest.DefaultMaxAttempts {
		if _, err := f.run(f.ctx); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
			t.Fatalf("run %d: err = %v, want the access error", i+1, err)
		}
		f.now = f.now.Add(time.Minute) // same window: the limit is on the minute
	}
	cp := f.checkpoint()
	if cp.Intent == nil || cp.Intent.Attempts != digest.DefaultMaxAttempts || !cp.End.Equal(end) {
		t.Fatalf("checkpoint %+v, want end %s and an intent with %d attempts", cp, end, digest.DefaultMaxAttempts)
	}
	failed := *cp.Intent

	res, err := f.run(f.ctx)
	if err != nil || !res.Incomplete || res.Records != 0 {
		t.Fatalf("run after the budget: %+v, %v; want an incomplete digest counting nothing", res, err)
	}
	ds := f.ownDigests()
	if len(ds) != 1 || ds[0].Incomplete == nil || !ds[0].Window.From.Equal(failed.From) || !ds[0].Window.To.Equal(failed.To) {
		t.Fatalf("digests %s, want one incomplete digest of [%s, %s)", jsonOf(ds), failed.From, failed.To)
	}
	inc := ds[0].Incomplete
	if inc.FailedRuns != 3 || !inc.Since.Equal(failedAt) || !strings.Contains(inc.Reason, "3 runs started on this window since") {
		t.Errorf("incomplete %+v, want 3 failed runs since %s with the reason", inc, failedAt)
	}
	if text := ds[0].Text(); !strings.Contains(text, "INCOMPLETE: 3 runs") {
		t.Errorf("the text does not say the digest is incomplete:\n%s", text)
	}
	if cp := f.checkpoint(); !cp.End.Equal(failed.To) || cp.Intent != nil {
		t.Errorf("checkpoint %+v, want end %s and no intent", cp, failed.To)
	}

	armed = false
	f.now = f.real.Add(5*time.Minute + lag)
	if _, err := f.run(f.ctx); err != nil {
		t.Fatal(err)
	}
	ds = f.ownDigests()
	if len(ds) != 2 {
		t.Fatalf("%d digests, want the incomplete one and the next", len(ds))
	}
	checkSum(t, ds[1:], lines, g, failed.To, f.now.Add(-lag).Truncate(time.Minute))
}

// metricValues returns the values of name in the embedded metric lines.
func metricValues(t *testing.T, out string, name string) []float64 {
	t.Helper()
	var vs []float64
	for l := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("metrics line %q: %v", l, err)
		}
		if v, ok := m[name].(float64); ok {
			vs = append(vs, v)
		}
	}
	return vs
}

// Every run that finds a checkpoint emits its age, a run with nothing to
// read included, so an alarm sees digests stop. The code before emitted
// it on no run.
func TestCheckpointAgeIsEmitted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		end   func(f *fixture) time.Time
		empty bool
	}{
		{"empty run", func(f *fixture) time.Time { return f.now.Add(-lag).Truncate(time.Minute) }, true},
		{"normal run", func(f *fixture) time.Time { return f.real.Add(-60 * time.Minute) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.generate(f.generator(26, 500, 2, nil))
			end := tc.end(f)
			f.setCheckpoint(end)
			res, err := f.run(f.ctx)
			if err != nil || res.Empty != tc.empty {
				t.Fatalf("run %+v, %v; want empty=%v", res, err, tc.empty)
			}
			out := f.cfg.MetricsOutput.(*strings.Builder).String()
			got := metricValues(t, out, metrics.CheckpointAge)
			if want := f.now.Sub(end).Seconds(); len(got) != 1 || got[0] != want {
				t.Errorf("%s = %v, want once %v\n%s", metrics.CheckpointAge, got, want, out)
			}
			if !strings.Contains(out, `"Unit":"Seconds"`) || !strings.Contains(out, `"Namespace":"Test"`) {
				t.Errorf("the metric has not the unit Seconds in namespace Test:\n%s", out)
			}
		})
	}
}

// racing lets another run go through whole between this run's read of the
// checkpoint and its first write, as a second invocation would.
type racing struct {
	runstate.API
	other func()
}

func (r *racing) race() {
	if r.other != nil {
		other := r.other
		r.other = nil
		other()
	}
}

func (r *racing) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	r.race()
	return r.API.PutItem(ctx, in, o...)
}

func (r *racing) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.race()
	return r.API.UpdateItem(ctx, in, o...)
}

// Two runs read the same version: the one that writes second loses with an
// error naming the item, writes no digest and counts nothing. The SSM
// parameter had no conditional write: both runs counted the window.
func TestRacingRunsOneLoses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		checkpoint bool
	}{
		{"first run", false},
		{"later run", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.generator(27, 4_000, 3, nil)
			lines := f.generate(g)
			if tc.checkpoint {
				f.setCheckpoint(f.real.Add(-60 * time.Minute))
			}
			before := f.checkpoint()
			r := &racing{API: f.db}
			r.other = func() {
				f.state = nil
				if _, err := f.run(f.ctx); err != nil {
					t.Errorf("the other run: %v", err)
				}
			}
			f.state = r
			_, err := f.run(f.ctx)
			var conflict *runstate.ConflictError
			if !errors.As(err, &conflict) || !strings.Contains(err.Error(), `pk="123456789012#us-east-1#cwlogs:/vpc/flow-logs"`) {
				t.Fatalf("err = %v, want a conflict naming the item", err)
			}
			ds := f.ownDigests()
			if len(ds) != 1 {
				t.Fatalf("%d digests, want only the winner's", len(ds))
			}
			checkSum(t, ds, lines, g, ds[0].Window.From, ds[0].Window.To)
			if cp := f.checkpoint(); cp.Version != before.Version+2 || cp.WrittenBy != ds[0].Run.Nonce {
				t.Errorf("checkpoint %+v, want the winner's (version %d)", cp, before.Version+2)
			}
		})
	}
}

// TestUnreadableWindowIsMarkedIncomplete: runs that finish no slice even at
// the finest slice length count against the window's failure budget. Before,
// such a run cleared the intent, so the attempts never added up and the
// digests stopped until the catch-up limit skipped the window as a gap.
func TestUnreadableWindowIsMarkedIncomplete(t *testing.T) {
	f := newFixture(t)
	end := f.real.Add(-60 * time.Minute)
	s := f.store()
	cp, err := s.Load(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(f.ctx, cp, runstate.Checkpoint{End: end, SliceSeconds: int64(digest.MinSlice / time.Second), UpdatedAt: f.now}, "test"); err != nil {
		t.Fatal(err)
	}
	_, p := emulator(t)
	p.AddHook(motoproxy.Delay("FilterLogEvents", 10*time.Second))
	t.Cleanup(p.Reset)
	f.cfg.Reserve = 3 * time.Second
	f.now = f.real.Add(-20*time.Minute + lag)
	for i := range digest.DefaultMaxAttempts {
		ctx, cancel := context.WithTimeout(f.ctx, 6*time.Second)
		res, err := f.run(ctx)
		cancel()
		if err != nil || !res.Partial || res.Records != 0 {
			t.Fatalf("run %d: %+v, %v; want a run that finished no slice", i+1, res, err)
		}
		f.now = f.now.Add(time.Minute)
	}
	if cp := f.checkpoint(); cp.Intent == nil || cp.Intent.Attempts != digest.DefaultMaxAttempts {
		t.Fatalf("checkpoint %+v, want an intent with %d attempts", cp, digest.DefaultMaxAttempts)
	}
	res, err := f.run(f.ctx)
	if err != nil || !res.Incomplete {
		t.Fatalf("run after the budget: %+v, %v; want an incomplete digest", res, err)
	}
}
