package digest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// CheckpointVersion is the version of the checkpoint JSON this code writes.
const CheckpointVersion = 1

// Checkpoint is the JSON value of the checkpoint parameter. The stack
// creates the parameter as {}, the zero Checkpoint: no run yet.
type Checkpoint struct {
	Version int `json:"version,omitempty"`
	// End is the exclusive end of all event time counted so far: the next
	// window starts here. Zero before the first run.
	End time.Time `json:"end,omitzero"`
	// Partial is true when the run that wrote it stopped before the end it
	// planned; the next run continues from End.
	Partial bool `json:"partial,omitempty"`
	// SliceSeconds is the slice length the next run uses; 0 means the
	// configured one. A run that stopped before finishing any slice halves
	// it, so that a window too dense for one run still makes progress.
	SliceSeconds int64 `json:"sliceSeconds,omitempty"`
	// UpdatedAt is when it was written.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// loadCheckpoint reads and decodes the checkpoint parameter.
func loadCheckpoint(ctx context.Context, api ParameterAPI, name string) (Checkpoint, error) {
	out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return Checkpoint{}, fmt.Errorf("reading checkpoint parameter %s: it does not exist (the stack creates it with the value {}): %w", name, err)
		}
		return Checkpoint{}, fmt.Errorf("reading checkpoint parameter %s: %w", name, err)
	}
	return decodeCheckpoint(name, aws.ToString(out.Parameter.Value))
}

func decodeCheckpoint(name, value string) (Checkpoint, error) {
	var cp Checkpoint
	if strings.TrimSpace(value) == "" {
		return cp, nil
	}
	if err := json.Unmarshal([]byte(value), &cp); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint parameter %s value %q: %w", name, value, err)
	}
	if cp.Version > CheckpointVersion {
		return Checkpoint{}, fmt.Errorf("checkpoint parameter %s has version %d; this code knows up to %d", name, cp.Version, CheckpointVersion)
	}
	return cp, nil
}

// saveCheckpoint overwrites the checkpoint parameter.
func saveCheckpoint(ctx context.Context, api ParameterAPI, name string, cp Checkpoint) error {
	cp.Version = CheckpointVersion
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encoding checkpoint: %w", err)
	}
	_, err = api.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(string(b)),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("writing checkpoint parameter %s: %w", name, err)
	}
	return nil
}

// digestHead is the part of a stored digest that decides where a run
// starts.
type digestHead struct {
	Kind     string `json:"kind"`
	LogGroup string `json:"logGroup"`
	Window   struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"window"`
}

// digestsSince returns the heads of the digests about logGroup that the
// summary group holds with a timestamp from since on, oldest first (digests
// are written with the time of their run as timestamp).
//
// It reads forward from since to the end of the stream. GetLogEvents pages
// by time, and a page can be empty while events remain, above all when
// reading backwards on a stream as sparse as the digests' (one event a
// run): an empty page is no answer, only a repeated nextForwardToken is
// the end of the stream.
func digestsSince(ctx context.Context, api LogsAPI, summaryGroup, logGroup string, since time.Time) ([]*digestHead, error) {
	p := cloudwatchlogs.NewGetLogEventsPaginator(api, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(summaryGroup),
		LogStreamName: aws.String(DigestStreamName),
		StartFromHead: aws.Bool(true),
		StartTime:     aws.Int64(since.UnixMilli()),
	}, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	var heads []*digestHead
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var nf *logstypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return nil, nil // no digest stream yet: no digest
			}
			return nil, fmt.Errorf("reading the digests in %s since %s: %w", summaryGroup, since.Format(time.RFC3339), err)
		}
		for _, ev := range page.Events {
			if h := decodeDigestHead(aws.ToString(ev.Message), logGroup); h != nil {
				heads = append(heads, h)
			}
		}
	}
	return heads, nil
}

// digestSearchStart is the earliest digest timestamp that can matter to
// planWindow. A digest it adopts starts at the checkpoint's end and was
// written at least the settle lag after its own end, so after cp.End; one
// schedule period earlier is margin for the clocks. Before the first run
// (cp.End zero) only a digest ending after now-lag-period matters, and it
// was written after that end; two periods more are margin.
func digestSearchStart(cp Checkpoint, now time.Time, lag, period time.Duration) time.Time {
	if cp.End.IsZero() {
		return now.Add(-lag - 3*period)
	}
	return cp.End.Add(-period)
}

// decodeDigestHead returns the head of a digest about logGroup, or nil for
// anything else, which says nothing about where to start.
func decodeDigestHead(msg, logGroup string) *digestHead {
	var h digestHead
	if json.Unmarshal([]byte(msg), &h) != nil || h.Kind != DigestKind || h.LogGroup != logGroup {
		return nil
	}
	return &h
}

// window is the event time a run covers: [From, To).
type window struct {
	From, To time.Time
}

// planWindow decides the window of a run started at now, given the digests
// written since the checkpoint, oldest first.
//
// The window ends the settle lag before now, on a whole minute. It starts
// at the checkpoint; before the first run, one schedule period earlier. A
// digest that starts at the checkpoint was written by a run that did not
// advance the checkpoint: its range is counted already, and the window
// starts at its end instead; so on along the chain, when several runs in a
// row failed after writing.
func planWindow(cp Checkpoint, written []*digestHead, now time.Time, lag, period time.Duration) (w window, adopted bool) {
	w.To = now.Add(-lag).Truncate(time.Minute)
	if cp.End.IsZero() {
		w.From = w.To.Add(-period)
		if len(written) > 0 {
			if last := written[len(written)-1]; last != nil && last.Window.To.After(w.From) {
				w.From, adopted = last.Window.To, true
			}
		}
		return w, adopted
	}
	w.From = cp.End
	for _, h := range written {
		if h != nil && h.Window.From.Equal(w.From) && h.Window.To.After(w.From) {
			w.From, adopted = h.Window.To, true
		}
	}
	return w, adopted
}

// slices cuts w into consecutive slices of length d, aligned to multiples
// of d since the Unix epoch so that boundaries read well.
func (w window) slices(d time.Duration) []window {
	var out []window
	for from := w.From; from.Before(w.To); {
		to := from.Truncate(d).Add(d)
		if to.After(w.To) {
			to = w.To
		}
		out = append(out, window{From: from, To: to})
		from = to
	}
	return out
}
