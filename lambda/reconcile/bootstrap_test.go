package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The tests below run the shipped artifact: the linux/arm64 bootstrap of
// lambda/enabler under the Lambda Runtime Interface Emulator (through
// qemu-aarch64-static on other machines), pointed at motoproxy and moto by
// AWS_ENDPOINT_URL, answering CloudFormation at a local ResponseURL.

var bootstrap = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "enabler-bootstrap-")
	if err != nil {
		return "", err
	}
	cleanups = append(cleanups, func() { _ = os.RemoveAll(dir) })
	return testenv.Bootstrap("enabler", dir)
})

// startEnabler runs the bootstrap under the emulator with the stack's
// environment, changed by override.
func startEnabler(t *testing.T, timeout time.Duration, override map[string]string) *testenv.RIE {
	t.Helper()
	testenv.NeedLambda(t)
	path, err := bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	vars := testEnv()
	maps.Copy(vars, override)
	env := testenv.EndpointEnv(proxy.URL)
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	rie, err := testenv.StartRIE(testenv.RIEConfig{Bootstrap: path, Env: env, Timeout: timeout, Memory: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("function log:\n%s", rie.Log())
		}
		_ = rie.Close()
	})
	return rie
}

// asDelete turns a Create request into the Delete CloudFormation sends
// after it, carrying physicalID.
func asDelete(t *testing.T, raw []byte, physicalID string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["RequestType"] = "Delete"
	m["PhysicalResourceId"] = physicalID
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBootstrapCustomResource(t *testing.T) {
	f := newFixture(t)
	f.vpc("flowlogs", "on")
	f.vpc("flowlogs", "on")
	f.vpc()
	rie := startEnabler(t, 60*time.Second, nil)
	responder := testenv.StartCFNResponder()
	defer responder.Close()
	stack := "arn:aws:cloudformation:us-east-1:123456789012:stack/bootstrap/1"

	steps := []struct {
		name       string
		file       string
		logicalID  string
		delete     bool // send the file as the Delete that follows it
		wantStatus string
		wantReason string
		wantData   map[string]string
	}{
		{name: "Create", file: "cfn-create.json", logicalID: "Enabler", wantStatus: "SUCCESS",
			wantData: map[string]string{"Tagged": "2", "Covered": "2", "Created": "2", "Failed": "0"}},
		{name: "Update", file: "cfn-update.json", logicalID: "Enabler", wantStatus: "SUCCESS",
			wantData: map[string]string{"Tagged": "2", "Covered": "2", "Replaced": "2", "Created": "0"}},
		{name: "Delete", file: "cfn-delete.json", logicalID: "Enabler", wantStatus: "SUCCESS",
			wantData: map[string]string{"Removed": "2"}},
		{name: "Create without a log group", file: "cfn-create-no-log-group.json", logicalID: "NoLogGroup",
			wantStatus: "FAILED", wantReason: `log group name ""`},
		{name: "Delete after the failed Create", file: "cfn-create-no-log-group.json", logicalID: "NoLogGroup", delete: true,
			wantStatus: "SUCCESS"},
		{name: "Create with a bad traffic type", file: "cfn-create-bad-traffic-type.json", logicalID: "BadTrafficType",
			wantStatus: "FAILED", wantReason: `traffic type "EVERYTHING" is not valid`},
		{name: "Delete after that failed Create", file: "cfn-create-bad-traffic-type.json", logicalID: "BadTrafficType", delete: true,
			wantStatus: "SUCCESS"},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			id := fmt.Sprintf("bootstrap-%d", i)
			physicalID := reconcile.PhysicalID(stack, s.logicalID)
			raw := event(t, s.file, map[string]string{"RESPONSE_URL": responder.URL(id), "STACK_ID": stack,
				"REQUEST_ID": id, "LOGICAL_ID": s.logicalID, "PHYSICAL_ID": physicalID})
			if s.delete {
				raw = asDelete(t, raw, physicalID)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if _, err := rie.Invoke(ctx, raw); err != nil {
				t.Fatal(err)
			}
			got := responder.Responses(id)
			if len(got) != 1 {
				t.Fatalf("%d responses, want exactly one", len(got))
			}
			r := got[0]
			if string(r.Body.Status) != s.wantStatus || !strings.Contains(r.Body.Reason, s.wantReason) {
				t.Errorf("status %s, reason %q; want %s, reason containing %q", r.Body.Status, r.Body.Reason, s.wantStatus, s.wantReason)
			}
			if r.Body.PhysicalResourceID != physicalID {
				t.Errorf("physical id %q, want the stable %q", r.Body.PhysicalResourceID, physicalID)
			}
			if len(r.Raw) > reconcile.MaxResponseBytes {
				t.Errorf("response has %d bytes", len(r.Raw))
			}
			for k, want := range s.wantData {
				if r.Body.Data[k] != want {
					t.Errorf("Data[%s] = %v, want %s (Data %v)", k, r.Body.Data[k], want, r.Body.Data)
				}
			}
		})
	}

	t.Run("scheduled sweep", func(t *testing.T) {
		out, err := rie.Invoke(context.Background(), event(t, "scheduled.json", nil))
		if err != nil {
			t.Fatal(err)
		}
		var res reconcile.Result
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("answer %s: %v", out, err)
		}
		if res.Tagged != 2 || res.Covered != 2 || res.Created != 2 {
			t.Errorf("result %s", counts(res))
		}
	})

	t.Run("one JSON log line per action and a summary", func(t *testing.T) {
		var actions, summaries, metrics int
		for _, line := range strings.Split(rie.Log(), "\n") {
			var doc map[string]any
			if json.Unmarshal([]byte(line), &doc) != nil {
				continue
			}
			switch {
			// lambdacontext's JSON handler writes slog's msg as "message".
			case doc["message"] == "flow log action" && doc["vpcId"] != nil && doc["action"] != nil:
				actions++
			case doc["message"] == "reconcile summary":
				summaries++
			case doc["_aws"] != nil:
				metrics++
			}
		}
		// 2 created, 2 replaced, 2 removed, 2 created by the sweep. Six
		// runs: Create, Update, three Deletes and the sweep (the Creates
		// with bad properties stop before running).
		if actions != 8 || summaries != 6 || metrics != 6 {
			t.Errorf("%d action lines, %d summaries, %d metric lines; want 8, 6, 6", actions, summaries, metrics)
		}
	})
}

// TestBootstrapDeadline holds CreateFlowLogs in the proxy longer than the
// function may run: the function must still answer, once, before its own
// timeout, with what it did and the rest left pending.
func TestBootstrapDeadline(t *testing.T) {
	f := newFixture(t)
	f.vpc("flowlogs", "on")
	f.vpc("flowlogs", "on")
	proxy.AddHook(motoproxy.Delay("CreateFlowLogs", time.Minute))
	rie := startEnabler(t, 8*time.Second, nil)
	responder := testenv.StartCFNResponder()
	defer responder.Close()
	stack := "arn:aws:cloudformation:us-east-1:123456789012:stack/deadline/1"

	start := time.Now()
	raw := event(t, "cfn-create.json", map[string]string{"RESPONSE_URL": responder.URL("deadline"), "STACK_ID": stack,
		"REQUEST_ID": "deadline", "LOGICAL_ID": "Enabler"})
	if _, err := rie.Invoke(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	got := responder.Responses("deadline")
	if len(got) != 1 {
		t.Fatalf("%d responses, want exactly one", len(got))
	}
	r := got[0]
	if r.Body.Status != cfn.StatusSuccess || r.Body.PhysicalResourceID != reconcile.PhysicalID(stack, "Enabler") || r.Body.Data["Pending"] != "2" {
		t.Errorf("response %s %q %v, want SUCCESS with 2 pending", r.Body.Status, r.Body.PhysicalResourceID, r.Body.Data)
	}
	if len(r.Raw) > reconcile.MaxResponseBytes {
		t.Errorf("response has %d bytes", len(r.Raw))
	}
	if took >= 8*time.Second || strings.Contains(rie.Log(), "Task timed out") {
		t.Errorf("the invocation took %s and timed out", took)
	}
}

// TestBootstrapAnswerRetries makes the local ResponseURL fail the first
// attempts of each answer, as S3 can: the shipped function must retry what
// may pass (503, a dropped connection, an attempt that hangs) until it is
// accepted exactly once, and give up at once on a 400. With
// cfn.LambdaWrap's single send through http.DefaultClient, a 503 or a drop
// meant no answer at all and a hang lasted until the function timed out.
func TestBootstrapAnswerRetries(t *testing.T) {
	newFixture(t)
	// A short timeout, so that the hanging attempt's time limit (at most
	// half the time left) is short too.
	const timeout = 15 * time.Second
	rie := startEnabler(t, timeout, nil)
	responder := testenv.StartCFNResponder()
	defer responder.Close()
	stack := "arn:aws:cloudformation:us-east-1:123456789012:stack/answer/1"

	tests := []struct {
		name         string
		fault        testenv.Fault
		failures     int
		wantAttempts int
		wantAccepted int
		wantLog      string // in the function's log
	}{
		{name: "two 503s, then accepted", fault: testenv.FaultUnavailable, failures: 2, wantAttempts: 3, wantAccepted: 1},
		{name: "a dropped connection is retried", fault: testenv.FaultDrop, failures: 1, wantAttempts: 2, wantAccepted: 1},
		{name: "a hanging attempt is retried after its time limit", fault: testenv.FaultHang, failures: 1, wantAttempts: 2, wantAccepted: 1},
		{name: "a 400 is final and logged", fault: testenv.FaultBadRequest, failures: 5, wantAttempts: 1, wantAccepted: 0,
			wantLog: "HTTP 400"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("answer-%d", i)
			responder.FailFirst(id, tt.failures, tt.fault)
			raw := event(t, "cfn-create.json", map[string]string{"RESPONSE_URL": responder.URL(id), "STACK_ID": stack,
				"REQUEST_ID": id, "LOGICAL_ID": "Enabler"})
			start := time.Now()
			// A function error (the 400 case) is an answer too.
			out, err := rie.Invoke(context.Background(), raw)
			took := time.Since(start)
			attempts, accepted := responder.Attempts(id), responder.Responses(id)
			if len(attempts) != tt.wantAttempts || len(accepted) != tt.wantAccepted {
				t.Fatalf("%d attempts, %d accepted; want %d and %d (invocation answered %s, %v)",
					len(attempts), len(accepted), tt.wantAttempts, tt.wantAccepted, out, err)
			}
			for _, a := range attempts {
				if a.Body.Status != cfn.StatusSuccess || a.Body.PhysicalResourceID != reconcile.PhysicalID(stack, "Enabler") ||
					string(a.Raw) != string(attempts[0].Raw) {
					t.Errorf("attempt %s: %s %q, want the same SUCCESS body each time", a.Fault, a.Body.Status, a.Body.PhysicalResourceID)
				}
			}
			if took >= timeout || strings.Contains(rie.Log(), "Task timed out") {
				t.Errorf("the invocation took %s and timed out", took)
			}
			if tt.wantLog != "" && !strings.Contains(rie.Log(), tt.wantLog) {
				t.Errorf("the function's log does not say %q", tt.wantLog)
			}
		})
	}
}

// TestBootstrapStackGone proves that the shipped binary wires the stack
// check (lambda/enabler/main.go gives the handler a CloudFormation client
// from the same configuration): its owner is a stack created and deleted in
// moto, and a tag event and a sweep for a tagged VPC with no flow log create
// nothing, saying why. Without the wiring both create the flow log.
func TestBootstrapStackGone(t *testing.T) {
	f := newFixture(t)
	owner := f.stack("gone")
	f.deleteStack(owner)
	vpc := f.vpc("flowlogs", "on")
	rie := startEnabler(t, 30*time.Second, map[string]string{settings.EnvOwner: owner})
	for _, file := range []string{"tag-change.json", "scheduled.json"} {
		t.Run(file, func(t *testing.T) {
			proxy.ResetCalls()
			out, err := rie.Invoke(context.Background(), event(t, file, map[string]string{"VPC_ID": vpc}))
			if err != nil {
				t.Fatal(err)
			}
			var res reconcile.Result
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("answer %s: %v", out, err)
			}
			if res.Stopped != "the stack is DELETE_COMPLETE" {
				t.Errorf("answer %s, want one stopped for DELETE_COMPLETE", out)
			}
			if calls := proxy.Calls(); calls["DescribeStacks"] != 1 || calls["CreateFlowLogs"] != 0 {
				t.Errorf("calls %v, want one DescribeStacks and no CreateFlowLogs", calls)
			}
			if got := f.ownedBy(vpc, owner); len(got) != 0 {
				t.Errorf("VPC %s has the deleted stack's flow logs %v", vpc, got)
			}
		})
	}
}
