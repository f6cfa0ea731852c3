package digest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"golang.org/x/time/rate"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// pacer spaces calls evenly, at most rate a second, across goroutines: a
// token bucket of one token (golang.org/x/time/rate), so the first call goes
// at once and each next one an interval after the one before. The SDK
// retries throttles but does not pace; pacing keeps a run's reads under the
// account's CloudWatch Logs quotas so that the retries stay rare.
type pacer struct{ limiter *rate.Limiter }

// newPacer returns a pacer for rate calls a second, or nil (no pacing) for
// a rate that is not positive.
func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 {
		return nil
	}
	return &pacer{limiter: rate.NewLimiter(rate.Limit(perSecond), 1)}
}

// wait blocks until the caller's turn or ctx ends, and then returns
// ctx.Err(). It reserves rather than calling Limiter.Wait, which fails at
// once, with an error of its own, when the turn lies past ctx's deadline:
// readSlices tells the run's read deadline from a failure by whether the
// read context has ended, so the pacer must return only once it has.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	r := p.limiter.Reserve()
	d := r.Delay()
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// The turn stays taken, as the hand-written pacer before it left
		// it: the callers after this one keep their places.
		return ctx.Err()
	}
}

// pacedLogs paces the paginated reads of a LogsAPI and counts the
// FilterLogEvents calls.
type pacedLogs struct {
	LogsAPI
	filter, describe *pacer
	filterCalls      *atomic.Int64
}

func (p pacedLogs) FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if err := p.filter.wait(ctx); err != nil {
		return nil, err
	}
	if p.filterCalls != nil {
		p.filterCalls.Add(1)
	}
	return p.LogsAPI.FilterLogEvents(ctx, in, opts...)
}

func (p pacedLogs) DescribeLogStreams(ctx context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	if err := p.describe.wait(ctx); err != nil {
		return nil, err
	}
	return p.LogsAPI.DescribeLogStreams(ctx, in, opts...)
}

// tally holds the counts a run keeps beside the aggregator's.
type tally struct {
	AcceptedBytes uint64
	RejectedBytes uint64
	// OtherFormat counts records that their stream's format did not read
	// and another known format did.
	OtherFormat uint64
	// Events counts the events read; OutsideWindow those the service
	// returned outside the requested time range, which are ignored.
	Events        uint64
	OutsideWindow uint64

	// Objects counts the S3 objects read; BadObjects those that could not
	// be read (a key off AWS's layout, too large, not Parquet or gzip text
	// of a known format), each named in BadObjectSamples up to
	// maxBadObjectSamples. Their records are not counted; nothing else is
	// lost.
	Objects          uint64
	BadObjects       uint64
	BadObjectSamples []string
}

func (t *tally) add(o tally) {
	t.AcceptedBytes += o.AcceptedBytes
	t.RejectedBytes += o.RejectedBytes
	t.OtherFormat += o.OtherFormat
	t.Events += o.Events
	t.OutsideWindow += o.OutsideWindow
	t.Objects += o.Objects
	t.BadObjects += o.BadObjects
	for _, s := range o.BadObjectSamples {
		if len(t.BadObjectSamples) < maxBadObjectSamples {
			t.BadObjectSamples = append(t.BadObjectSamples, s)
		}
	}
}

// lineReader parses the lines of any stream of the group into one
// aggregator. It is not safe for concurrent use.
type lineReader struct {
	fs      *formats
	agg     *flowrecord.Aggregator
	parsers map[*flowrecord.Format]*flowrecord.Parser
	rec     flowrecord.Record
	t       tally

	// streams holds what each stream's name tells; recent caches its
	// entries by a cheap hash of the name. FilterLogEvents interleaves the
	// events of a group's streams, so the name changes from one event to
	// the next, and working out its interface and format again, or even
	// hashing all of it for a map, costs a good part of parsing the line.
	streams map[string]*streamInfo
	recent  [64]*streamInfo
}

// streamInfo is what an event's stream name tells: the interface a record
// without ${interface-id} belongs to, and the format to read it with.
type streamInfo struct {
	name   string
	eni    string
	format *flowrecord.Format // nil when no flow log describes the stream
	parser *flowrecord.Parser // for format
}

func newLineReader(fs *formats, agg *flowrecord.Aggregator) *lineReader {
	return &lineReader{
		fs:      fs,
		agg:     agg,
		parsers: map[*flowrecord.Format]*flowrecord.Parser{},
		streams: map[string]*streamInfo{},
	}
}

// stream returns what name tells.
func (lr *lineReader) stream(name string) *streamInfo {
	slot := &lr.recent[streamSlot(name)]
	if s := *slot; s != nil && s.name == name {
		return s
	}
	s := lr.streams[name]
	if s == nil {
		name = strings.Clone(name) // the key must not pin the page
		s = &streamInfo{name: name, eni: streamInterface(name), format: lr.fs.forStream(name)}
		if s.format != nil {
			s.parser = lr.parser(s.format)
		}
		lr.streams[name] = s
	}
	*slot = s
	return s
}

// streamSlot hashes the first and last eight bytes of a stream name, where
// names such as "eni-0a1b2c3d4e5f67890-all" differ.
func streamSlot(name string) int {
	h := uint64(len(name))
	if n := len(name); n >= 8 {
		h ^= le64(name) ^ le64(name[n-8:])*0xc2b2ae3d27d4eb4f
	}
	return int(h * 0x9e3779b97f4a7c15 >> 58)
}

// le64 reads the first eight bytes of s, little-endian; the compiler makes
// it one load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (lr *lineReader) parser(f *flowrecord.Format) *flowrecord.Parser {
	p := lr.parsers[f]
	if p == nil {
		p = flowrecord.NewParser(f)
		lr.parsers[f] = p
	}
	return p
}

// add reads one event's line from the named stream.
func (lr *lineReader) add(streamName, line string) {
	lr.t.Events++
	s := lr.stream(streamName)
	var firstErr error
	if s.parser != nil {
		s.parser.SetInterfaceID(s.eni)
		firstErr = s.parser.Parse(line, &lr.rec)
		if firstErr == nil {
			lr.count()
			return
		}
	}
	if n := fieldCount(line); n > 0 {
		for _, f := range lr.fs.candidates {
			if f == s.format || f.Len() != n {
				continue
			}
			p := lr.parser(f)
			p.SetInterfaceID(s.eni)
			err := p.Parse(line, &lr.rec)
			if err == nil {
				if s.format != nil {
					lr.t.OtherFormat++
				}
				lr.count()
				return
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no known format has %d fields", fieldCount(line))
	}
	lr.agg.AddMalformed(line, firstErr)
}

// addWith reads one line with p, the parser of the line's own format (an
// S3 object's, from its header or columns): no stream tells its interface,
// and no other format is tried.
func (lr *lineReader) addWith(p *flowrecord.Parser, line string) {
	lr.t.Events++
	if err := p.Parse(line, &lr.rec); err != nil {
		lr.agg.AddMalformed(line, err)
		return
	}
	lr.count()
}

func (lr *lineReader) count() {
	switch lr.rec.Action {
	case flowrecord.ActionAccept:
		lr.t.AcceptedBytes += lr.rec.Bytes
	case flowrecord.ActionReject:
		lr.t.RejectedBytes += lr.rec.Bytes
	}
	lr.agg.Add(&lr.rec)
}

// fieldCount is the number of space-separated fields of a line, ignoring
// a trailing newline as the parser does; 0 for an empty line.
func fieldCount(line string) int {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if line == "" {
		return 0
	}
	n := 1
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' {
			n++
		}
	}
	return n
}

// sliceResult is the outcome of reading one slice.
type sliceResult struct {
	agg *flowrecord.Aggregator
	t   tally
	err error
}

// reader reads slices of the flow log group's events.
type reader struct {
	api       LogsAPI
	group     string
	fs        *formats
	opts      flowrecord.Options
	pageLimit int32
}

// readSlice reads every event of w, following all pages: a page may be
// empty while more remain, and only a missing nextToken ends it.
// FilterLogEvents takes an inclusive endTime, so the half-open slice ends
// one millisecond before w.To.
func (r *reader) readSlice(ctx context.Context, w window) sliceResult {
	agg := flowrecord.NewAggregator(r.opts)
	lr := newLineReader(r.fs, agg)
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(r.group),
		StartTime:    aws.Int64(w.From.UnixMilli()),
		EndTime:      aws.Int64(w.To.UnixMilli() - 1),
	}
	if r.pageLimit > 0 {
		in.Limit = aws.Int32(r.pageLimit)
	}
	from, to := w.From.UnixMilli(), w.To.UnixMilli()
	p := cloudwatchlogs.NewFilterLogEventsPaginator(r.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return sliceResult{err: fmt.Errorf("reading events of %s from %s to %s: %w", r.group, w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), err)}
		}
		for i := range page.Events {
			ev := &page.Events[i]
			if ts := aws.ToInt64(ev.Timestamp); ts < from || ts >= to {
				lr.t.OutsideWindow++
				continue
			}
			lr.add(aws.ToString(ev.LogStreamName), aws.ToString(ev.Message))
		}
	}
	return sliceResult{agg: agg, t: lr.t}
}

// readOutcome is what reading a window's slices gave.
type readOutcome struct {
	finished int                    // slices finished, from the first
	covered  time.Time              // the end of the last finished slice
	agg      *flowrecord.Aggregator // their records; nil when none finished
	t        tally
	stopped  bool // the read deadline stopped the reading
}

// pendingSlice is a slice being read, in the order next gave it.
type pendingSlice struct {
	w   window
	res chan sliceResult
}

// readSlices reads the slices next gives, with at most conc at a time, and
// merges them in order. A slice counts only when it and every slice before
// it finished, so the outcome always covers a prefix of the window exactly.
// When readCtx ends (the run's read deadline) the outcome is that prefix;
// any other failure is an error. Slices are drawn from next only as reads
// start, and at most conc are held at once, read or waiting for an earlier
// one, which bounds memory whatever the window's length.
func (r *reader) readSlices(ctx, readCtx context.Context, next func() (window, bool), conc int) (readOutcome, error) {
	return readSlices(ctx, readCtx, r, next, conc)
}

// readSlices reads the slices next gives from src: see reader.readSlices.
func readSlices(ctx, readCtx context.Context, src source, next func() (window, bool), conc int) (readOutcome, error) {
	var out readOutcome
	runCtx, cancel := context.WithCancel(readCtx)
	// Every slice in order holds a token of sem until merged, so order
	// never holds more than conc and the feeder never blocks on it.
	order := make(chan pendingSlice, conc)
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	// Cancel, then wait, in this order: the feeder may be blocked on sem,
	// which only cancelling frees. No read outlives the call.
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() {
		defer close(order)
		for {
			w, ok := next()
			if !ok {
				return
			}
			select {
			case sem <- struct{}{}:
			case <-runCtx.Done():
				return
			}
			if runCtx.Err() != nil {
				return
			}
			p := pendingSlice{w: w, res: make(chan sliceResult, 1)}
			wg.Go(func() { p.res <- src.readSlice(runCtx, w) })
			order <- p
		}
	})
	for p := range order {
		var res sliceResult
		select {
		case res = <-p.res: // a finished slice counts even at the deadline
		default:
			select {
			case res = <-p.res:
			case <-runCtx.Done():
				res.err = runCtx.Err()
			}
		}
		if res.err != nil {
			if ctx.Err() == nil && readCtx.Err() != nil {
				out.stopped = true
				return out, nil
			}
			return out, res.err
		}
		if out.agg == nil {
			out.agg = res.agg
		} else {
			out.agg.Merge(res.agg)
		}
		out.t.add(res.t)
		out.finished++
		out.covered = p.w.To
		<-sem
	}
	// The feeder also stops when the contexts end before a read starts.
	if err := ctx.Err(); err != nil {
		return out, err
	}
	out.stopped = readCtx.Err() != nil
	return out, nil
}
