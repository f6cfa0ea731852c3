package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// spokeFixture is the spoke template the organization pieces' tests
// deploy: a hand-written stand-in with the synthesized one's shape (the
// story tests deploy the synthesized one, from the hub's StackSet).
var spokeFixture = "testdata/spoke.template.json"

// orgMoto is a moto for the tests of the organization pieces that need no
// Lambda emulator and no CDK app.
var orgMoto testenv.Shared

// freshMoto returns orgMoto, emptied.
func freshMoto(t *testing.T) *testenv.Moto {
	t.Helper()
	m := orgMoto.Moto(t)
	if err := m.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m
}

// hubWithStackSet is a hub template holding only a StackSet of the
// fixture spoke template (testdata/spoke.template.json), targeting
// targets in regions, as the CDK's hub declares it (cdk/vpcflowlogs/stackset.go).
func hubWithStackSet(t *testing.T, targets, regions []string) *e2e.Stack {
	t.Helper()
	body, err := os.ReadFile(spokeFixture)
	if err != nil {
		t.Fatal(err)
	}
	raw := fmt.Sprintf(`{"Resources":{"Spokes":{"Type":"AWS::CloudFormation::StackSet","Metadata":{"aws:cdk:path":"VpcFlowLogs/Spokes"},
	"Properties":{"StackSetName":"VpcFlowLogsSpoke","PermissionModel":"SERVICE_MANAGED","CallAs":"SELF",
	"AutoDeployment":{"Enabled":true,"RetainStacksOnAccountRemoval":false},
	"OperationPreferences":{"MaxConcurrentPercentage":100,"FailureTolerancePercentage":10,"RegionConcurrencyType":"PARALLEL"},
	"Parameters":[{"ParameterKey":"Owner","ParameterValue":{"Ref":"AWS::StackId"}},
	  {"ParameterKey":"HubAccount","ParameterValue":{"Ref":"AWS::AccountId"}},{"ParameterKey":"HubRegion","ParameterValue":{"Ref":"AWS::Region"}}],
	"StackInstancesGroup":[{"DeploymentTargets":{"OrganizationalUnitIds":%s},"Regions":%s}],
	"TemplateBody":%s}}}}`, mustJSON(t, targets), mustJSON(t, regions), mustJSON(t, string(body)))
	file := t.TempDir() + "/hub.template.json"
	if err := os.WriteFile(file, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := e2e.ReadTemplate(file)
	if err != nil {
		t.Fatal(err)
	}
	id := e2e.NewStackID(testenv.Region, e2e.Account, e2e.StackName, "hub")
	return &e2e.Stack{Template: tpl, Names: e2e.NameResources(tpl, e2e.StackName, id, e2e.Account, testenv.Region)}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStackSetInstances proves the harness's StackSet: it reads the hub's
// StackSet (targets, regions, auto-deployment, the Owner parameter = the
// hub's stack id), lists as instances every ACTIVE account under the
// targeted OUs, recursively (not the management account, not an account
// under an untargeted parent, not a suspended one), and deploys the spoke
// template into each with the account's own credentials: the flow log
// group and the delivery role in every region, the two hub-assumable roles
// once per account (the template's IsHubRegion condition; a second
// CreateRole would fail with EntityAlreadyExists), nothing in the
// accounts outside the targets.
func TestStackSetInstances(t *testing.T) {
	ctx := t.Context()
	m := freshMoto(t)
	org, err := e2e.NewOrganization(ctx, m.URL, "workloads", "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	nested, err := org.Org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(org.OUs["workloads"]), Name: aws.String("team")})
	if err != nil {
		t.Fatal(err)
	}
	org.OUs["team"] = aws.ToString(nested.OrganizationalUnit.Id)
	accts := map[string]e2e.OrgAccount{}
	for name, ou := range map[string]string{"prod": "workloads", "dev": "team", "play": "sandbox", "loose": ""} {
		if accts[name], err = org.AddAccount(ctx, name, ou); err != nil {
			t.Fatal(err)
		}
	}
	regions := []string{"us-east-1", "eu-west-1"}
	hub := hubWithStackSet(t, []string{org.OUs["workloads"], org.OUs["sandbox"]}, regions)
	ss, err := e2e.ReadStackSet(hub)
	if err != nil {
		t.Fatal(err)
	}
	if !ss.AutoDeploy || ss.PermissionMode != "SERVICE_MANAGED" || ss.Params["Owner"] != hub.Names.StackID || !slices.Equal(ss.Regions, regions) {
		t.Errorf("StackSet read as %+v: want service-managed, auto-deployed, Owner = %s, regions %v", ss, hub.Names.StackID, regions)
	}
	if err := org.Suspend(ctx, accts["play"].ID); err != nil {
		t.Fatal(err)
	}
	got, err := ss.Instances(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	var want [][2]string
	for _, a := range slices.Sorted(slices.Values([]string{accts["prod"].ID, accts["dev"].ID})) {
		for _, r := range regions {
			want = append(want, [2]string{a, r})
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("instances %v, want %v (prod and dev, nested OU included; not play, suspended; not loose, under the root)", got, want)
	}
	for _, in := range got {
		if _, err := org.DeploySpoke(ctx, ss.Template, in[0], in[1], ss.Params); err != nil {
			t.Fatal(err)
		}
	}
	checkSpokes(t, org, got, accts["loose"].ID, regions)
}

// checkSpokes checks what each instance created, account by account.
func checkSpokes(t *testing.T, org *e2e.Organization, instances [][2]string, outside string, regions []string) {
	ctx := t.Context()
	for _, in := range instances {
		t.Run(in[0]+"/"+in[1], func(t *testing.T) {
			c := org.Admin(in[0], in[1])
			groups, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/vpc/flow-logs")})
			if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 365 {
				t.Errorf("flow log group: %v, %+v; want /vpc/flow-logs with 365 days", err, groups)
			}
			for _, role := range []string{settings.SpokeDeliveryRolePrefix + in[1], settings.SpokeEnablerRoleName, settings.SpokeReaderRoleName} {
				if _, err := c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err != nil {
					t.Errorf("role %s: %v", role, err)
				}
			}
		})
	}
	for _, r := range regions {
		groups, err := org.Admin(outside, r).Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil || len(groups.LogGroups) != 0 {
			t.Errorf("the untargeted account %s has log groups in %s: %v, %v", outside, r, err, groups)
		}
	}
	_, err := org.Admin(outside, regions[0]).IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(settings.SpokeEnablerRoleName)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchEntity" {
		t.Errorf("the untargeted account's spoke role: %v, want NoSuchEntity", err)
	}
}

// pumpTemplate is a hub-shaped template with a work queue, its
// dead-letter queue and the function's event source mapping.
const pumpTemplate = `{"Resources":{
 "Dlq":{"Type":"AWS::SQS::Queue","Properties":{"MessageRetentionPeriod":1209600}},
 "Work":{"Type":"AWS::SQS::Queue","Properties":{"VisibilityTimeout":5400,
   "RedrivePolicy":{"deadLetterTargetArn":{"Fn::GetAtt":["Dlq","Arn"]},"maxReceiveCount":3}}},
 "Fn":{"Type":"AWS::Lambda::Function","Properties":{}},
 "Esm":{"Type":"AWS::Lambda::EventSourceMapping","Properties":{"FunctionName":{"Ref":"Fn"},
   "EventSourceArn":{"Fn::GetAtt":["Work","Arn"]},"BatchSize":%d,
   "ScalingConfig":{"MaximumConcurrency":%d},"FunctionResponseTypes":["ReportBatchItemFailures"]}}}}`

// TestPump proves the harness's event source mapping against moto's SQS
// with queues the template declares (the redrive policy set once both
// exist): every message is handled; a message whose first attempt fails
// (a reported batch item failure, or a whole invocation's error) is
// redelivered and then deleted; a message that always fails is received
// maxReceiveCount (3) times and ends in the dead-letter queue; and no more
// invocations than MaximumConcurrency run at once, and that many do.
func TestPump(t *testing.T) {
	tests := []struct {
		name               string
		batch, concurrency int
	}{
		{"batch of 1, 4 at once", 1, 4},
		{"batch of 5, 2 at once", 5, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			m := freshMoto(t)
			file := t.TempDir() + "/hub.template.json"
			if err := os.WriteFile(file, []byte(fmt.Sprintf(pumpTemplate, tc.batch, tc.concurrency)), 0o644); err != nil {
				t.Fatal(err)
			}
			tpl, err := e2e.ReadTemplate(file)
			if err != nil {
				t.Fatal(err)
			}
			id := e2e.NewStackID(testenv.Region, e2e.Account, e2e.StackName, "pump")
			s := &e2e.Stack{Template: tpl, Names: e2e.NameResources(tpl, e2e.StackName, id, e2e.Account, testenv.Region)}
			c := e2e.NewClients(m.URL)
			if err := e2e.Deploy(ctx, c, s); err != nil {
				t.Fatal(err)
			}
			mapping, err := e2e.ReadMapping(s, tpl.Resources["Fn"])
			if err != nil {
				t.Fatal(err)
			}
			if mapping.BatchSize != tc.batch || mapping.MaxConcurrency != tc.concurrency || !mapping.ReportBatchItemFailures {
				t.Fatalf("mapping read as %+v", mapping)
			}
			runPump(t, c, s, mapping)
		})
	}
}

// runPump sends 40 messages and drains them through a handler that
// fails message 3 (and 13, 23, 33) always, message 5 (15, ...) on its
// first attempt as a batch item, and the invocation holding message 7
// (17, ...) on its first attempt as a whole.
func runPump(t *testing.T, c e2e.Clients, s *e2e.Stack, mapping e2e.Mapping) {
	ctx := t.Context()
	const total = 40
	for i := range total {
		if _, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(mapping.QueueURL), MessageBody: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	attempts, done := map[string]int{}, map[string]int{}
	handler := e2e.InvokerFunc(func(_ context.Context, event any) (json.RawMessage, error) {
		ev := event.(events.SQSEvent)
		time.Sleep(100 * time.Millisecond) // long beside a receive, so that the workers overlap
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			attempts[r.Body]++
			if strings.HasSuffix(r.Body, "7") && attempts[r.Body] == 1 {
				return nil, &e2e.FunctionError{Type: "Error", Message: "first attempt of " + r.Body}
			}
		}
		for _, r := range ev.Records {
			switch {
			case strings.HasSuffix(r.Body, "3"), strings.HasSuffix(r.Body, "5") && attempts[r.Body] == 1:
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			default:
				done[r.Body]++
			}
		}
		return json.Marshal(resp)
	})
	workers := make([]e2e.Invoker, mapping.MaxConcurrency+2)
	for i := range workers {
		workers[i] = handler
	}
	p := &e2e.Pump{Mapping: mapping, SQS: c.SQS, Workers: workers, Region: testenv.Region}
	stats, err := p.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		body, want := fmt.Sprint(i), 1
		if strings.HasSuffix(body, "3") {
			want = 0
			if attempts[body] != 3 {
				t.Errorf("poison message %s received %d times, want maxReceiveCount 3", body, attempts[body])
			}
		}
		if done[body] != want {
			t.Errorf("message %s handled %d times (of %d attempts), want %d", body, done[body], attempts[body], want)
		}
	}
	dlq := e2e.QueueURL(testenv.Region, e2e.Account, s.Names.Attr["Dlq"]["QueueName"])
	if n, err := e2e.QueueDepth(ctx, c.SQS, dlq); err != nil || n != 4 {
		t.Errorf("dead-letter queue holds %d (%v), want the 4 poison messages", n, err)
	}
	if stats.MaxInFlight != mapping.MaxConcurrency || stats.FunctionErrors == 0 {
		t.Errorf("stats %+v: want %d invocations at most at once, reached, and some function errors", stats, mapping.MaxConcurrency)
	}
	t.Logf("%+v", stats)
}

// busTemplate is a hub-shaped template with the hub bus, its
// organization-only policy, and rules to a function and to a queue.
const busTemplate = `{"Resources":{
 "Bus":{"Type":"AWS::Events::EventBus","Properties":{"Name":"VpcFlowLogsHub"}},
 "BusPolicy":{"Type":"AWS::Events::EventBusPolicy","Properties":{"EventBusName":{"Ref":"Bus"},"StatementId":"org",
   "Statement":{"Effect":"Allow","Principal":"*","Action":"events:PutEvents","Resource":{"Fn::GetAtt":["Bus","Arn"]},
   "Condition":{"StringEquals":{"aws:PrincipalOrgID":"%s"}}}}},
 "Fn":{"Type":"AWS::Lambda::Function","Properties":{}},
 "Work":{"Type":"AWS::SQS::Queue","Properties":{}},
 "Tags":{"Type":"AWS::Events::Rule","Properties":{"EventBusName":{"Ref":"Bus"},
   "EventPattern":{"source":["aws.tag"],"detail-type":["Tag Change on Resource"],"detail":{"service":["ec2"],"resource-type":["vpc"]}},
   "Targets":[{"Id":"fn","Arn":{"Fn::GetAtt":["Fn","Arn"]}}]}},
 "Trail":{"Type":"AWS::Events::Rule","Properties":{"EventBusName":{"Ref":"Bus"},
   "EventPattern":{"source":["aws.ec2"],"detail-type":["AWS API Call via CloudTrail"],
     "detail":{"eventName":["CreateVpc","DeleteFlowLogs"],"errorCode":[{"exists":false}]}},
   "Targets":[{"Id":"q","Arn":{"Fn::GetAtt":["Work","Arn"]}}]}},
 "Default":{"Type":"AWS::Events::Rule","Properties":{"ScheduleExpression":"rate(6 hours)","Targets":[{"Id":"fn","Arn":{"Fn::GetAtt":["Fn","Arn"]}}]}}}}`

// TestOrgBus proves the harness's hub bus: its policy (read from the
// template) admits the organization's accounts and rejects others, and
// its rules deliver exactly the matching events, to a function or to a
// queue; a rule of the default bus (the schedule) is not one of its rules.
func TestOrgBus(t *testing.T) {
	ctx := t.Context()
	m := freshMoto(t)
	org, err := e2e.NewOrganization(ctx, m.URL)
	if err != nil {
		t.Fatal(err)
	}
	member, err := org.AddAccount(ctx, "member", "")
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/hub.template.json"
	if err := os.WriteFile(file, []byte(fmt.Sprintf(busTemplate, org.ID)), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := e2e.ReadTemplate(file)
	if err != nil {
		t.Fatal(err)
	}
	s := &e2e.Stack{Template: tpl, Names: e2e.NameResources(tpl, e2e.StackName, e2e.NewStackID(testenv.Region, e2e.Account, e2e.StackName, "bus"), e2e.Account, testenv.Region)}
	c := e2e.NewClients(m.URL)
	if err := e2e.Deploy(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	bus, err := e2e.ReadOrgBus(s, settings.HubEventBusName, org.Member)
	if err != nil {
		t.Fatal(err)
	}
	if bus.OrgID != org.ID || len(bus.Rules) != 2 {
		t.Fatalf("bus read as %+v: want the organization %s and two rules", bus, org.ID)
	}
	var invoked int
	to := e2e.BusTargets{SQS: c.SQS, Functions: map[string]e2e.Invoker{s.Names.Attr["Fn"]["Arn"]: e2e.InvokerFunc(func(context.Context, any) (json.RawMessage, error) {
		invoked++
		return nil, nil
	})}}
	tags := map[string]string{"FlowLogs": "enabled"}
	tests := []struct {
		name               string
		event              map[string]any
		rejected           bool
		wantFn, wantQueued int
	}{
		{"a member's tag change", e2e.TagChangeEvent("eu-west-1", member.ID, "vpc-0123456789abcdef0", tags, "FlowLogs"), false, 1, 0},
		{"an outsider's tag change", e2e.TagChangeEvent("eu-west-1", "999999999999", "vpc-0123456789abcdef0", tags, "FlowLogs"), true, 0, 0},
		{"a member's CreateVpc", e2e.CloudTrailEvent("eu-west-1", member.ID, "CreateVpc", "vpc-0123456789abcdef0", ""), false, 0, 1},
		{"a member's failed CreateVpc", e2e.CloudTrailEvent("eu-west-1", member.ID, "CreateVpc", "", "Client.VpcLimitExceeded"), false, 0, 0},
		{"a member's CreateSubnet", e2e.CloudTrailEvent("eu-west-1", member.ID, "CreateSubnet", "", ""), false, 0, 0},
	}
	queue := s.Names.Attr["Work"]["QueueUrl"]
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			invoked = 0
			before, _ := e2e.QueueDepth(ctx, c.SQS, queue)
			d, err := bus.Put(ctx, tc.event, to)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := e2e.QueueDepth(ctx, c.SQS, queue)
			if (d.Rejected != "") != tc.rejected || invoked != tc.wantFn || after-before != tc.wantQueued {
				t.Errorf("delivery %+v, function invoked %d, queued %d; want rejected %v, %d, %d", d, invoked, after-before, tc.rejected, tc.wantFn, tc.wantQueued)
			}
		})
	}
}
