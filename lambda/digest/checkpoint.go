package digest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// maxRunDigestScan bounds the events read while looking for a run's own
// digest. The digest group is writable by others, and its events are read
// only in the one millisecond the run stamped its digest with, so more
// than a handful there is an attack or a bug; the search gives up rather
// than read without end, and the window is read again.
const maxRunDigestScan = 1000

// digestHead is the part of a stored digest that can prove it is a run's
// own: the run's nonce and the window.
type digestHead struct {
	Kind     string `json:"kind"`
	LogGroup string `json:"logGroup"`
	Window   struct {
		From    time.Time `json:"from"`
		To      time.Time `json:"to"`
		Partial bool      `json:"partial"`
	} `json:"window"`
	Run struct {
		Nonce string `json:"nonce"`
	} `json:"run"`
	// raw is the whole event, for OnDigest.
	raw string
}

// ownedBy reports whether h is the digest of the run that wrote intent:
// same log group, the intent's nonce, a window that starts where the
// intent's does and ends within it (a partial digest ends earlier). Nothing
// else found in the digest group, whoever wrote it, moves the checkpoint.
func (h *digestHead) ownedBy(in *runstate.Intent, logGroup string) bool {
	return h.Kind == DigestKind && h.LogGroup == logGroup && in.Nonce != "" && h.Run.Nonce == in.Nonce &&
		h.Window.From.Equal(in.From) && h.Window.To.After(in.From) && !h.Window.To.After(in.To)
}

// findRunDigest looks in the digest stream for the digest of the run that
// wrote intent, and returns it, or nil when that run wrote none. A run
// stamps its digest with the time it started (intent.StartedAt), so only
// that millisecond is read.
func findRunDigest(ctx context.Context, api LogsAPI, summaryGroup, logGroup string, in *runstate.Intent) (*digestHead, error) {
	return findRunDigestIn(ctx, api, summaryGroup, DigestStreamName, logGroup, in)
}

// findRunDigestIn is findRunDigest in the digest group's stream.
func findRunDigestIn(ctx context.Context, api LogsAPI, summaryGroup, stream, logGroup string, in *runstate.Intent) (*digestHead, error) {
	at := in.StartedAt.UnixMilli()
	p := cloudwatchlogs.NewGetLogEventsPaginator(api, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(summaryGroup),
		LogStreamName: aws.String(stream),
		StartFromHead: aws.Bool(true),
		StartTime:     aws.Int64(at),
		EndTime:       aws.Int64(at + 1), // exclusive
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	scanned := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nf *logstypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, nil // no digest stream yet: no digest
			}
			return nil, fmt.Errorf("reading the digests in %s stamped %s: %w", summaryGroup, in.StartedAt.Format(time.RFC3339Nano), err)
		}
		for _, ev := range page.Events {
			if scanned++; scanned > maxRunDigestScan {
				// Not an error: a run that failed on this would fail
				// forever. The window is read again instead.
				slog.ErrorContext(ctx, "too many events where the digest of an earlier run should be; not adopting any",
					"group", summaryGroup, "at", in.StartedAt, "limit", maxRunDigestScan)
				return nil, nil
			}
			var h digestHead
			if json.Unmarshal([]byte(aws.ToString(ev.Message)), &h) == nil && h.ownedBy(in, logGroup) {
				h.raw = aws.ToString(ev.Message)
				return &h, nil
			}
		}
	}
	return nil, nil
}

// window is the event time a run covers: [From, To).
type window struct {
	From, To time.Time
}

// checkWindow refuses a window that ends after limit (now minus the settle
// lag), wherever it came from: its records may not all be delivered yet.
func checkWindow(w window, limit time.Time) error {
	if w.To.After(limit) {
		return fmt.Errorf("refusing the window %s to %s: it ends after %s (now minus the settle lag)",
			w.From.Format(time.RFC3339), w.To.Format(time.RFC3339), limit.Format(time.RFC3339))
	}
	return nil
}

// plan is the window a run reads and the gap it skipped to get there.
type plan struct {
	w   window
	gap *Gap
}

// planWindow decides the window of a run started at now.
//
// The window ends the settle lag before now, on a whole minute (limit). It
// starts at the checkpoint; before the first run, one schedule period
// earlier. It starts no earlier than maxCatchUp before limit: an older
// checkpoint skips the gap, and the digest says so. While runs that took
// such a gap keep failing, their intent's start is kept, so that the
// failure budget counts them on one window.
func planWindow(cp runstate.Checkpoint, now time.Time, lag, period, maxCatchUp time.Duration) plan {
	var p plan
	limit := now.Add(-lag).Truncate(time.Minute)
	p.w.To = limit
	if cp.End.IsZero() {
		p.w.From = limit.Add(-period)
		return p
	}
	p.w.From = cp.End
	if earliest := limit.Add(-maxCatchUp); cp.End.Before(earliest) {
		to := earliest
		if in := cp.Intent; in != nil && in.From.After(cp.End) && !in.From.Before(earliest) && in.From.Before(limit) {
			to = in.From
		}
		p.gap = &Gap{From: cp.End, To: to, Reason: fmt.Sprintf(
			"the checkpoint was %s behind, more than the catch-up limit of %s: the records from %s to %s are not counted",
			limit.Sub(cp.End).Round(time.Minute), maxCatchUp, cp.End.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))}
		p.w.From = to
	}
	return p
}

// sliceIter cuts w into consecutive slices of length d, aligned to
// multiples of d so that boundaries read well, one at a time: a window of
// years costs no more memory than one of an hour.
func (w window) sliceIter(d time.Duration) func() (window, bool) {
	from := w.From
	return func() (window, bool) {
		if !from.Before(w.To) {
			return window{}, false
		}
		to := from.Truncate(d).Add(d)
		if to.After(w.To) {
			to = w.To
		}
		s := window{From: from, To: to}
		from = to
		return s, true
	}
}

// adopted hands a digest adopted from a failed run to OnDigest, when set,
// as the run that wrote it would have.
func (s *Summarizer) adopted(ctx context.Context, h *digestHead) error {
	if s.cfg.OnDigest == nil {
		return nil
	}
	var d Digest
	if err := json.Unmarshal([]byte(h.raw), &d); err != nil {
		return fmt.Errorf("decoding the adopted digest of %s: %w", h.Window.From.Format(time.RFC3339), err)
	}
	if err := s.cfg.OnDigest(ctx, &d); err != nil {
		return fmt.Errorf("recording the adopted digest of %s: %w", h.Window.From.Format(time.RFC3339), err)
	}
	return nil
}
