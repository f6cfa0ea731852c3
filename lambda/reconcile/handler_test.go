package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// testEnv is the environment the stack gives the enabler, matching
// testConfig.
func testEnv() map[string]string {
	return map[string]string{
		settings.EnvTagKey:                 "flowlogs",
		settings.EnvTagValues:              "[]",
		settings.EnvLogGroupName:           testGroup,
		settings.EnvDeliveryRoleARN:        testRole,
		settings.EnvTrafficType:            settings.TrafficAll,
		settings.EnvMaxAggregationInterval: "600",
		settings.EnvRemoveOnDelete:         "true",
		settings.EnvRemoveOnUntag:          "true",
		settings.EnvOwner:                  testOwner,
		settings.EnvDryRun:                 "false",
		settings.EnvMetricsNamespace:       settings.DefaultMetricsNamespace,
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// event reads testdata/name and fills its {{PLACEHOLDERS}}.
func event(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if strings.Contains(s, "{{") {
		t.Fatalf("%s: unfilled placeholder in %s", name, s)
	}
	return []byte(s)
}

// TestHandleEvents dispatches the sample events of testdata/ in process,
// against moto.
func TestHandleEvents(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    string // counts, or the error's text when wantErr
		wantErr bool
	}{
		{name: "tag change on a VPC", file: "tag-change.json",
			want: "tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "tag change on a subnet names no VPC", file: "tag-change-subnet.json",
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "CloudTrail CreateVpc", file: "cloudtrail-create-vpc.json",
			want: "tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "CloudTrail CreateVpc that failed is skipped", file: "cloudtrail-create-vpc-failed.json",
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "scheduled sweep", file: "scheduled.json",
			want: "tagged=2 covered=2 created=2 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "unknown event", file: "unknown.json", wantErr: true, want: `unknown event: source "aws.s3", detail-type "Object Created"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			named := f.vpc("flowlogs", "on")
			f.vpc("flowlogs", "on")
			f.vpc()
			h := reconcile.NewHandler(f.rec, getenv(testEnv()))
			got, err := h.Handle(f.ctx, event(t, tt.file, map[string]string{"VPC_ID": named}))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, ok := got.(reconcile.Result)
			if !ok {
				t.Fatalf("answer %T %+v is no Result", got, got)
			}
			if counts(res) != tt.want {
				t.Errorf("counts = %s\n      want %s", counts(res), tt.want)
			}
		})
	}

	t.Run("a bad environment fails events, saying what is wrong", func(t *testing.T) {
		f := newFixture(t)
		env := testEnv()
		delete(env, settings.EnvLogGroupName)
		h := reconcile.NewHandler(f.rec, getenv(env))
		_, err := h.Handle(f.ctx, event(t, "scheduled.json", nil))
		if err == nil || !strings.Contains(err.Error(), `log group name ""`) {
			t.Errorf("error = %v, want one about the log group name", err)
		}
	})
	t.Run("not a JSON object", func(t *testing.T) {
		h := reconcile.NewHandler(&reconcile.Reconciler{}, getenv(testEnv()))
		if _, err := h.Handle(context.Background(), json.RawMessage(`[1, 2]`)); err == nil {
			t.Error("no error for a JSON array")
		}
	})
}

// panicAPI panics on the first call, standing in for a bug: no input makes
// the shipped binary panic, so the recover path is tested in process.
type panicAPI struct{ reconcile.FlowLogAPI }

func (panicAPI) DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	panic("injected panic in DescribeVpcs")
}

// failingAPI lists n tagged VPCs and fails every creation in Unsuccessful
// with a long message: more failures than a response can name.
type failingAPI struct{ n int }

func (a failingAPI) DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	out := &ec2.DescribeVpcsOutput{}
	for i := range a.n {
		out.Vpcs = append(out.Vpcs, types.Vpc{VpcId: aws.String(fmt.Sprintf("vpc-%017d", i))})
	}
	return out, nil
}

func (failingAPI) DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	return &ec2.DescribeFlowLogsOutput{}, nil
}

func (failingAPI) CreateFlowLogs(_ context.Context, in *ec2.CreateFlowLogsInput, _ ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error) {
	out := &ec2.CreateFlowLogsOutput{}
	for _, id := range in.ResourceIds {
		out.Unsuccessful = append(out.Unsuccessful, types.UnsuccessfulItem{
			ResourceId: aws.String(id),
			Error:      &types.UnsuccessfulItemError{Code: aws.String("400"), Message: aws.String(strings.Repeat("Access Denied for LogDestination. ", 4))},
		})
	}
	return out, nil
}

func (failingAPI) DeleteFlowLogs(context.Context, *ec2.DeleteFlowLogsInput, ...func(*ec2.Options)) (*ec2.DeleteFlowLogsOutput, error) {
	return &ec2.DeleteFlowLogsOutput{}, nil
}

// TestCustomResourceInProcess drives the handler and its answer to a local
// ResponseURL, using small fakes for what moto
// cannot produce: a panic, and thousands of failures.
func TestCustomResourceInProcess(t *testing.T) {
	responder := testenv.StartCFNResponder()
	defer responder.Close()
	stack := "arn:aws:cloudformation:us-east-1:123456789012:stack/in-process/1"

	tests := []struct {
		name       string
		api        reconcile.FlowLogAPI
		file       string
		physicalID string // of the request; "" for Create
		wantStatus string
		wantReason string
	}{
		{name: "a panic is answered FAILED with the deterministic id", api: panicAPI{},
			file: "cfn-create.json", wantStatus: "FAILED", wantReason: "injected panic"},
		{name: "a panic on Update keeps the id", api: panicAPI{},
			file: "cfn-update.json", physicalID: reconcile.PhysicalID(stack, "Enabler"), wantStatus: "FAILED", wantReason: "injected panic"},
		{name: "every VPC failing fails Create within 4,096 bytes", api: failingAPI{n: 1500},
			file: "cfn-create.json", wantStatus: "FAILED", wantReason: "no flow log change succeeded: 1500 of 1500 tagged VPCs failed: vpc-00000000000000000 (400: Access Denied"},
		{name: "Delete of an id this function never answered with removes nothing", api: panicAPI{},
			file: "cfn-delete.json", physicalID: "some-request-id", wantStatus: "SUCCESS"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("in-process-%d", i)
			h := reconcile.NewHandler(&reconcile.Reconciler{API: tt.api, Region: testenv.Region}, getenv(testEnv()))
			raw := event(t, tt.file, map[string]string{"RESPONSE_URL": responder.URL(id), "STACK_ID": stack,
				"REQUEST_ID": id, "LOGICAL_ID": "Enabler", "PHYSICAL_ID": tt.physicalID})
			if _, err := h.Handle(context.Background(), raw); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := responder.Responses(id)
			if len(got) != 1 {
				t.Fatalf("got %d responses, want exactly one", len(got))
			}
			r := got[0]
			wantID := tt.physicalID
			if wantID == "" {
				wantID = reconcile.PhysicalID(stack, "Enabler")
			}
			if string(r.Body.Status) != tt.wantStatus || r.Body.PhysicalResourceID != wantID || !strings.Contains(r.Body.Reason, tt.wantReason) {
				t.Errorf("response = %s %q %q, want %s %q, reason containing %q", r.Body.Status, r.Body.PhysicalResourceID, r.Body.Reason, tt.wantStatus, wantID, tt.wantReason)
			}
			if len(r.Raw) > reconcile.MaxResponseBytes {
				t.Errorf("response has %d bytes, more than %d", len(r.Raw), reconcile.MaxResponseBytes)
			}
		})
	}
}
