package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// A work message that failed for a reason that may pass (throttling, an
// unclassified error, the run state's store) comes back after a short,
// jittered delay rather than the queue's visibility timeout (six times
// the function's timeout: 30 minutes), which is sized for a message still
// being worked on. The jitter spreads the retries of accounts that failed
// together (one throttled API) so that they do not meet again.
// ChangeMessageVisibility counts the new timeout from the call.
const (
	DefaultRetryDelayMin = 30 * time.Second
	DefaultRetryDelayMax = 120 * time.Second
)

// transientError is a message's failure worth retrying soon.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// transient reports whether every failed outcome may pass by itself.
// A spoke role missing or denied, a denied call or a region not enabled
// needs someone to act: its message keeps the queue's timeout, so it is
// retried slowly (and lands in the dead-letter queue, whose alarm says so)
// instead of in a loop.
func transient(outs []org.Outcome) bool {
	for _, o := range outs {
		if o.Class != org.ClassOK && o.Class != org.ClassThrottled && o.Class != org.ClassOther {
			return false
		}
	}
	return true
}

// retryDelay is a delay drawn uniformly from the retry window.
func (o *OrgMode) retryDelay() time.Duration {
	lo, hi := o.RetryDelayMin, o.RetryDelayMax
	if lo <= 0 || hi < lo {
		lo, hi = DefaultRetryDelayMin, DefaultRetryDelayMax
	}
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// retrySoon makes a message that failed transiently visible again after
// retryDelay, and returns the delay; zero means the message keeps the
// queue's own timeout (a permanent failure, or the change failed: the
// message then still comes back, later).
func (h *Handler) retrySoon(ctx context.Context, rec events.SQSMessage, failure error) time.Duration {
	var te transientError
	if !errors.As(failure, &te) || rec.ReceiptHandle == "" {
		return 0
	}
	o := h.org
	d := o.retryDelay().Round(time.Second)
	_, err := o.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(o.Settings.WorkQueueURL), ReceiptHandle: aws.String(rec.ReceiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		slog.WarnContext(ctx, "could not shorten a work message's wait: it comes back after the queue's visibility timeout",
			"messageId", rec.MessageId, "error", fmt.Errorf("changing the message's visibility: %w", err).Error())
		return 0
	}
	return d
}
