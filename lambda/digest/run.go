package digest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// Summarizer runs digests. Build it once per process; Run is called once
// per invocation and is not safe for concurrent use.
type Summarizer struct {
	cfg     Config
	logs    LogsAPI
	digests LogsAPI // the digest group's client
	paced   pacedLogs
	ec2     EC2API
	state   *runstate.Store
	topic   TopicAPI
	metrics io.Writer
	s3      *s3Source // nil: the log group is the source
}

// New returns a Summarizer. Topic may be nil only when no topic ARN is
// configured.
func New(cfg Config, c Clients) (*Summarizer, error) {
	cfg = cfg.withDefaults()
	switch {
	case c.Logs == nil:
		return nil, errors.New("creating the summarizer: no CloudWatch Logs client")
	case c.EC2 == nil:
		return nil, errors.New("creating the summarizer: no EC2 client")
	case cfg.TopicARN != "" && c.Topic == nil:
		return nil, errors.New("creating the summarizer: a topic ARN is set but no SNS client")
	}
	if cfg.S3 != nil && c.S3 == nil {
		return nil, errors.New("creating the summarizer: S3 mode but no S3 client")
	}
	src := runstate.LogGroupSource(cfg.LogGroupName)
	if cfg.S3 != nil {
		src = runstate.BucketSource(cfg.S3.Bucket, cfg.S3.Prefix)
	}
	state, err := runstate.New(c.State, cfg.StateTable, runstate.Key{Account: cfg.Account, Region: cfg.Region, Source: src})
	if err != nil {
		return nil, fmt.Errorf("creating the summarizer: %w", err)
	}
	s := &Summarizer{
		cfg:     cfg,
		logs:    c.Logs,
		digests: c.DigestLogs,
		ec2:     c.EC2,
		state:   state,
		topic:   c.Topic,
		metrics: cfg.MetricsOutput,
	}
	if s.metrics == nil {
		s.metrics = os.Stdout
	}
	if s.digests == nil {
		s.digests = c.Logs
	}
	s.paced = pacedLogs{LogsAPI: c.Logs, filter: newPacer(cfg.ReadRate), describe: newPacer(cfg.ReadRate)}
	if cfg.S3 != nil {
		s.s3 = newS3Source(c.S3, *cfg.S3, cfg.Account, cfg.Region, s.aggregatorOptions())
	}
	return s, nil
}

// Result is what a run did; the function returns it to its invoker.
type Result struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Partial bool      `json:"partial"`
	// Empty is true when there was no window to summarize yet.
	Empty bool `json:"empty,omitempty"`
	// Incomplete is true when the run gave up on a window that kept
	// failing and wrote a digest that counts none of its records.
	Incomplete    bool   `json:"incomplete,omitempty"`
	Records       uint64 `json:"records"`
	Malformed     uint64 `json:"malformed"`
	SkipData      uint64 `json:"skipData"`
	NewInterfaces int    `json:"newInterfaces"`
	FilterCalls   int64  `json:"filterCalls"`
	DigestBytes   int    `json:"digestBytes"`
	Published     bool   `json:"published"`
}

// runCtx is what the steps of one run share.
type runCtx struct {
	now   time.Time
	limit time.Time // now minus the settle lag: no window ends later
	nonce string
}

// Run summarizes the next window: see the package documentation.
func (s *Summarizer) Run(ctx context.Context) (Result, error) {
	cfg := s.cfg
	now := cfg.Now().UTC()
	rc := runCtx{now: now, limit: now.Add(-cfg.SettleLag).Truncate(time.Minute)}
	nonce, err := runstate.NewNonce()
	if err != nil {
		return Result{}, err
	}
	rc.nonce = nonce
	cp, err := s.state.Load(ctx)
	if err != nil {
		return Result{}, err
	}
	s.emitCheckpointAge(ctx, now, cp)
	if cp, err = s.recover(ctx, rc, cp); err != nil {
		return Result{}, err
	}
	p := planWindow(cp, now, cfg.SettleLag, cfg.SchedulePeriod, cfg.MaxCatchUp)
	if err := checkWindow(p.w, rc.limit); err != nil {
		return Result{}, err
	}
	if !p.w.To.After(p.w.From) {
		slog.InfoContext(ctx, "nothing to summarize yet", "from", p.w.From, "to", p.w.To)
		return Result{From: p.w.From, To: p.w.From, Empty: true}, nil
	}
	if p.gap != nil {
		slog.WarnContext(ctx, "skipping a gap older than the catch-up limit", "from", p.gap.From, "to", p.gap.To)
	}
	if in := cp.Intent; in != nil && in.From.Equal(p.w.From) && in.Attempts >= cfg.MaxAttempts {
		return s.giveUp(ctx, rc, cp, p)
	}
	if cp, err = s.begin(ctx, rc, cp, p.w); err != nil {
		return Result{}, err
	}
	return s.summarize(ctx, rc, cp, p)
}

// recover settles the intent a failed run left in cp: when that run's own
// digest (its nonce, its window) is in the digest group, the checkpoint
// moves to that digest's end. An intent whose window ends after the limit
// is refused and dropped.
func (s *Summarizer) recover(ctx context.Context, rc runCtx, cp runstate.Checkpoint) (runstate.Checkpoint, error) {
	in := cp.Intent
	if in == nil {
		return cp, nil
	}
	if err := checkWindow(window{From: in.From, To: in.To}, rc.limit); err != nil || !in.To.After(in.From) {
		slog.ErrorContext(ctx, "dropping the intent of an earlier run", "error", err, "from", in.From, "to", in.To)
		cp.Intent = nil
		return cp, nil
	}
	h, err := findRunDigestIn(ctx, s.digests, s.cfg.SummaryLogGroupName, s.cfg.DigestStream, s.sourceName(), in)
	if err != nil {
		return cp, err
	}
	if h == nil {
		slog.WarnContext(ctx, "an earlier run did not finish its window", "from", in.From, "to", in.To,
			"attempts", in.Attempts, "since", in.FirstStartedAt)
		return cp, nil
	}
	slog.WarnContext(ctx, "an earlier run wrote its digest but did not checkpoint it; adopting it",
		"from", h.Window.From, "to", h.Window.To, "nonce", in.Nonce)
	if err := s.adopted(ctx, h); err != nil {
		return cp, err
	}
	next := runstate.Checkpoint{End: h.Window.To, Partial: h.Window.Partial, UpdatedAt: rc.now}
	if h.Window.Partial {
		next.SliceSeconds = cp.SliceSeconds
	}
	return s.state.Save(ctx, cp, next, rc.nonce)
}

// begin records the run's intent before it reads: its nonce, its window,
// and how many runs started on a window with that start.
func (s *Summarizer) begin(ctx context.Context, rc runCtx, cp runstate.Checkpoint, w window) (runstate.Checkpoint, error) {
	in := &runstate.Intent{Nonce: rc.nonce, From: w.From, To: w.To, Attempts: 1, FirstStartedAt: rc.now, StartedAt: rc.now}
	if prev := cp.Intent; prev != nil && prev.From.Equal(w.From) {
		in.Attempts, in.FirstStartedAt = prev.Attempts+1, prev.FirstStartedAt
	}
	next := cp
	next.Intent = in
	return s.state.Save(ctx, cp, next, rc.nonce)
}

// giveUp writes, for a window that has used up its failure budget, a
// digest marked incomplete that counts none of its records, and moves the
// checkpoint past it. It follows the same protocol as a normal run.
func (s *Summarizer) giveUp(ctx context.Context, rc runCtx, cp runstate.Checkpoint, p plan) (Result, error) {
	failed := *cp.Intent
	w := window{From: failed.From, To: failed.To}
	cp, err := s.begin(ctx, rc, cp, w)
	if err != nil {
		return Result{}, err
	}
	if err := s.dropPendingInterfaces(ctx, rc, cp); err != nil {
		return Result{}, err
	}
	inc := &Incomplete{
		FailedRuns: failed.Attempts,
		Since:      failed.FirstStartedAt.UTC(),
		Reason: fmt.Sprintf("%d runs started on this window since %s without finishing it: its records are not counted",
			failed.Attempts, failed.FirstStartedAt.UTC().Format(time.RFC3339)),
	}
	slog.ErrorContext(ctx, "giving up on a window", "from", w.From, "to", w.To, "reason", inc.Reason)
	d := buildDigest(buildInput{
		logGroup: s.sourceName(), generatedAt: rc.now, window: Window{From: w.From, To: w.To},
		run: RunInfo{Nonce: rc.nonce, Attempt: cp.Intent.Attempts}, gap: p.gap, incomplete: inc,
		maxNew: s.cfg.MaxNewInterfaces, topK: s.cfg.TopK,
	})
	res, err := s.finish(ctx, rc, cp, &d, runstate.Checkpoint{End: w.To, UpdatedAt: rc.now})
	res.Incomplete = true
	return res, err
}

// finish writes the digest, emits its metrics, advances the checkpoint to
// next (clearing the intent, on condition of the version the intent was
// written at), and last publishes the text.
func (s *Summarizer) finish(ctx context.Context, rc runCtx, cp runstate.Checkpoint, d *Digest, next runstate.Checkpoint) (Result, error) {
	if s.cfg.OrgRunID != "" {
		d.Account, d.Region, d.OrgRun = s.cfg.Account, s.cfg.Region, s.cfg.OrgRunID
	}
	body, err := d.encode(MaxDigestBytes)
	if err != nil {
		return Result{}, err
	}
	if err := s.writeDigest(ctx, rc.now, body); err != nil {
		return Result{}, err
	}
	if s.cfg.OnDigest != nil {
		if err := s.cfg.OnDigest(ctx, d); err != nil {
			return Result{}, fmt.Errorf("recording the digest of %s to %s: %w", d.Window.From.Format(time.RFC3339), d.Window.To.Format(time.RFC3339), err)
		}
	}
	// Metrics right after the digest: a later failure leaves the digest
	// counted, so its metrics must be too.
	if err := s.emitMetrics(rc.now, d); err != nil {
		slog.ErrorContext(ctx, "emitting metrics failed", "error", err)
	}
	if _, err := s.state.Save(ctx, cp, next, rc.nonce); err != nil {
		return Result{}, err
	}
	res := Result{
		From:          d.Window.From,
		To:            d.Window.To,
		Partial:       d.Window.Partial,
		Records:       d.Totals.Records,
		Malformed:     d.Malformed.Count,
		SkipData:      d.SkipData.Records,
		NewInterfaces: d.NewInterfaces.Count,
		FilterCalls:   d.Read.FilterCalls,
		DigestBytes:   len(body),
	}
	slog.InfoContext(ctx, "digest written", "from", res.From, "to", res.To, "partial", res.Partial,
		"records", res.Records, "newInterfaces", res.NewInterfaces, "skipData", res.SkipData, "bytes", len(body))
	if s.cfg.TopicARN != "" {
		if err := s.publish(ctx, d); err != nil {
			return res, err
		}
		res.Published = true
	}
	return res, nil
}

// summarize reads the planned window, slice by slice until the read
// deadline, and writes the digest of what it finished.
func (s *Summarizer) summarize(ctx context.Context, rc runCtx, cp runstate.Checkpoint, p plan) (Result, error) {
	cfg := s.cfg
	w := p.w
	fs, warnings, err := s.loadFormats(ctx)
	if err != nil {
		return Result{}, err
	}

	// The read deadline keeps back a reserve for writing the digest and
	// the checkpoint before the Lambda deadline.
	readCtx, cancelRead := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(cfg.Reserve, time.Until(dl)/2)
		readCtx, cancelRead = context.WithDeadline(ctx, dl.Add(-reserve))
	}
	defer cancelRead()

	sliceLen := cfg.Slice
	if cp.SliceSeconds > 0 {
		sliceLen = time.Duration(cp.SliceSeconds) * time.Second
	}
	var calls atomic.Int64
	started := time.Now()
	loaded := s.startBaseline(ctx, w.From) // findings_run.go: read while the window is
	out, streams, warnings, err := s.read(ctx, readCtx, fs, w.sliceIter(sliceLen), &calls, warnings)
	if err != nil {
		return Result{}, err
	}
	slog.InfoContext(ctx, "read the window", "from", w.From, "to", w.To, "finished", out.finished,
		"events", out.t.Events, "filterCalls", calls.Load(), "seconds", time.Since(started).Seconds())

	if out.finished == 0 {
		// Not one slice fit in the budget: the next run tries finer ones.
		next := max(sliceLen/2, MinSlice)
		slog.WarnContext(ctx, "stopped before finishing a slice; nothing counted", "slice", sliceLen, "nextSlice", next)
		done := runstate.Checkpoint{End: cp.End, Partial: true, SliceSeconds: int64(next / time.Second), UpdatedAt: rc.now}
		if sliceLen <= MinSlice {
			// No finer slice to try: this run counts against the
			// window's failure budget, so that a window no run can read
			// ends in an incomplete digest instead of stopping the
			// digests.
			done.Intent = cp.Intent
		}
		if _, err := s.state.Save(ctx, cp, done, rc.nonce); err != nil {
			return Result{}, err
		}
		return Result{From: w.From, To: w.From, Partial: true, FilterCalls: calls.Load()}, nil
	}

	covered := window{From: w.From, To: out.covered}
	partial := covered.To.Before(w.To)
	dw := Window{From: covered.From, To: covered.To, Partial: partial}
	if partial {
		dw.PlannedTo = w.To
	}
	fin, basis, base := s.evaluateFindings(ctx, out.agg, dw, loaded)
	d, seen, err := s.buildRead(ctx, rc, cp, out, streams, fs, buildInput{window: dw, gap: p.gap, warnings: warnings, findings: fin, basis: basis}, calls.Load())
	if err != nil {
		return Result{}, err
	}
	if seen != nil {
		// S3 mode: before the digest, so that the next run can tell from
		// the checkpoint whether this window counted (s3interfaces.go).
		if err := seen.save(ctx, s.state, rc.nonce); err != nil {
			return Result{}, err
		}
	}
	next := runstate.Checkpoint{End: covered.To, Partial: partial, UpdatedAt: rc.now}
	if partial {
		next.SliceSeconds = cp.SliceSeconds // keep what made progress
	}
	res, err := s.finish(ctx, rc, cp, &d, next)
	if err == nil {
		s.saveBaseline(ctx, rc, base) // only once the window is counted
	}
	return res, err
}

// read lists the streams while it reads the slices: the two use different
// quotas and overlap.
func (s *Summarizer) read(ctx, readCtx context.Context, fs *formats, next func() (window, bool), calls *atomic.Int64, warnings []string) (readOutcome, []stream, []string, error) {
	type listing struct {
		streams []stream
		err     error
	}
	if s.s3 != nil {
		out, err := readSlices(ctx, readCtx, s.s3, next, s.cfg.ReadConcurrency)
		return out, nil, append(warnings, badObjectWarnings(out.t)...), err
	}
	listDone := make(chan listing, 1)
	listCtx, cancelList := context.WithCancel(readCtx)
	defer cancelList()
	go func() {
		st, err := listStreams(listCtx, s.paced, s.cfg.LogGroupName)
		listDone <- listing{st, err}
	}()
	paced := s.paced
	paced.filterCalls = calls
	r := &reader{
		api:       paced,
		group:     s.cfg.LogGroupName,
		fs:        fs,
		opts:      s.aggregatorOptions(),
		pageLimit: s.cfg.PageLimit,
	}
	out, err := r.readSlices(ctx, readCtx, next, s.cfg.ReadConcurrency)
	if err != nil {
		cancelList()
		<-listDone
		return out, nil, warnings, err
	}
	ls := <-listDone
	if ls.err != nil {
		if ctx.Err() != nil || readCtx.Err() == nil {
			return out, nil, warnings, ls.err
		}
		// A group with so many streams that listing them outlasts the read
		// budget: the records still count, the new interfaces go unreported.
		slog.ErrorContext(ctx, "listing the streams did not finish before the read deadline", "error", ls.err)
		warnings = append(warnings, "listing the log streams did not finish in time: new interfaces of this window are not reported")
	}
	return out, ls.streams, warnings, nil
}

// buildRead builds the digest of what was read: in carries the window,
// the gap and the warnings so far. In S3 mode it also returns the set of
// interfaces seen, updated with the window's, for the run to write.
func (s *Summarizer) buildRead(ctx context.Context, rc runCtx, cp runstate.Checkpoint, out readOutcome, streams []stream, fs *formats, in buildInput, calls int64) (Digest, *seenInterfaces, error) {
	cfg := s.cfg
	summary := out.agg.Summary()
	fresh := newInterfaces(streams, window{From: in.window.From, To: in.window.To})
	var seen *seenInterfaces
	if s.s3 != nil {
		var warnings []string
		var err error
		if fresh, warnings, seen, err = s.s3NewInterfaces(ctx, cp, &summary, in.window); err != nil {
			return Digest{}, nil, err
		}
		in.warnings = append(in.warnings, warnings...)
	}
	listed := listedNew(fresh, &summary, cfg.MaxNewInterfaces)
	ids := make([]string, 0, len(listed))
	for _, n := range listed {
		ids = append(ids, n.ID)
	}
	infos, err := describeInterfaces(ctx, s.ec2, ids)
	if err != nil {
		if ctx.Err() != nil {
			return Digest{}, nil, err
		}
		slog.ErrorContext(ctx, "describing the new interfaces failed; the digest lists them undescribed", "error", err)
		in.warnings = append(in.warnings, fmt.Sprintf("describing the new interfaces failed: %v", err))
		infos = nil
	}
	in.logGroup, in.generatedAt = s.sourceName(), rc.now
	in.run = RunInfo{Nonce: rc.nonce, Attempt: cp.Intent.Attempts}
	in.summary, in.tally, in.newIfaces, in.infos = summary, out.t, fresh, infos
	in.maxNew, in.topK = cfg.MaxNewInterfaces, cfg.TopK
	in.read = ReadInfo{
		FlowLogs:      fs.flowLogs,
		Slices:        out.finished,
		Events:        out.t.Events,
		FilterCalls:   calls,
		OtherFormat:   out.t.OtherFormat,
		OutsideWindow: out.t.OutsideWindow,
		Objects:       out.t.Objects,
		BadObjects:    out.t.BadObjects,
	}
	return buildDigest(in), seen, nil
}

// emitCheckpointAge emits how far the checkpoint lags behind now, on every
// run that finds one, before anything can fail: an alarm on it tells when
// digests stop, whatever the reason.
func (s *Summarizer) emitCheckpointAge(ctx context.Context, now time.Time, cp runstate.Checkpoint) {
	if cp.End.IsZero() {
		return // the first run: no checkpoint yet
	}
	age := max(now.Sub(cp.End), 0).Seconds()
	if err := metrics.Emit(s.metrics, s.cfg.MetricsNamespace, nil, now,
		metrics.Metric{Name: metrics.CheckpointAge, Value: age, Unit: metrics.Seconds}); err != nil {
		slog.ErrorContext(ctx, "emitting the checkpoint age failed", "error", err)
	}
}

// writeDigest puts the digest as one event on the digest stream, creating
// the stream the first time.
func (s *Summarizer) writeDigest(ctx context.Context, at time.Time, body []byte) error {
	group := s.cfg.SummaryLogGroupName
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(s.cfg.DigestStream),
		LogEvents:     []logstypes.InputLogEvent{{Message: aws.String(string(body)), Timestamp: aws.Int64(at.UnixMilli())}},
	}
	out, err := s.digests.PutLogEvents(ctx, in)
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, cerr := s.digests.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName:  aws.String(group),
			LogStreamName: in.LogStreamName,
		})
		var exists *logstypes.ResourceAlreadyExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			return fmt.Errorf("creating log stream %s in %s: %w", aws.ToString(in.LogStreamName), group, cerr)
		}
		out, err = s.digests.PutLogEvents(ctx, in)
	}
	if err != nil {
		return fmt.Errorf("writing the digest to %s: %w", group, err)
	}
	if ri := out.RejectedLogEventsInfo; ri != nil {
		return fmt.Errorf("writing the digest to %s: the event was rejected (too old %v, too new %v, expired %v)",
			group, aws.ToInt32(ri.TooOldLogEventEndIndex), aws.ToInt32(ri.TooNewLogEventStartIndex), aws.ToInt32(ri.ExpiredLogEventEndIndex))
	}
	return nil
}

// emitMetrics writes the digest's metrics under the configured namespace,
// without dimensions: the stack's dashboard graphs them so.
func (s *Summarizer) emitMetrics(at time.Time, d *Digest) error {
	return metrics.Emit(s.metrics, s.cfg.MetricsNamespace, nil, at, withFindingsMetrics(d,
		metrics.Metric{Name: metrics.Records, Value: float64(d.Totals.Records), Unit: metrics.Count},
		metrics.Metric{Name: metrics.AcceptedBytes, Value: float64(d.Totals.AcceptedBytes), Unit: metrics.Bytes},
		metrics.Metric{Name: metrics.RejectedBytes, Value: float64(d.Totals.RejectedBytes), Unit: metrics.Bytes},
		metrics.Metric{Name: metrics.NewInterfaces, Value: float64(d.NewInterfaces.Count), Unit: metrics.Count},
		metrics.Metric{Name: metrics.SkippedRecords, Value: float64(d.SkipData.Records), Unit: metrics.Count},
		metrics.Metric{Name: metrics.MalformedRecords, Value: float64(d.Malformed.Count), Unit: metrics.Count},
	)...)
}

func (s *Summarizer) publish(ctx context.Context, d *Digest) error {
	_, err := s.topic.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.cfg.TopicARN),
		Subject:  aws.String(d.Subject()),
		Message:  aws.String(d.Text()),
	})
	if err != nil {
		return fmt.Errorf("publishing the digest to %s: %w", s.cfg.TopicARN, err)
	}
	return nil
}
