package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/fake"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// fakeWorld is an in-memory EC2 for tests about the reconciler's logic
// given an answer: VPCs tagged flowlogs=on, flow logs, and the answers a
// test chooses for CreateFlowLogs and DeleteFlowLogs. It needs nothing
// installed; what depends on EC2's own behaviour stays on moto
// (TestReconcile, TestFilterValues).
type fakeWorld struct {
	api      *fake.EC2
	vpcs     []string
	flowLogs []types.FlowLog
	// failItem puts a VPC (create) or flow log (delete) in the answer's
	// Unsuccessful list with a code; failCall fails every call naming a
	// VPC as a whole.
	failItem map[string]string
	failCall map[string]string
}

func newFakeWorld(vpcs int) *fakeWorld {
	w := &fakeWorld{api: &fake.EC2{}, failItem: map[string]string{}, failCall: map[string]string{}}
	for i := range vpcs {
		w.vpcs = append(w.vpcs, fmt.Sprintf("vpc-%08x", i))
	}
	w.api.DescribeVpcsBehavior.Default = w.describeVpcs
	w.api.DescribeFlowLogsBehavior.Default = w.describeFlowLogs
	w.api.CreateFlowLogsBehavior.Default = w.createFlowLogs
	w.api.DeleteFlowLogsBehavior.Default = w.deleteFlowLogs
	return w
}

// filtered keeps the ids a vpc-id or resource-id filter names, all
// without one.
func filtered(ids []string, filters []types.Filter, name string) []string {
	for _, f := range filters {
		if aws.ToString(f.Name) == name {
			return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !slices.Contains(f.Values, id) })
		}
	}
	return ids
}

func (w *fakeWorld) describeVpcs(in *ec2.DescribeVpcsInput) (*ec2.DescribeVpcsOutput, error) {
	out := &ec2.DescribeVpcsOutput{}
	for _, id := range filtered(w.vpcs, in.Filters, "vpc-id") {
		out.Vpcs = append(out.Vpcs, types.Vpc{VpcId: aws.String(id), Tags: []types.Tag{{Key: aws.String("flowlogs"), Value: aws.String("on")}}})
	}
	return out, nil
}

func (w *fakeWorld) describeFlowLogs(in *ec2.DescribeFlowLogsInput) (*ec2.DescribeFlowLogsOutput, error) {
	out := &ec2.DescribeFlowLogsOutput{}
	for _, f := range w.flowLogs {
		if len(filtered([]string{aws.ToString(f.ResourceId)}, in.Filter, "resource-id")) == 1 {
			out.FlowLogs = append(out.FlowLogs, f)
		}
	}
	return out, nil
}

func (w *fakeWorld) createFlowLogs(in *ec2.CreateFlowLogsInput) (*ec2.CreateFlowLogsOutput, error) {
	out := &ec2.CreateFlowLogsOutput{}
	for _, id := range in.ResourceIds {
		if code, ok := w.failCall[id]; ok {
			return nil, &smithy.GenericAPIError{Code: code, Message: "injected for " + id}
		}
	}
	for _, id := range in.ResourceIds {
		if code, ok := w.failItem[id]; ok {
			out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem(id, code))
			continue
		}
		out.FlowLogIds = append(out.FlowLogIds, "fl-"+id)
	}
	return out, nil
}

func (w *fakeWorld) deleteFlowLogs(in *ec2.DeleteFlowLogsInput) (*ec2.DeleteFlowLogsOutput, error) {
	out := &ec2.DeleteFlowLogsOutput{}
	for _, id := range in.FlowLogIds {
		if code, ok := w.failItem[id]; ok {
			out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem(id, code))
		}
	}
	return out, nil
}

func unsuccessfulItem(id, code string) types.UnsuccessfulItem {
	return types.UnsuccessfulItem{ResourceId: aws.String(id), Error: &types.UnsuccessfulItemError{Code: aws.String(code), Message: aws.String("injected")}}
}

// TestReconcileGivenAnswers checks what the reconciler makes of EC2's
// answers: per-item failures, whole-call failures isolated by splitting
// the batch within a budget, a failed delete, a lowered filter limit. The
// cases moved here from TestReconcile, where motoproxy spliced the same
// answers into moto's XML; their assertions are unchanged.
func TestReconcileGivenAnswers(t *testing.T) {
	tests := []struct {
		name  string
		vpcs  int // tagged VPCs in the world
		setup func(w *fakeWorld, rec *reconcile.Reconciler) reconcile.Target
		want  string // counts
		check func(t *testing.T, w *fakeWorld, res reconcile.Result)
	}{
		{
			name: "per-item failures in Unsuccessful stop no other VPC",
			vpcs: 6,
			setup: func(w *fakeWorld, _ *reconcile.Reconciler) reconcile.Target {
				w.failItem[w.vpcs[1]] = "400"
				w.failItem[w.vpcs[4]] = "FlowLogsLimitExceeded"
				return reconcile.Target{}
			},
			want: "tagged=6 covered=4 created=4 replaced=0 removed=0 failed=2 pending=0 notFound=0",
			check: func(t *testing.T, w *fakeWorld, res reconcile.Result) {
				want := []string{w.vpcs[1] + " 400", w.vpcs[4] + " FlowLogsLimitExceeded"}
				if got := failedVPCs(res); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("failures = %v, want %v", got, want)
				}
			},
		},
		{
			name: "a whole-call error for one VPC is isolated by splitting the batch",
			vpcs: 8,
			setup: func(w *fakeWorld, rec *reconcile.Reconciler) reconcile.Target {
				rec.BatchSize = 1000
				w.failCall[w.vpcs[5]] = "UnauthorizedOperation"
				w.failCall[w.vpcs[2]] = "InvalidVpcID.NotFound"
				return reconcile.Target{}
			},
			want: "tagged=8 covered=6 created=6 replaced=0 removed=0 failed=2 pending=0 notFound=0",
			check: func(t *testing.T, w *fakeWorld, res reconcile.Result) {
				want := []string{w.vpcs[2] + " InvalidVpcID.NotFound", w.vpcs[5] + " UnauthorizedOperation"}
				if got := failedVPCs(res); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("failures = %v, want %v", got, want)
				}
				if n := w.api.CreateFlowLogsBehavior.Calls(); n > 1+2*2*3 {
					t.Errorf("%d CreateFlowLogs calls to isolate 2 of 8 VPCs", n)
				}
			},
		},
		{
			name: "the split budget bounds the calls when every VPC fails",
			vpcs: 8,
			setup: func(w *fakeWorld, rec *reconcile.Reconciler) reconcile.Target {
				for _, id := range w.vpcs {
					w.failCall[id] = "UnauthorizedOperation"
				}
				rec.BatchSize, rec.MaxSplitCalls = 1000, 4
				return reconcile.Target{}
			},
			want: "tagged=8 covered=0 created=0 replaced=0 removed=0 failed=8 pending=0 notFound=0",
			check: func(t *testing.T, w *fakeWorld, res reconcile.Result) {
				if n := w.api.CreateFlowLogsBehavior.Calls(); n != 1+4 {
					t.Errorf("CreateFlowLogs calls = %d, want 5", n)
				}
				if res.Attempted != 8 || res.Succeeded != 0 {
					t.Errorf("attempted %d, succeeded %d", res.Attempted, res.Succeeded)
				}
			},
		},
		{
			name: "a failed delete is reported and the other removals go on",
			vpcs: 2,
			setup: func(w *fakeWorld, _ *reconcile.Reconciler) reconcile.Target {
				w.flowLogs = []types.FlowLog{fl("fl-a", w.vpcs[0], owned(testOwner)), fl("fl-b", w.vpcs[1], owned(testOwner))}
				w.failItem["fl-a"] = "400"
				return reconcile.Target{Teardown: true}
			},
			want: "tagged=0 covered=0 created=0 replaced=0 removed=1 failed=1 pending=0 notFound=0",
			check: func(t *testing.T, w *fakeWorld, _ reconcile.Result) {
				var deleted []string
				for _, in := range w.api.DeleteFlowLogsBehavior.Inputs() {
					deleted = append(deleted, in.FlowLogIds...)
				}
				if slices.Sort(deleted); fmt.Sprint(deleted) != "[fl-a fl-b]" {
					t.Errorf("deleted %v, want both flow logs asked for", deleted)
				}
			},
		},
		{
			name: "FilterLimitExceeded below 200 shrinks the resource-id batches of an event's run",
			vpcs: 7,
			setup: func(w *fakeWorld, rec *reconcile.Reconciler) reconcile.Target {
				rec.BatchSize = 1000
				w.api.DescribeFlowLogsBehavior.Default = func(in *ec2.DescribeFlowLogsInput) (*ec2.DescribeFlowLogsOutput, error) {
					if len(in.Filter) > 0 && len(in.Filter[0].Values) > 3 {
						return nil, &smithy.GenericAPIError{Code: "FilterLimitExceeded", Message: "The maximum number of filter values specified on a single call is 3"}
					}
					return w.describeFlowLogs(in)
				}
				return reconcile.Target{VPCIDs: slices.Clone(w.vpcs)}
			},
			want: "tagged=7 covered=7 created=7 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, w *fakeWorld, _ reconcile.Result) {
				if n := w.api.CreateFlowLogsBehavior.Calls(); n != 1 {
					t.Errorf("CreateFlowLogs calls = %d: the filter limit must not shrink the create batches", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newFakeWorld(tt.vpcs)
			rec := &reconcile.Reconciler{API: w.api, Region: testRegion, Metrics: &syncBuffer{}, PageSize: 5, BatchSize: 4}
			target := tt.setup(w, rec)
			res, err := rec.Run(context.Background(), testConfig(), target)
			if err != nil {
				t.Fatal(err)
			}
			if got := counts(res); got != tt.want {
				t.Errorf("counts = %s\n      want %s\nfailures: %+v", got, tt.want, res.Failures)
			}
			tt.check(t, w, res)
		})
	}
}
