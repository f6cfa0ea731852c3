package reconcile_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

// failDescribeVpcs answers DescribeVpcs in the accounts keyOf accepts with
// an error no class names (ClassOther, which may pass), an HTTP 400 so
// that the SDK does not retry it.
func failDescribeVpcs(keyOf func(string) bool) motoproxy.Hook {
	return func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Action != "DescribeVpcs" {
			return false
		}
		m := credentialKey(r)
		if m == "" || !keyOf(m) {
			return false
		}
		motoproxy.WriteError(rw, http.StatusBadRequest, "SomethingUnexpected", "an error the enabler has no class for")
		return true
	}
}

// TestOrgRetrySoon proves, against moto's SQS, that a work message that
// failed for a reason that may pass comes back after the short jittered
// delay (here 1 to 2 s, in production 30 to 120 s) through
// ChangeMessageVisibility, instead of the queue's visibility timeout (300 s
// here, 30 minutes in the stack), while one that failed for a reason that
// needs someone to act (the spoke role missing) keeps the queue's timeout
// and is not retried in a loop.
func TestOrgRetrySoon(t *testing.T) {
	w := newOrgWorld(t, 2, []string{"us-east-1"})
	flaky, missing := w.accounts[0], w.accounts[1]
	keys := &keyOwners{owner: map[string]string{}}
	proxy.AddHook(denyAssumeRole(missing))
	proxy.AddHook(keys.hook)
	proxy.AddHook(failDescribeVpcs(keys.is(flaky)))
	w.o.RetryDelayMin, w.o.RetryDelayMax = time.Second, 2*time.Second
	const queueTimeout = 300 // seconds, as the queue's own
	direct := sqs.NewFromConfig(w.direct)
	for _, tc := range []struct {
		name, account string
		wantBack      bool
	}{
		{"a transient failure comes back after the short delay", flaky, true},
		{"a missing spoke role keeps the queue's timeout", missing, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"kind":"event","account":"` + tc.account + `","region":"us-east-1","trigger":"tag","vpcIds":["vpc-0123456789abcdef0"]}`
			if _, err := direct.SendMessage(w.ctx, &sqs.SendMessageInput{QueueUrl: aws.String(w.queueURL), MessageBody: aws.String(body)}); err != nil {
				t.Fatal(err)
			}
			msg := receiveOne(t, w, queueTimeout, 5)
			if msg == nil {
				t.Fatal("the message was not received")
			}
			changes := proxy.Count("ChangeMessageVisibility")
			handled := time.Now()
			raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{*msg}})
			out, err := w.h.Handle(w.ctx, raw)
			if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 1 {
				t.Fatalf("handling the message: %+v, %v; want it reported failed", out, err)
			}
			again := receiveOne(t, w, queueTimeout, 4)
			switch {
			case tc.wantBack && again == nil:
				t.Fatal("the message did not come back within 4 s")
			case tc.wantBack:
				back := time.Since(handled)
				if back < time.Second || again.Attributes["ApproximateReceiveCount"] != "2" {
					t.Errorf("back after %s, received %s times; want after at least 1 s, the second time", back, again.Attributes["ApproximateReceiveCount"])
				}
				deleteMessage(t, w, again)
			case again != nil:
				t.Errorf("the message came back after %s, want it kept for the queue's %d s", time.Since(handled), queueTimeout)
			}
			if got, want := proxy.Count("ChangeMessageVisibility")-changes, map[bool]int{true: 1, false: 0}[tc.wantBack]; got != want {
				t.Errorf("%d ChangeMessageVisibility calls, want %d", got, want)
			}
		})
	}
}

// receiveOne waits up to wait seconds for a message, received with the
// given visibility timeout as the event source mapping would (the queue's).
func receiveOne(t *testing.T, w *orgWorld, visibility, wait int32) *events.SQSMessage {
	t.Helper()
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for time.Now().Before(deadline) {
		out, err := sqs.NewFromConfig(w.direct).ReceiveMessage(w.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL),
			MaxNumberOfMessages: 1, VisibilityTimeout: visibility, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			m := out.Messages[0]
			return &events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), EventSource: "aws:sqs", Attributes: m.Attributes}
		}
	}
	return nil
}

func deleteMessage(t *testing.T, w *orgWorld, m *events.SQSMessage) {
	t.Helper()
	if _, err := sqs.NewFromConfig(w.direct).DeleteMessage(w.ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL),
		ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
		t.Fatal(err)
	}
}

// credentialKey is the access key id a request is signed with, or "".
func credentialKey(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}
