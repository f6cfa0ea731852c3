package org_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// visibilityRecorder records the ChangeMessageVisibility calls it gets and
// answers them with err.
type visibilityRecorder struct {
	calls []*sqs.ChangeMessageVisibilityInput
	err   error
}

func (v *visibilityRecorder) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	v.calls = append(v.calls, in)
	return &sqs.ChangeMessageVisibilityOutput{}, v.err
}

// TestQuickRetry proves the shared quick retry of both hub functions: the
// delay stays in its window (the defaults when none is set) and spreads
// over it; After changes the message's visibility on the configured queue
// to that delay, in whole seconds; a message without a receipt handle, or
// a change SQS refuses, keeps the queue's timeout (zero); and only
// throttling and unclassified failures may pass.
func TestQuickRetry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		lo, hi   time.Duration
	}{
		{"defaults", 0, 0, 30 * time.Second, 120 * time.Second},
		{"a window of its own", 3 * time.Second, 5 * time.Second, 3 * time.Second, 5 * time.Second},
		{"a window upside down takes the defaults", 5 * time.Second, time.Second, 30 * time.Second, 120 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := org.QuickRetry{Min: tc.min, Max: tc.max}
			seen := map[time.Duration]bool{}
			for range 2000 {
				d := r.Delay()
				if d < tc.lo || d > tc.hi {
					t.Fatalf("delay %s outside [%s, %s]", d, tc.lo, tc.hi)
				}
				seen[d.Truncate(time.Second)] = true
			}
			if want := int((tc.hi - tc.lo) / time.Second); len(seen) < want {
				t.Errorf("%d distinct whole seconds in 2000 delays, want at least %d: no jitter", len(seen), want)
			}
		})
	}

	q := &visibilityRecorder{}
	r := org.QuickRetry{Queue: q, QueueURL: "https://sqs.example/q", Min: 3 * time.Second, Max: 5 * time.Second}
	rec := events.SQSMessage{MessageId: "m-1", ReceiptHandle: "handle-1"}
	d := r.After(t.Context(), rec)
	if len(q.calls) != 1 || d < 3*time.Second || d > 5*time.Second || d != d.Round(time.Second) {
		t.Fatalf("After: %s, %d calls; want one call and a whole number of seconds in [3 s, 5 s]", d, len(q.calls))
	}
	if in := q.calls[0]; aws.ToString(in.QueueUrl) != r.QueueURL || aws.ToString(in.ReceiptHandle) != "handle-1" || in.VisibilityTimeout != int32(d/time.Second) {
		t.Errorf("call %+v, want queue %s, handle-1, %d s", in, r.QueueURL, int(d/time.Second))
	}
	if d := r.After(t.Context(), events.SQSMessage{MessageId: "m-2"}); d != 0 || len(q.calls) != 1 {
		t.Errorf("without a receipt handle: %s, %d calls; want 0 and no call", d, len(q.calls))
	}
	q.err = errors.New("refused")
	if d := r.After(t.Context(), rec); d != 0 {
		t.Errorf("a refused change returned %s, want 0: the message keeps the queue's timeout", d)
	}

	for class, want := range map[org.Class]bool{org.ClassThrottled: true, org.ClassOther: true, org.ClassOK: false,
		org.ClassRoleUnavailable: false, org.ClassDenied: false, org.ClassRegionNotEnabled: false} {
		if class.MayPass() != want {
			t.Errorf("%s.MayPass() = %v, want %v", class, !want, want)
		}
	}
}
