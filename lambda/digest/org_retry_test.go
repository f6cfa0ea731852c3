package digest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
)

// countingQueue counts the summarizer's ChangeMessageVisibility calls.
type countingQueue struct {
	digest.QueueAPI
	changes atomic.Int32
}

func (q *countingQueue) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.changes.Add(1)
	return q.QueueAPI.ChangeMessageVisibility(ctx, in, opts...)
}

// TestOrgRetrySoon proves, against moto's SQS, that a summarizer work
// message that failed for a reason that may pass comes back after the
// short jittered delay (here 1 to 2 s, in production 30 to 120 s) through
// ChangeMessageVisibility, instead of the queue's visibility timeout (300 s
// here, 30 minutes in the stack): a throttled region, and the account
// whose reader role cannot be assumed (its StackSet instance not deployed
// yet); while a region that is not enabled, which needs someone to act,
// keeps the queue's timeout. The digested account-regions are not
// retried at all.
func TestOrgRetrySoon(t *testing.T) {
	bad := orgRegions[1]
	const queueTimeout = 300 // seconds, as the queue's own
	for _, tc := range []struct {
		name, action, code string
		badSoon            bool
	}{
		{"a throttled region comes back soon", "FilterLogEvents", "ThrottlingException", true},
		{"a region not enabled keeps the queue's timeout", "", "UnrecognizedClientException", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOrgWorld(t)
			w.deliver(t, w.f.real.Add(-50*time.Minute), 5)
			failRegionLogs(w.p, bad, tc.action, http.StatusBadRequest, tc.code)
			q := &countingQueue{QueueAPI: w.clients.Queue}
			c := w.clients
			c.Queue = q
			var err error
			if w.o, err = digest.NewOrg(w.f.cfg, w.settings, c); err != nil {
				t.Fatal(err)
			}
			w.o.SetRetryDelay(time.Second, 2*time.Second)
			w.tick(t)

			handled := map[string]time.Time{}
			soon := map[string]string{} // message id → account/region
			for _, m := range w.receive(t, queueTimeout, 2*time.Second) {
				var body digest.WorkMessage
				if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
					t.Fatal(err)
				}
				failed := w.handleOne(t, m)
				ar := body.Account + "/" + body.Region
				missing, inBad := body.Account == w.missing, body.Region == bad
				if failed != (missing || inBad) {
					t.Errorf("%s: failed %v, want %v", ar, failed, missing || inBad)
				}
				if !failed {
					w.deleteMessage(t, m)
				}
				if missing || (inBad && tc.badSoon) {
					soon[m.MessageId] = ar
				}
				handled[m.MessageId] = time.Now()
			}
			if len(handled) != 6 {
				t.Fatalf("%d messages received, want one per account-region: 6", len(handled))
			}
			back := w.receive(t, queueTimeout, 4*time.Second)
			got := map[string]string{}
			for _, m := range back {
				got[m.MessageId] = m.Attributes["ApproximateReceiveCount"]
				if after := time.Since(handled[m.MessageId]); after < time.Second {
					t.Errorf("message %s (%s) back after %s, want after at least 1 s", m.MessageId, soon[m.MessageId], after)
				}
				w.deleteMessage(t, m)
			}
			for id, ar := range soon {
				if got[id] != "2" {
					t.Errorf("%s: not back within 4 s for its second delivery (received %q)", ar, got[id])
				}
			}
			for id := range got {
				if _, ok := soon[id]; !ok {
					t.Errorf("message %s came back, want it kept for the queue's %d s", id, queueTimeout)
				}
			}
			if n := int(q.changes.Load()); n != len(soon) {
				t.Errorf("%d ChangeMessageVisibility calls, want %d (one per message to retry soon)", n, len(soon))
			}
		})
	}
}

// receive receives every message that becomes visible within wait, each
// with the given visibility timeout, as the event source mapping would
// (the queue's).
func (w *orgWorld) receive(t *testing.T, visibility int32, wait time.Duration) []events.SQSMessage {
	t.Helper()
	var msgs []events.SQSMessage
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		out, err := w.sqs.ReceiveMessage(w.f.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL),
			MaxNumberOfMessages: 10, VisibilityTimeout: visibility, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			msgs = append(msgs, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), EventSource: "aws:sqs", Attributes: m.Attributes})
		}
	}
	return msgs
}

// handleOne invokes the summarizer with one message, receipt handle
// included, and reports whether it was reported failed.
func (w *orgWorld) handleOne(t *testing.T, m events.SQSMessage) bool {
	t.Helper()
	raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{m}})
	out, err := w.o.Handle(w.f.ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return len(out.(events.SQSEventResponse).BatchItemFailures) > 0
}

func (w *orgWorld) deleteMessage(t *testing.T, m events.SQSMessage) {
	t.Helper()
	if _, err := w.sqs.DeleteMessage(w.f.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
		t.Fatal(err)
	}
}
