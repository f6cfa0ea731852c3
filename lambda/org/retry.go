package org

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// A work message of the hub's functions that failed for a reason that may
// pass comes back after a short, jittered delay rather than after its
// queue's visibility timeout (six times the function's timeout: 30
// minutes), which is sized for a message still being worked on. The jitter
// spreads the retries of account-regions that failed together (one
// throttled API) so that they do not meet again. ChangeMessageVisibility
// counts the new timeout from the call.
const (
	DefaultRetryDelayMin = 30 * time.Second
	DefaultRetryDelayMax = 120 * time.Second
)

// MayPass reports whether a failure of class c may pass by itself:
// throttling, or anything unclassified. A role missing or denied, a denied
// call or a region not enabled needs someone to act.
func (c Class) MayPass() bool { return c == ClassThrottled || c == ClassOther }

// VisibilityAPI is the part of SQS a quick retry calls; *sqs.Client
// satisfies it.
type VisibilityAPI interface {
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// QuickRetry makes a failed work message of one queue visible again soon.
// The function needs sqs:ChangeMessageVisibility on that queue only (the
// event source mapping's grant gives it).
type QuickRetry struct {
	Queue    VisibilityAPI
	QueueURL string
	// Min and Max bound the delay; zero, or Max below Min, means
	// DefaultRetryDelayMin and DefaultRetryDelayMax.
	Min, Max time.Duration
}

// Delay is a delay drawn uniformly from the retry window.
func (r QuickRetry) Delay() time.Duration {
	lo, hi := r.Min, r.Max
	if lo <= 0 || hi < lo {
		lo, hi = DefaultRetryDelayMin, DefaultRetryDelayMax
	}
	return lo + time.Duration(rand.Int64N(int64(hi-lo)+1))
}

// After makes rec visible again after Delay, rounded to the second, and
// returns that delay. Zero means that the message keeps the queue's own
// timeout: it has no receipt handle, or the change failed (logged); it
// then still comes back, later.
func (r QuickRetry) After(ctx context.Context, rec events.SQSMessage) time.Duration {
	if rec.ReceiptHandle == "" || r.Queue == nil {
		return 0
	}
	d := max(r.Delay().Round(time.Second), time.Second)
	_, err := r.Queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(r.QueueURL), ReceiptHandle: aws.String(rec.ReceiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		slog.WarnContext(ctx, "could not shorten a work message's wait: it comes back after the queue's visibility timeout",
			"messageId", rec.MessageId, "error", fmt.Errorf("changing the message's visibility: %w", err).Error())
		return 0
	}
	return d
}
