package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// stackAPI answers DescribeStacks with status, or fails with err, and
// records the StackName of each call.
type stackAPI struct {
	status cfntypes.StackStatus
	none   bool // answer no stack at all
	err    error

	mu    sync.Mutex
	names []string
}

func (s *stackAPI) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	s.mu.Lock()
	s.names = append(s.names, aws.ToString(in.StackName))
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	if s.none {
		return &cloudformation.DescribeStacksOutput{}, nil
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{
		StackId: in.StackName, StackName: aws.String("flowlogs"), StackStatus: s.status,
	}}}, nil
}

func (s *stackAPI) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.names...)
}

// ec2Calls is an EC2 with no VPC and no flow log that counts the calls it
// gets: a run that reaches it would have been free to change flow logs.
type ec2Calls struct {
	mu sync.Mutex
	n  int
}

func (e *ec2Calls) add() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
}

func (e *ec2Calls) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

func (e *ec2Calls) DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	e.add()
	return &ec2.DescribeVpcsOutput{}, nil
}

func (e *ec2Calls) DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	e.add()
	return &ec2.DescribeFlowLogsOutput{}, nil
}

func (e *ec2Calls) CreateFlowLogs(context.Context, *ec2.CreateFlowLogsInput, ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error) {
	e.add()
	return &ec2.CreateFlowLogsOutput{}, nil
}

func (e *ec2Calls) DeleteFlowLogs(context.Context, *ec2.DeleteFlowLogsInput, ...func(*ec2.Options)) (*ec2.DeleteFlowLogsOutput, error) {
	e.add()
	return &ec2.DeleteFlowLogsOutput{}, nil
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "answer for " + code}
}

// TestCheckStack is the decision over every stack status and the errors
// DescribeStacks can end with: only a stack on its way out stops a run;
// every UPDATE_* status, including the cleanup in which a replaced custom
// resource gets its Delete, lets it go on; no answer fails closed with an
// error naming the stack and the code; an id that names no stack is an
// answer and lets it go on.
func TestCheckStack(t *testing.T) {
	stop := []cfntypes.StackStatus{
		cfntypes.StackStatusDeleteInProgress, cfntypes.StackStatusDeleteComplete, cfntypes.StackStatusDeleteFailed,
		cfntypes.StackStatusRollbackInProgress, cfntypes.StackStatusRollbackComplete, cfntypes.StackStatusRollbackFailed,
	}
	type want struct {
		stop, unknown bool
		err           string // a fragment of the error; "" for none
	}
	tests := []struct {
		name string
		api  *stackAPI
		want want
	}{
		{name: "an answer holding no stack fails closed", api: &stackAPI{none: true},
			want: want{err: "describing stack " + testOwner + ": the answer holds no stack"}},
		{name: "AccessDenied fails closed", api: &stackAPI{err: apiError("AccessDenied")},
			want: want{err: "describing stack " + testOwner + ": api error AccessDenied"}},
		{name: "throttling the retryer gave up on fails closed", api: &stackAPI{err: apiError("Throttling")},
			want: want{err: "api error Throttling"}},
		{name: "a transport error fails closed", api: &stackAPI{err: errors.New("dial tcp 127.0.0.1:9: connection refused")},
			want: want{err: "connection refused"}},
		{name: "an id that names no stack goes on", api: &stackAPI{err: apiError("ValidationError")},
			want: want{unknown: true}},
	}
	for _, s := range cfntypes.StackStatus("").Values() {
		tests = append(tests, struct {
			name string
			api  *stackAPI
			want want
		}{name: string(s), api: &stackAPI{status: s}, want: want{stop: slices.Contains(stop, s)}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reconcile.CheckStack(context.Background(), tt.api, testOwner)
			if tt.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want.err) {
					t.Errorf("error %v, want one containing %q", err, tt.want.err)
				}
				if got.Stop || got.Unknown {
					t.Errorf("answer %+v with an error", got)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			}
			if got.Stop != tt.want.stop || got.Unknown != tt.want.unknown {
				t.Errorf("stop %v unknown %v, want %v %v", got.Stop, got.Unknown, tt.want.stop, tt.want.unknown)
			}
			if calls := tt.api.calls(); len(calls) != 1 || calls[0] != testOwner {
				t.Errorf("DescribeStacks calls %v, want one by the owner's id", calls)
			}
		})
	}
}

// TestHandlerChecksTheStack proves where the check sits, in process with
// fakes: every event and sweep run asks DescribeStacks once, by the owner's
// id, before any EC2 call, and a stack on its way out, or no answer, keeps
// it from EC2; the custom resource's own requests are never checked (its
// Delete arrives while the stack is DELETE_IN_PROGRESS and must tear down).
// Before the check existed, the runs marked stop reached EC2.
func TestHandlerChecksTheStack(t *testing.T) {
	send := func(file string) func(*testing.T, *reconcile.Handler) (any, error) {
		return func(t *testing.T, h *reconcile.Handler) (any, error) {
			return h.Handle(context.Background(), event(t, file, map[string]string{
				"VPC_ID": "vpc-0123456789abcdef0", "TIME": "2026-01-01T12:00:00Z",
				"ISSUER_ARN": "arn:aws:iam::123456789012:role/Admin", "FLOW_LOG_ID": "fl-0123456789abcdef0",
			}))
		}
	}
	cfnDelete := func(_ *testing.T, h *reconcile.Handler) (any, error) {
		_, data, err := h.CustomResource(context.Background(), cfn.Event{
			RequestType: cfn.RequestDelete, StackID: testOwner, LogicalResourceID: "Reconcile",
			PhysicalResourceID: reconcile.PhysicalID(testOwner, "Reconcile"),
		})
		return data, err
	}
	tests := []struct {
		name        string
		api         *stackAPI
		invoke      func(*testing.T, *reconcile.Handler) (any, error)
		wantStopped string // Result.Stopped; "" for a run that went on
		wantErr     string
		wantEC2     bool // the run reached EC2
		wantChecks  int
	}{
		{name: "a sweep while the stack is being deleted", api: &stackAPI{status: cfntypes.StackStatusDeleteInProgress},
			invoke: send("scheduled.json"), wantStopped: "the stack is DELETE_IN_PROGRESS", wantChecks: 1},
		{name: "a tag change after the stack is deleted", api: &stackAPI{status: cfntypes.StackStatusDeleteComplete},
			invoke: send("tag-change.json"), wantStopped: "the stack is DELETE_COMPLETE", wantChecks: 1},
		{name: "a CloudTrail CreateVpc during a rollback", api: &stackAPI{status: cfntypes.StackStatusRollbackInProgress},
			invoke: send("cloudtrail-create-vpc.json"), wantStopped: "the stack is ROLLBACK_IN_PROGRESS", wantChecks: 1},
		{name: "a CloudTrail DeleteFlowLogs after a failed deletion", api: &stackAPI{status: cfntypes.StackStatusDeleteFailed},
			invoke: send("cloudtrail-delete-flow-logs.json"), wantStopped: "the stack is DELETE_FAILED", wantChecks: 1},
		{name: "a sweep during an update's cleanup runs", api: &stackAPI{status: cfntypes.StackStatusUpdateCompleteCleanupInProgress},
			invoke: send("scheduled.json"), wantEC2: true, wantChecks: 1},
		{name: "a tag change on a live stack runs", api: &stackAPI{status: cfntypes.StackStatusUpdateComplete},
			invoke: send("tag-change.json"), wantEC2: true, wantChecks: 1},
		{name: "a sweep the check cannot answer fails and changes nothing", api: &stackAPI{err: apiError("AccessDenied")},
			invoke: send("scheduled.json"), wantChecks: 1,
			wantErr: "schedule run: checking that the stack is not being deleted: describing stack " + testOwner + ": api error AccessDenied: answer for AccessDenied"},
		{name: "a sweep for an owner that is no stack runs", api: &stackAPI{err: apiError("ValidationError")},
			invoke: send("scheduled.json"), wantEC2: true, wantChecks: 1},
		{name: "an event naming no VPC asks nothing", api: &stackAPI{status: cfntypes.StackStatusUpdateComplete},
			invoke: send("tag-change-subnet.json")},
		{name: "the custom resource's Delete is not checked and tears down", api: &stackAPI{status: cfntypes.StackStatusDeleteInProgress},
			invoke: cfnDelete, wantEC2: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &ec2Calls{}
			h := reconcile.NewHandler(&reconcile.Reconciler{API: api, Region: testRegion}, getenv(testEnv()))
			h.Stacks = tt.api
			got, err := tt.invoke(t, h)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error %v\n want %s", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			}
			if res, ok := got.(reconcile.Result); ok && res.Stopped != tt.wantStopped {
				t.Errorf("stopped %q, want %q", res.Stopped, tt.wantStopped)
			} else if !ok && tt.wantStopped != "" {
				t.Errorf("answer %T %+v, want a Result stopped %q", got, got, tt.wantStopped)
			}
			if reached := api.count() > 0; reached != tt.wantEC2 {
				t.Errorf("reached EC2 = %v (%d calls), want %v", reached, api.count(), tt.wantEC2)
			}
			if calls := tt.api.calls(); len(calls) != tt.wantChecks {
				t.Errorf("DescribeStacks calls %v, want %d", calls, tt.wantChecks)
			}
		})
	}
}
