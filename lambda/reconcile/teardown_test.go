package reconcile_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// trivialTemplate is the smallest stack moto creates: the tests need a
// stack's id and status, not its resources.
const trivialTemplate = `{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}`

// stack creates a stack in moto and returns its id, a stack ARN as
// CloudFormation makes them.
func (f *fixture) stack(name string) string {
	f.t.Helper()
	out, err := f.cfn().CreateStack(f.ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(name), TemplateBody: aws.String(trivialTemplate),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.StackId)
}

func (f *fixture) deleteStack(id string) {
	f.t.Helper()
	if _, err := f.cfn().DeleteStack(f.ctx, &cloudformation.DeleteStackInput{StackName: aws.String(id)}); err != nil {
		f.t.Fatal(err)
	}
}

// cfn is a CloudFormation client straight to moto, uncounted.
func (f *fixture) cfn() *cloudformation.Client {
	return cloudformation.NewFromConfig(clientConfig(moto.URL))
}

// ownedBy lists the ids of owner's flow logs on a VPC.
func (f *fixture) ownedBy(vpc, owner string) []string {
	var ids []string
	for _, fl := range f.flowLogs(vpc) {
		if reconcile.IsOwned(fl, owner) {
			ids = append(ids, aws.ToString(fl.FlowLogId))
		}
	}
	return ids
}

// TestTeardownRace plays the race against moto's CloudFormation and EC2:
// a stack in moto is the enabler's owner; a tag event covers a VPC; the
// stack is deleted and the custom resource's Delete removes the flow log;
// then a tag event queued behind that Delete, and a sweep, arrive. Without
// the check in Handler.run (h.Stacks nil, or stackGoing returning at once)
// the queued event and the sweep create the flow log again, orphaned with
// its delivery role gone: "queued tag event" and "sweep" fail with one flow
// log of the deleted stack on the VPC. moto answers DescribeStacks by id for
// a deleted stack with DELETE_COMPLETE, as AWS does, so no proxy hook is
// needed; it has no DELETE_IN_PROGRESS (its DeleteStack is synchronous):
// that status is covered in TestHandlerChecksTheStack.
func TestTeardownRace(t *testing.T) {
	f := newFixture(t)
	owner := f.stack("flowlogs")
	env := testEnv()
	env[settings.EnvOwner] = owner
	h := reconcile.NewHandler(f.rec, getenv(env))
	h.Stacks = cloudformation.NewFromConfig(clientConfig(proxy.URL))
	covered, queued := f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
	tagChange := func(vpc string) func() (any, error) {
		return func() (any, error) {
			return h.Handle(f.ctx, event(t, "tag-change.json", map[string]string{"VPC_ID": vpc}))
		}
	}

	steps := []struct {
		name        string
		before      func() // what happens before the invocation
		invoke      func() (any, error)
		wantStopped string
		wantOwned   map[string]int // flow logs of the stack per VPC afterwards
		wantCalls   map[string]int // proxy calls of the invocation
	}{
		{name: "tag event on a live stack", invoke: tagChange(covered),
			wantOwned: map[string]int{covered: 1, queued: 0},
			wantCalls: map[string]int{"DescribeStacks": 1, "CreateFlowLogs": 1}},
		{name: "the custom resource's Delete while the stack is deleted", before: func() { f.deleteStack(owner) },
			invoke: func() (any, error) {
				_, data, err := h.CustomResource(f.ctx, cfn.Event{RequestType: cfn.RequestDelete, StackID: owner,
					LogicalResourceID: "Reconcile", PhysicalResourceID: reconcile.PhysicalID(owner, "Reconcile")})
				return data, err
			},
			wantOwned: map[string]int{covered: 0, queued: 0},
			wantCalls: map[string]int{"DescribeStacks": 0, "DeleteFlowLogs": 1}},
		{name: "queued tag event", invoke: tagChange(queued), wantStopped: "the stack is DELETE_COMPLETE",
			wantOwned: map[string]int{covered: 0, queued: 0},
			wantCalls: map[string]int{"DescribeStacks": 1, "DescribeVpcs": 0, "CreateFlowLogs": 0}},
		{name: "sweep", invoke: func() (any, error) { return h.Handle(f.ctx, event(t, "scheduled.json", nil)) },
			wantStopped: "the stack is DELETE_COMPLETE",
			wantOwned:   map[string]int{covered: 0, queued: 0},
			wantCalls:   map[string]int{"DescribeStacks": 1, "DescribeVpcs": 0, "CreateFlowLogs": 0}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			proxy.ResetCalls()
			got, err := s.invoke()
			if err != nil {
				t.Fatal(err)
			}
			if res, ok := got.(reconcile.Result); ok && res.Stopped != s.wantStopped {
				t.Errorf("stopped %q, want %q", res.Stopped, s.wantStopped)
			}
			calls := proxy.Calls()
			for op, n := range s.wantCalls {
				if calls[op] != n {
					t.Errorf("%d %s calls, want %d (calls %v)", calls[op], op, n, calls)
				}
			}
			for vpc, n := range s.wantOwned {
				if got := f.ownedBy(vpc, owner); len(got) != n {
					t.Errorf("VPC %s has the stack's flow logs %v, want %d", vpc, got, n)
				}
			}
		})
	}
}
