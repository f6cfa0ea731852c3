package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// transientError is a message's failure worth retrying soon
// (org.QuickRetry): every failed account-region's class may pass
// (org.Class.MayPass), or the run state's store failed.
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
		if o.Class != org.ClassOK && !o.Class.MayPass() {
			return false
		}
	}
	return true
}

// retrySoon makes a message that failed transiently visible again after
// a delay drawn from the retry window, and returns the delay; zero means
// the message keeps the queue's own timeout (a permanent failure, or the
// change failed: the message then still comes back, later).
func (h *Handler) retrySoon(ctx context.Context, rec events.SQSMessage, failure error) time.Duration {
	var te transientError
	if !errors.As(failure, &te) {
		return 0
	}
	o := h.org
	return org.QuickRetry{Queue: o.Queue, QueueURL: o.Settings.WorkQueueURL, Min: o.RetryDelayMin, Max: o.RetryDelayMax}.After(ctx, rec)
}
