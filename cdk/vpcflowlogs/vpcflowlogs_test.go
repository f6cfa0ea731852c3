package vpcflowlogs_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

func TestMain(m *testing.M) {
	// jsii runs the CDK in Node.js: without it no test here can run. By
	// hand that is a skip with the install command; under make test
	// (FLOWLOGS_REQUIRE_TOOLS set) a failure.
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Println("skipping the CDK tests: they need node, which is not on PATH: install it with: apt-get install nodejs npm")
		if os.Getenv("FLOWLOGS_REQUIRE_TOOLS") != "" {
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// assert runs one aws-cdk-go assertion; they panic on failure, and the
// panic becomes a test error so that one failure does not hide the rest.
func assert(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// fakeCode is a directory holding a stand-in bootstrap: the construct only
// packages it.
func fakeCode(t *testing.T) awslambda.Code {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil)
}

// synth defines the construct in a fresh stack with the AWS Solutions
// checks applied and returns the stack and its template.
func synth(t *testing.T, p vpcflowlogs.Props) (awscdk.Stack, assertions.Template) {
	t.Helper()
	p.EnablerCode, p.SummarizerCode = fakeCode(t), fakeCode(t)
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	if _, err := vpcflowlogs.New(stack, "FlowLogs", p); err != nil {
		t.Fatalf("New: %v", err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{}), nil)
	return stack, assertions.Template_FromStack(stack, nil)
}

// resources returns the Properties of every resource of type typ.
func resources(tmpl assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range *tmpl.FindResources(jsii.String(typ), nil) {
		props, _ := (*r)["Properties"].(map[string]any)
		out[id] = props
	}
	return out
}

func TestDeliveryRole(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	assert(t, "trust: vpc-flow-logs.amazonaws.com with confused-deputy conditions", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
				"Action":    "sts:AssumeRole",
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"},
				"Condition": map[string]any{
					"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
					"ArnLike": map[string]any{"aws:SourceArn": map[string]any{"Fn::Join": []any{"", []any{
						"arn:", map[string]any{"Ref": "AWS::Partition"}, ":ec2:", map[string]any{"Ref": "AWS::Region"},
						":", map[string]any{"Ref": "AWS::AccountId"}, ":vpc-flow-log/*",
					}}}},
				},
			}}},
		})
	})
	assert(t, "inline policy: the four log actions on the group and its streams only", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
			"Policies": []any{map[string]any{
				"PolicyName": "DeliverToFlowLogGroup",
				"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
					"Action": []any{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"},
					"Effect": "Allow",
					"Resource": []any{
						map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{":log-group:", assertions.Match_ObjectLike(&map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("FlowLogGroup"))})})}},
						map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("FlowLogGroup")), "Arn"}},
					},
				}}},
			}},
		})
	})
}

// TestNoWildcardActionsNoManagedPolicies walks every policy in the template.
func TestNoWildcardActionsNoManagedPolicies(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	for id, role := range resources(tmpl, "AWS::IAM::Role") {
		if _, ok := role["ManagedPolicyArns"]; ok {
			t.Errorf("role %s has managed policies: %v", id, role["ManagedPolicyArns"])
		}
		if s := fmt.Sprint(role); strings.Contains(s, "logs:CreateLogGroup") {
			t.Errorf("role %s can create log groups", id)
		}
	}
	var statements []map[string]any
	for _, p := range resources(tmpl, "AWS::IAM::Policy") {
		doc := p["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			statements = append(statements, s.(map[string]any))
		}
	}
	if len(statements) == 0 {
		t.Fatal("no policy statements found")
	}
	for _, s := range statements {
		actions := s["Action"]
		list, ok := actions.([]any)
		if !ok {
			list = []any{actions}
		}
		for _, a := range list {
			if str := fmt.Sprint(a); str == "*" || strings.HasSuffix(str, ":*") {
				t.Errorf("wildcard action %q in %v", str, s)
			}
		}
		if s["Resource"] == "*" {
			for _, a := range list {
				if !strings.HasPrefix(fmt.Sprint(a), "ec2:Describe") {
					t.Errorf("action %v on resource * is not an EC2 Describe call", a)
				}
			}
		}
	}
}

func TestLogGroups(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	for _, name := range []string{"/vpc/flow-logs", "/vpc/flow-logs/digests"} {
		assert(t, name+" retained with a year of retention", func() {
			tmpl.HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"Properties":          map[string]any{"LogGroupName": name, "RetentionInDays": 365},
				"DeletionPolicy":      "Retain",
				"UpdateReplacePolicy": "Retain",
			})
		})
	}
	assert(t, "no KMS key unless asked", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"),
			map[string]any{"KmsKeyId": assertions.Match_AnyValue()}, jsii.Number(0))
	})

	key := "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	_, tmpl = synth(t, vpcflowlogs.Props{LogGroupName: "/custom/flows", RetentionDays: 30, KMSKeyARN: key})
	for _, name := range []string{"/custom/flows", "/custom/flows/digests"} {
		assert(t, name+" encrypted with the key", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"LogGroupName": name, "RetentionInDays": 30, "KmsKeyId": key,
			})
		})
	}
}

func TestFunctions(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	assert(t, "two functions", func() { tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(2)) })
	assert(t, "both Go on provided.al2023 arm64 with JSON logs", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
			"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": assertions.Match_AnyValue()},
			"Timeout":       300,

			"ReservedConcurrentExecutions": 1,
		}, jsii.Number(2))
	})
	assert(t, "no asynchronous retries: the schedules redo the work", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"MaximumRetryAttempts": 0, "Qualifier": "$LATEST",
		}, jsii.Number(2))
	})
	assert(t, "no Node.js function anywhere", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"),
			map[string]any{"Runtime": assertions.Match_StringLikeRegexp(jsii.String("nodejs"))}, jsii.Number(0))
	})
	assert(t, "the functions' own log groups have a retention", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"),
			map[string]any{"LogGroupName": assertions.Match_Absent(), "RetentionInDays": 30}, jsii.Number(2))
	})
	assert(t, "enabler environment", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{
				settings.EnvTagKey:                 "FlowLogs",
				settings.EnvTagValues:              `["enabled"]`,
				settings.EnvTrafficType:            "ALL",
				settings.EnvMaxAggregationInterval: "600",
				settings.EnvRemoveOnDelete:         "true",
				settings.EnvRemoveOnUntag:          "true",
				settings.EnvOwner:                  map[string]any{"Ref": "AWS::StackId"},
				settings.EnvDryRun:                 "false",
			}},
		})
	})
	assert(t, "summarizer environment", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{
				settings.EnvSettleLag:      "15m0s",
				settings.EnvSchedulePeriod: "1h0m0s",
				settings.EnvMaxCatchUp:     "24h0m0s",
				settings.EnvStateTable:     map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("State"))},
				settings.EnvSourceAccount:  map[string]any{"Ref": "AWS::AccountId"},
				settings.EnvSourceRegion:   map[string]any{"Ref": "AWS::Region"},
			}},
		})
	})
	assert(t, "no SSM parameter any more", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::SSM::Parameter"), jsii.Number(0))
	})
}

func TestStateTable(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{MaxCatchUpHours: 48})
	keys := map[string]any{
		"KeySchema": []any{
			map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
		},
		"AttributeDefinitions": []any{
			map[string]any{"AttributeName": "pk", "AttributeType": "S"},
			map[string]any{"AttributeName": "sk", "AttributeType": "S"},
		},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
	}
	assert(t, "one table: string pk and sk, on demand, point-in-time recovery, AWS owned key", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
		props := maps.Clone(keys)
		// SSEEnabled false is DynamoDB's AWS owned key: data at rest is
		// always encrypted.
		props["SSESpecification"] = map[string]any{"SSEEnabled": false}
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), props)
	})
	assert(t, "the catch-up reaches the summarizer", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{settings.EnvMaxCatchUp: "48h0m0s"}},
		})
	})

	key := "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	_, tmpl = synth(t, vpcflowlogs.Props{KMSKeyARN: key})
	assert(t, "encrypted with the configured key", func() {
		props := maps.Clone(keys)
		props["SSESpecification"] = map[string]any{"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": key}
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), props)
	})
	sids := bySid(policyStatements(t, tmpl, "SummarizerRole"))
	s := sids["RunStateKey"]
	if got := fmt.Sprint(s["Action"]); got != "[kms:Decrypt kms:Encrypt kms:GenerateDataKey kms:DescribeKey]" {
		t.Errorf("RunStateKey actions %s", got)
	}
	if got := fmt.Sprint(s["Resource"]); got != key {
		t.Errorf("RunStateKey on %s, want %s", got, key)
	}
	if got := fmt.Sprint(s["Condition"]); !strings.Contains(got, "kms:ViaService") || !strings.Contains(got, "dynamodb.") {
		t.Errorf("RunStateKey condition %s, want kms:ViaService dynamodb", got)
	}
}

func TestCustomResource(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{
		TagKey: "Team", TagValues: []string{}, TrafficType: "REJECT", MaxAggregationInterval: 60,
		LogFormat:             "${version} ${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}",
		RemoveFlowLogsOnUntag: jsii.Bool(false), DryRun: true,
	})
	assert(t, "backed directly by the enabler, with a short ServiceTimeout and the configuration", func() {
		tmpl.HasResourceProperties(jsii.String("Custom::VpcFlowLogs"), map[string]any{
			"ServiceToken":                      map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("Enabler")), "Arn"}},
			"ServiceTimeout":                    "900",
			settings.PropTagKey:                 "Team",
			settings.PropTagValues:              []any{},
			settings.PropTrafficType:            "REJECT",
			settings.PropMaxAggregationInterval: "60",
			settings.PropLogFormat:              "${version} ${interface-id} ${srcaddr} ${dstaddr} ${bytes} ${start} ${end} ${action} ${log-status}",
			settings.PropRemoveOnDelete:         "true",
			settings.PropRemoveOnUntag:          "false",
			settings.PropDryRun:                 "true",
			settings.PropOwner:                  map[string]any{"Ref": "AWS::StackId"},
			settings.PropDeliveryRoleARN:        map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("DeliveryRole")), "Arn"}},
			settings.PropLogGroupName:           map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("FlowLogGroup"))},
		})
	})
	assert(t, "the tag rule follows the tag key", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": map[string]any{
				"source":      []any{"aws.tag"},
				"detail-type": []any{"Tag Change on Resource"},
				"detail": map[string]any{
					"service": []any{"ec2"}, "resource-type": []any{"vpc"}, "changed-tag-keys": []any{"Team"},
				},
			},
		})
	})
}

func TestRules(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{SweepSchedule: "rate(30 minutes)", SummarySchedule: "cron(0 * * * ? *)"})
	assert(t, "five rules", func() { tmpl.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(5)) })
	assert(t, "CloudTrail CreateVpc", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": map[string]any{
				"source":      []any{"aws.ec2"},
				"detail-type": []any{"AWS API Call via CloudTrail"},
				"detail": map[string]any{"eventSource": []any{"ec2.amazonaws.com"}, "eventName": []any{"CreateVpc"},
					"errorCode": []any{map[string]any{"exists": false}}},
			},
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("Enabler")), "Arn"}}})},
		})
	})
	for schedule, fn := range map[string]string{"rate(30 minutes)": "Enabler", "cron(0 * * * ? *)": "Summarizer"} {
		assert(t, schedule+" invokes the "+fn, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
				"ScheduleExpression": schedule,
				"Targets":            []any{assertions.Match_ObjectLike(&map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String(fn)), "Arn"}}})},
			})
		})
	}
	assert(t, "a cron summary schedule gives the first window an hour", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{settings.EnvSchedulePeriod: "1h0m0s"})},
		})
	})
}

// policyStatements returns the statements of the default policy of the
// role whose logical id contains role.
func policyStatements(t *testing.T, tmpl assertions.Template, role string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for id, p := range resources(tmpl, "AWS::IAM::Policy") {
		if !strings.Contains(id, role) {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no policy for %s", role)
	}
	return out
}

func bySid(statements []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, s := range statements {
		if sid, ok := s["Sid"].(string); ok {
			out[sid] = s
		}
	}
	return out
}

func TestEnablerPermissions(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	sids := bySid(policyStatements(t, tmpl, "EnablerRole"))
	want := map[string]struct {
		actions   string
		resource  string // a fragment of the resource
		condition string // a fragment of the condition, "" for none
	}{
		"DescribeHasNoResourceLevelPermissions": {"[ec2:DescribeVpcs ec2:DescribeFlowLogs]", "*", ""},
		"CreateFlowLogsOnVpcs":                  {"ec2:CreateFlowLogs", ":vpc/*", ""},
		"CreateOnlyOwnedFlowLogs":               {"ec2:CreateFlowLogs", ":vpc-flow-log/*", "aws:RequestTag/" + settings.OwnerTagKey + ":map[Ref:AWS::StackId]"},
		"TagFlowLogsAtCreation":                 {"ec2:CreateTags", ":vpc-flow-log/*", "ec2:CreateAction:CreateFlowLogs"},
		"DeleteOnlyOwnedFlowLogs":               {"ec2:DeleteFlowLogs", ":vpc-flow-log/*", "aws:ResourceTag/" + settings.OwnerTagKey + ":map[Ref:AWS::StackId]"},
		"PassOnlyTheDeliveryRole":               {"iam:PassRole", "DeliveryRole", ""},
		"DescribeOnlyThisStack":                 {"cloudformation:DescribeStacks", "map[Ref:AWS::StackId]", ""},
	}
	for sid, w := range want {
		s, ok := sids[sid]
		if !ok {
			t.Errorf("statement %s missing", sid)
			continue
		}
		if got := fmt.Sprint(s["Action"]); got != w.actions {
			t.Errorf("%s: actions %s, want %s", sid, got, w.actions)
		}
		if got := fmt.Sprint(s["Resource"]); !strings.Contains(got, w.resource) {
			t.Errorf("%s: resource %s, want it to contain %s", sid, got, w.resource)
		}
		cond := fmt.Sprint(s["Condition"])
		if w.condition == "" && s["Condition"] != nil || !strings.Contains(cond, w.condition) {
			t.Errorf("%s: condition %s, want %q", sid, cond, w.condition)
		}
	}
	// The stack's own id and nothing else: DescribeStacks on "*" would let
	// the enabler read every stack's parameters and outputs.
	if got := fmt.Sprint(sids["DescribeOnlyThisStack"]["Resource"]); got != "map[Ref:AWS::StackId]" {
		t.Errorf("DescribeOnlyThisStack: resource %s, want exactly this stack's id", got)
	}
	if len(sids) != len(want) {
		t.Errorf("enabler has statements %v, want exactly %d", slices.Sorted(func(yield func(string) bool) {
			for k := range sids {
				if !yield(k) {
					return
				}
			}
		}), len(want))
	}
}

func TestSummarizerPermissions(t *testing.T) {
	topic := "arn:aws:sns:us-east-1:123456789012:flow-digest"
	_, tmpl := synth(t, vpcflowlogs.Props{SummaryTopicARN: topic})
	sids := bySid(policyStatements(t, tmpl, "SummarizerRole"))
	checks := map[string]string{
		"ReadFlowLogGroup":                      "[logs:DescribeLogStreams logs:FilterLogEvents]",
		"WriteAndReadDigests":                   "[logs:CreateLogStream logs:PutLogEvents logs:GetLogEvents]",
		"DescribeHasNoResourceLevelPermissions": "[ec2:DescribeNetworkInterfaces ec2:DescribeFlowLogs]",
		"RunState":                              "[dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem]",
		"PublishDigest":                         "sns:Publish",
	}
	for sid, actions := range checks {
		if got := fmt.Sprint(sids[sid]["Action"]); got != actions {
			t.Errorf("%s: actions %s, want %s", sid, got, actions)
		}
	}
	if got := fmt.Sprint(sids["PublishDigest"]["Resource"]); got != topic {
		t.Errorf("sns:Publish on %s, want %s", got, topic)
	}
	if got := fmt.Sprint(sids["RunState"]["Resource"]); !strings.Contains(got, "State") || !strings.Contains(got, "Arn") || strings.Contains(got, "*") {
		t.Errorf("dynamodb on %s, want the state table's ARN only", got)
	}
	if len(sids) != len(checks) {
		t.Errorf("summarizer statements %v, want exactly %d", slices.Sorted(maps.Keys(sids)), len(checks))
	}
	_, tmpl = synth(t, vpcflowlogs.Props{})
	sids = bySid(policyStatements(t, tmpl, "SummarizerRole"))
	if _, ok := sids["PublishDigest"]; ok {
		t.Error("sns:Publish granted without a topic")
	}
	if _, ok := sids["RunStateKey"]; ok {
		t.Error("kms granted without a key")
	}
}

func TestDashboardAndQueries(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	assert(t, "one dashboard", func() { tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1)) })
	assert(t, "three saved queries on the flow log group", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::QueryDefinition"), map[string]any{
			"LogGroupNames": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("FlowLogGroup"))}},
		}, jsii.Number(3))
	})
}

func TestNagFindsNothingUnsuppressed(t *testing.T) {
	stack, _ := synth(t, vpcflowlogs.Props{SummaryTopicARN: "arn:aws:sns:us-east-1:123456789012:t", KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/abc",
		SummaryTopicKMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/def", AlarmTopicARN: "arn:aws:sns:us-east-1:123456789012:alarms"})
	ann := assertions.Annotations_FromStack(stack)
	errs := ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	warns := ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, m := range append(*errs, *warns...) {
		t.Errorf("cdk-nag: %s: %v", *m.Id, m.Entry.Data) //nolint:staticcheck // Annotations returns only this deprecated type in this CDK version
	}
}

func TestPropsValidation(t *testing.T) {
	cases := []struct {
		name  string
		props vpcflowlogs.Props
		want  string
	}{
		{"tag key too long", vpcflowlogs.Props{TagKey: strings.Repeat("k", 129)}, "TagKey"},
		{"bad log group", vpcflowlogs.Props{LogGroupName: "bad name"}, "LogGroupName"},
		{"bad retention", vpcflowlogs.Props{RetentionDays: 42}, "RetentionDays"},
		{"bad traffic", vpcflowlogs.Props{TrafficType: "SOME"}, "TrafficType"},
		{"bad interval", vpcflowlogs.Props{MaxAggregationInterval: 300}, "MaxAggregationInterval"},
		{"bad format", vpcflowlogs.Props{LogFormat: "${version} ${nope}"}, "LogFormat"},
		{"bad key", vpcflowlogs.Props{KMSKeyARN: "alias/mine"}, "KMSKeyARN"},
		{"bad sweep", vpcflowlogs.Props{SweepSchedule: "every hour"}, "SweepSchedule"},
		{"bad summary", vpcflowlogs.Props{SummarySchedule: "rate(1 hours)"}, "SummarySchedule"},
		{"catch-up too long", vpcflowlogs.Props{MaxCatchUpHours: 745}, "MaxCatchUpHours"},
		// The upper bound lived only in the app's context reader: a
		// library user got a settle lag of days through.
		{"settle lag over a day", vpcflowlogs.Props{SettleLag: 25 * time.Hour}, "SettleLag: settle lag of 25h0m0s is not valid: want 0 to 1440 minutes"},
		{"negative settle lag", vpcflowlogs.Props{SettleLag: -time.Minute}, "SettleLag"},
		{"reserved namespace", vpcflowlogs.Props{MetricsNamespace: "AWS/Lambda"}, "MetricsNamespace"},
		{"every problem at once", vpcflowlogs.Props{TagKey: "aws:x", RetentionDays: 2}, "RetentionDays"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := awscdk.NewApp(nil)
			stack := awscdk.NewStack(app, jsii.String("Test"), nil)
			_, err := vpcflowlogs.New(stack, "FlowLogs", c.props)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want an error naming %s", err, c.want)
			}
		})
	}
}

// TestMetricsNamespace proves that the namespace prop reaches everything
// that writes or reads the functions' metrics: both functions, the alarms
// and the dashboard. Before, all of them used the fixed VPCFlowLogs, so two
// instances in one account shared metrics, alarms and dashboards.
func TestMetricsNamespace(t *testing.T) {
	cases := []struct{ name, prop, want string }{
		{"default", "", settings.DefaultMetricsNamespace},
		{"own", "Team/FlowLogs", "Team/FlowLogs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, tmpl := synth(t, vpcflowlogs.Props{MetricsNamespace: c.prop})
			assert(t, "both functions write to it", func() {
				tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{settings.EnvMetricsNamespace: c.want})},
				}, jsii.Number(2))
			})
			assert(t, "the four alarms on the functions' own metrics read it", func() {
				tmpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{"Namespace": c.want}, jsii.Number(4))
			})
			for id, d := range resources(tmpl, "AWS::CloudWatch::Dashboard") {
				body := fmt.Sprint(d["DashboardBody"])
				if !strings.Contains(body, `["`+c.want+`",`) || (c.prop != "" && strings.Contains(body, `["`+settings.DefaultMetricsNamespace+`",`)) {
					t.Errorf("dashboard %s does not draw namespace %s only: %s", id, c.want, body)
				}
			}
		})
	}
}

// TestTwoInstancesNeverCollide defines two instances in one stack: their
// dashboards must have different names (dashboard names are global to an
// account) that also carry the stack name and the region.
func TestTwoInstancesNeverCollide(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	for _, id := range []string{"Prod Flow Logs", "Lab"} {
		p := vpcflowlogs.Props{LogGroupName: "/vpc/" + id[:3], MetricsNamespace: "FlowLogs/" + id[:3]}
		p.EnablerCode, p.SummarizerCode = fakeCode(t), fakeCode(t)
		if _, err := vpcflowlogs.New(stack, id, p); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, d := range resources(assertions.Template_FromStack(stack, nil), "AWS::CloudWatch::Dashboard") {
		names = append(names, fmt.Sprint(d["DashboardName"]))
	}
	slices.Sort(names)
	want := []string{
		"map[Fn::Join:[- [Test-Lab map[Ref:AWS::Region]]]]",
		"map[Fn::Join:[- [Test-Prod-Flow-Logs map[Ref:AWS::Region]]]]",
	}
	if !slices.Equal(names, want) {
		t.Errorf("dashboard names\n%q\nwant\n%q", names, want)
	}
}

// TestTagValuesAgree reads the enabler's TagValues from the synthesized
// environment variable and custom resource property with the functions'
// own reader: nil Props.TagValues is ["enabled"] on both sides, and only
// an explicit empty list is any value.
func TestTagValuesAgree(t *testing.T) {
	cases := []struct {
		name  string
		props []string
		want  []string
	}{
		{"nil is the default", nil, []string{"enabled"}},
		{"empty is any value", []string{}, []string{}},
		{"given", []string{"on", "yes"}, []string{"on", "yes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, tmpl := synth(t, vpcflowlogs.Props{TagValues: c.props})
			var fromEnv, fromProps []string
			for _, fn := range resources(tmpl, "AWS::Lambda::Function") {
				vars, _ := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
				if v, ok := vars[settings.EnvTagValues]; ok {
					r := settings.NewReader("", settings.Getenv(func(string) string { return v.(string) }))
					fromEnv = r.List(settings.EnvTagValues, nil)
				}
			}
			for _, cr := range resources(tmpl, "Custom::VpcFlowLogs") {
				fromProps = settings.NewReader("", settings.Map(cr)).List(settings.PropTagValues, nil)
			}
			if fromEnv == nil || fromProps == nil || !slices.Equal(fromEnv, c.want) || !slices.Equal(fromProps, c.want) {
				t.Errorf("environment gives %#v, properties %#v, want %#v", fromEnv, fromProps, c.want)
			}
		})
	}
}
