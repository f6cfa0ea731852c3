package vpcflowlogs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestFlowLogsDeletedRule proves that a successful DeleteFlowLogs call
// recorded by CloudTrail reaches the enabler (before, nothing noticed a
// deleted flow log until the sweep, up to six hours later).
func TestFlowLogsDeletedRule(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	assert(t, "CloudTrail DeleteFlowLogs, successful calls only, to the enabler", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.ec2"},
				"detail-type": []any{"AWS API Call via CloudTrail"},
				"detail": map[string]any{
					"eventSource": []any{"ec2.amazonaws.com"},
					"eventName":   []any{"DeleteFlowLogs"},
					"errorCode":   []any{map[string]any{"exists": false}},
				},
			}),
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("Enabler")), "Arn"}}})},
		})
	})
	assert(t, "the enabler knows its own role, to ignore its own deletions", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				settings.EnvEnablerRoleARN: map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("EnablerRole")), "Arn"}},
			})},
		})
	})
}

// TestRulesDeletedBeforeTheCustomResource proves the teardown order: every
// rule that invokes the enabler depends on the custom resource, so
// CloudFormation deletes the rules first and no event sent after the
// custom resource's Delete can recreate a flow log. Before, the rules had
// no such dependency and could outlive the custom resource.
func TestRulesDeletedBeforeTheCustomResource(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	var custom []string
	for id := range *tmpl.FindResources(jsii.String("Custom::VpcFlowLogs"), nil) {
		custom = append(custom, id)
	}
	if len(custom) != 1 {
		t.Fatalf("custom resources %v, want one", custom)
	}
	enablerRules := 0
	for id, r := range *tmpl.FindResources(jsii.String("AWS::Events::Rule"), nil) {
		props := (*r)["Properties"].(map[string]any)
		if !strings.Contains(fmt.Sprint(props["Targets"]), "Enabler") {
			continue
		}
		enablerRules++
		deps, _ := (*r)["DependsOn"].([]any)
		if !slices.Contains(deps, any(custom[0])) {
			t.Errorf("rule %s (%v) DependsOn %v, want it to include the custom resource %s", id, props["Description"], deps, custom[0])
		}
	}
	if enablerRules != 4 {
		t.Errorf("%d rules invoke the enabler, want 4 (tag change, CreateVpc, DeleteFlowLogs, sweep)", enablerRules)
	}
}

// TestSummaryTopicKey proves that with an encrypted summary topic the
// summarizer may use exactly that key, only through SNS in the topic's
// region; before, it lacked kms:GenerateDataKey and every publish to such
// a topic failed with a KMS access error.
func TestSummaryTopicKey(t *testing.T) {
	topic := "arn:aws:sns:eu-west-1:123456789012:flow-digest"
	key := "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	_, tmpl := synth(t, vpcflowlogs.Props{SummaryTopicARN: topic, SummaryTopicKMSKeyARN: key})
	s, ok := bySid(policyStatements(t, tmpl, "SummarizerRole"))["EncryptDigestForTopic"]
	if !ok {
		t.Fatal("no EncryptDigestForTopic statement")
	}
	got := fmt.Sprintf("%v on %v if %v", s["Action"], s["Resource"], s["Condition"])
	want := "[kms:GenerateDataKey kms:Decrypt] on " + key + " if map[StringEquals:map[kms:ViaService:sns.eu-west-1.amazonaws.com]]"
	if got != want {
		t.Errorf("statement\n got %s\nwant %s", got, want)
	}
	_, tmpl = synth(t, vpcflowlogs.Props{SummaryTopicARN: topic})
	if _, ok := bySid(policyStatements(t, tmpl, "SummarizerRole"))["EncryptDigestForTopic"]; ok {
		t.Error("KMS granted without a key")
	}
}

func TestNewPropsValidation(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:t"
	cases := []struct {
		name  string
		props vpcflowlogs.Props
		want  string
	}{
		{"bad summary topic", vpcflowlogs.Props{SummaryTopicARN: "digest"}, "SummaryTopicARN"},
		{"bad alarm topic", vpcflowlogs.Props{AlarmTopicARN: "arn:aws:sqs:eu-west-1:123456789012:q"}, "AlarmTopicARN"},
		{"topic key alias", vpcflowlogs.Props{SummaryTopicARN: topic, SummaryTopicKMSKeyARN: "alias/aws/sns"}, "SummaryTopicKMSKeyARN"},
		{"topic key without topic", vpcflowlogs.Props{SummaryTopicKMSKeyARN: "arn:aws:kms:eu-west-1:123456789012:key/k"}, "set the topic ARN too"},
		{"topic key in another region", vpcflowlogs.Props{SummaryTopicARN: topic, SummaryTopicKMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/k"}, "topic's region"},
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
