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

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

// Summarizer runs digests. Build it once per process; Run is called once
// per invocation and is not safe for concurrent use.
type Summarizer struct {
	cfg     Config
	logs    LogsAPI
	paced   pacedLogs
	ec2     EC2API
	params  ParameterAPI
	topic   TopicAPI
	metrics io.Writer
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
	case c.Parameters == nil:
		return nil, errors.New("creating the summarizer: no SSM client")
	case cfg.TopicARN != "" && c.Topic == nil:
		return nil, errors.New("creating the summarizer: a topic ARN is set but no SNS client")
	}
	s := &Summarizer{
		cfg:     cfg,
		logs:    c.Logs,
		ec2:     c.EC2,
		params:  c.Parameters,
		topic:   c.Topic,
		metrics: cfg.MetricsOutput,
	}
	if s.metrics == nil {
		s.metrics = os.Stdout
	}
	s.paced = pacedLogs{LogsAPI: c.Logs, filter: newPacer(cfg.ReadRate), describe: newPacer(cfg.ReadRate)}
	return s, nil
}

// Result is what a run did; the function returns it to its invoker.
type Result struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Partial bool      `json:"partial"`
	// Empty is true when there was no window to summarize yet.
	Empty         bool   `json:"empty,omitempty"`
	Records       uint64 `json:"records"`
	Malformed     uint64 `json:"malformed"`
	SkipData      uint64 `json:"skipData"`
	NewInterfaces int    `json:"newInterfaces"`
	FilterCalls   int64  `json:"filterCalls"`
	DigestBytes   int    `json:"digestBytes"`
	Published     bool   `json:"published"`
}

// Run summarizes the next window: see the package documentation.
func (s *Summarizer) Run(ctx context.Context) (Result, error) {
	cfg := s.cfg
	now := cfg.Now().UTC()
	cp, err := loadCheckpoint(ctx, s.params, cfg.CheckpointParameter)
	if err != nil {
		return Result{}, err
	}
	since := digestSearchStart(cp, now, cfg.SettleLag, cfg.SchedulePeriod)
	written, err := digestsSince(ctx, s.logs, cfg.SummaryLogGroupName, cfg.LogGroupName, since)
	if err != nil {
		return Result{}, err
	}
	w, adopted := planWindow(cp, written, now, cfg.SettleLag, cfg.SchedulePeriod)
	if adopted {
		slog.WarnContext(ctx, "digests were written but not checkpointed; continuing after them",
			"checkpoint", cp.End, "continueFrom", w.From)
	}
	if !w.To.After(w.From) {
		slog.InfoContext(ctx, "nothing to summarize yet", "from", w.From, "to", w.To)
		if adopted {
			cp.End, cp.Partial, cp.UpdatedAt = w.From, false, now
			if err := saveCheckpoint(ctx, s.params, cfg.CheckpointParameter, cp); err != nil {
				return Result{}, err
			}
		}
		return Result{From: w.From, To: w.From, Empty: true}, nil
	}

	fs, warnings, err := loadFormats(ctx, s.ec2, cfg.LogGroupName)
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

	// Listing the streams and reading the events use different quotas and
	// overlap.
	type listing struct {
		streams []stream
		err     error
	}
	listDone := make(chan listing, 1)
	listCtx, cancelList := context.WithCancel(readCtx)
	defer cancelList()
	go func() {
		st, err := listStreams(listCtx, s.paced, cfg.LogGroupName)
		listDone <- listing{st, err}
	}()

	sliceLen := cfg.Slice
	if cp.SliceSeconds > 0 {
		sliceLen = time.Duration(cp.SliceSeconds) * time.Second
	}
	sl := w.slices(sliceLen)
	var calls atomic.Int64
	paced := s.paced
	paced.filterCalls = &calls
	r := &reader{
		api:       paced,
		group:     cfg.LogGroupName,
		fs:        fs,
		opts:      flowrecord.Options{TopK: cfg.TopK, MaxTracked: cfg.MaxTracked, MalformedSamples: cfg.MalformedSamples},
		pageLimit: cfg.PageLimit,
	}
	started := time.Now()
	out, err := r.readSlices(ctx, readCtx, sl, cfg.ReadConcurrency)
	if err != nil {
		cancelList()
		<-listDone
		return Result{}, err
	}
	ls := <-listDone
	if ls.err != nil {
		if ctx.Err() != nil || readCtx.Err() == nil {
			return Result{}, ls.err
		}
		// A group with so many streams that listing them outlasts the read
		// budget: the records still count, the new interfaces go unreported.
		slog.ErrorContext(ctx, "listing the streams did not finish before the read deadline", "error", ls.err)
		warnings = append(warnings, "listing the log streams did not finish in time: new interfaces of this window are not reported")
	}
	slog.InfoContext(ctx, "read the window", "from", w.From, "to", w.To, "slices", len(sl), "finished", out.finished,
		"events", out.t.Events, "filterCalls", calls.Load(), "seconds", time.Since(started).Seconds())

	if out.finished == 0 {
		// Not one slice fit in the budget: the next run tries finer ones.
		next := max(sliceLen/2, MinSlice)
		slog.WarnContext(ctx, "stopped before finishing a slice; nothing counted", "slice", sliceLen, "nextSlice", next)
		cp.End, cp.Partial, cp.SliceSeconds, cp.UpdatedAt = w.From, true, int64(next/time.Second), now
		if err := saveCheckpoint(ctx, s.params, cfg.CheckpointParameter, cp); err != nil {
			return Result{}, err
		}
		return Result{From: w.From, To: w.From, Partial: true, FilterCalls: calls.Load()}, nil
	}

	covered := window{From: w.From, To: sl[out.finished-1].To}
	partial := covered.To.Before(w.To)
	dw := Window{From: covered.From, To: covered.To, Partial: partial}
	if partial {
		dw.PlannedTo = w.To
	}
	summary := out.agg.Summary()
	fresh := newInterfaces(ls.streams, covered)
	listed := listedNew(fresh, &summary, cfg.MaxNewInterfaces)
	ids := make([]string, 0, len(listed))
	for _, n := range listed {
		ids = append(ids, n.ID)
	}
	infos, err := describeInterfaces(ctx, s.ec2, ids)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, err
		}
		slog.ErrorContext(ctx, "describing the new interfaces failed; the digest lists them undescribed", "error", err)
		warnings = append(warnings, fmt.Sprintf("describing the new interfaces failed: %v", err))
		infos = nil
	}
	d := buildDigest(buildInput{
		logGroup:    cfg.LogGroupName,
		generatedAt: now,
		window:      dw,
		summary:     summary,
		tally:       out.t,
		newIfaces:   fresh,
		infos:       infos,
		maxNew:      cfg.MaxNewInterfaces,
		topK:        cfg.TopK,
		read: ReadInfo{
			FlowLogs:      fs.flowLogs,
			Slices:        out.finished,
			Events:        out.t.Events,
			FilterCalls:   calls.Load(),
			OtherFormat:   out.t.OtherFormat,
			OutsideWindow: out.t.OutsideWindow,
		},
		warnings: warnings,
	})
	body, err := d.encode(MaxDigestBytes)
	if err != nil {
		return Result{}, err
	}
	if err := s.writeDigest(ctx, now, body); err != nil {
		return Result{}, err
	}
	// Metrics right after the digest: a later failure leaves the digest
	// counted, so its metrics must be too.
	if err := s.emitMetrics(now, &d); err != nil {
		slog.ErrorContext(ctx, "emitting metrics failed", "error", err)
	}
	next := Checkpoint{End: covered.To, Partial: partial, UpdatedAt: now}
	if partial {
		next.SliceSeconds = cp.SliceSeconds // keep what made progress
	}
	if err := saveCheckpoint(ctx, s.params, cfg.CheckpointParameter, next); err != nil {
		return Result{}, err
	}
	res := Result{
		From:          covered.From,
		To:            covered.To,
		Partial:       partial,
		Records:       d.Totals.Records,
		Malformed:     d.Malformed.Count,
		SkipData:      d.SkipData.Records,
		NewInterfaces: d.NewInterfaces.Count,
		FilterCalls:   calls.Load(),
		DigestBytes:   len(body),
	}
	slog.InfoContext(ctx, "digest written", "from", covered.From, "to", covered.To, "partial", partial,
		"records", res.Records, "newInterfaces", res.NewInterfaces, "skipData", res.SkipData, "bytes", len(body))
	if cfg.TopicARN != "" {
		if err := s.publish(ctx, &d); err != nil {
			return res, err
		}
		res.Published = true
	}
	return res, nil
}

// writeDigest puts the digest as one event on the digest stream, creating
// the stream the first time.
func (s *Summarizer) writeDigest(ctx context.Context, at time.Time, body []byte) error {
	group := s.cfg.SummaryLogGroupName
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(DigestStreamName),
		LogEvents:     []logstypes.InputLogEvent{{Message: aws.String(string(body)), Timestamp: aws.Int64(at.UnixMilli())}},
	}
	out, err := s.logs.PutLogEvents(ctx, in)
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		_, cerr := s.logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName:  aws.String(group),
			LogStreamName: aws.String(DigestStreamName),
		})
		var exists *logstypes.ResourceAlreadyExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			return fmt.Errorf("creating log stream %s in %s: %w", DigestStreamName, group, cerr)
		}
		out, err = s.logs.PutLogEvents(ctx, in)
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
	return metrics.Emit(s.metrics, s.cfg.MetricsNamespace, nil, at,
		metrics.Metric{Name: metrics.Records, Value: float64(d.Totals.Records), Unit: metrics.Count},
		metrics.Metric{Name: metrics.AcceptedBytes, Value: float64(d.Totals.AcceptedBytes), Unit: metrics.Bytes},
		metrics.Metric{Name: metrics.RejectedBytes, Value: float64(d.Totals.RejectedBytes), Unit: metrics.Bytes},
		metrics.Metric{Name: metrics.NewInterfaces, Value: float64(d.NewInterfaces.Count), Unit: metrics.Count},
		metrics.Metric{Name: metrics.SkippedRecords, Value: float64(d.SkipData.Records), Unit: metrics.Count},
		metrics.Metric{Name: metrics.MalformedRecords, Value: float64(d.Malformed.Count), Unit: metrics.Count},
	)
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
