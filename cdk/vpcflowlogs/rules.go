package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// addEnablerRules routes tag changes, CloudTrail CreateVpc and
// DeleteFlowLogs calls and the sweep schedule to the enabler.
//
// Every rule depends on the custom resource, so CloudFormation deletes the
// rules before it: once the custom resource's Delete removes the stack's
// flow logs, no new event reaches the enabler to create them again, with
// their delivery role about to go. An event Lambda accepted before the
// rules went can still wait in the function's asynchronous queue behind the
// Delete (reserved concurrency 1), or come back as a retry, and run in the
// seconds before CloudFormation deletes the function: the enabler then finds
// its stack DELETE_IN_PROGRESS and changes nothing (CheckStack in
// lambda/reconcile/stackcheck.go; the DescribeOnlyThisStack grant).
//
// bus is where the events arrive: nil for the account's default bus, the
// hub's bus in organization mode (the spokes forward theirs to it). The
// sweep is a schedule, which only the default bus runs.
func addEnablerRules(c *VPCFlowLogs, p Props, bus awsevents.IEventBus) {
	target := lambdaTarget(c.Enabler)
	rules := []awsevents.Rule{
		awsevents.NewRule(c.Construct, jsii.String("VpcTagChange"), &awsevents.RuleProps{
			Description:  jsii.String("A VPC's " + p.TagKey + " tag changed"),
			EventBus:     bus,
			EventPattern: tagChangePattern(p.TagKey),
			Targets:      &[]awsevents.IRuleTarget{target},
		}),
		awsevents.NewRule(c.Construct, jsii.String("VpcCreated"), &awsevents.RuleProps{
			Description:  jsii.String("CreateVpc recorded by CloudTrail (needs a trail in the account)"),
			EventBus:     bus,
			EventPattern: cloudTrailPattern("CreateVpc"),
			Targets:      &[]awsevents.IRuleTarget{target},
		}),
		// A deleted flow log is put back within seconds instead of at the
		// next sweep. The enabler ignores its own DeleteFlowLogs calls,
		// which it recognises by its role (ENABLER_ROLE_ARN below).
		awsevents.NewRule(c.Construct, jsii.String("FlowLogsDeleted"), &awsevents.RuleProps{
			Description:  jsii.String("DeleteFlowLogs recorded by CloudTrail (needs a trail in the account)"),
			EventBus:     bus,
			EventPattern: cloudTrailPattern("DeleteFlowLogs"),
			Targets:      &[]awsevents.IRuleTarget{target},
		}),
		awsevents.NewRule(c.Construct, jsii.String("Sweep"), &awsevents.RuleProps{
			Description: jsii.String("Full reconcile of VPC flow logs: the safety net for missed events"),
			Schedule:    awsevents.Schedule_Expression(jsii.String(p.SweepSchedule)),
			Targets:     &[]awsevents.IRuleTarget{target},
		}),
	}
	for _, r := range rules {
		r.Node().AddDependency(c.Reconcile)
	}
	c.Enabler.AddEnvironment(jsii.String(settings.EnvEnablerRoleARN), c.Enabler.Role().RoleArn(), nil)
}

// tagChangePattern matches a change of tagKey on a VPC. The spokes forward
// the same events to the hub (spoke.go).
func tagChangePattern(tagKey string) *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.tag"),
		DetailType: jsii.Strings("Tag Change on Resource"),
		Detail: &map[string]any{
			"service":          []string{"ec2"},
			"resource-type":    []string{"vpc"},
			"changed-tag-keys": []string{tagKey},
		},
	}
}

// cloudTrailPattern matches a successful EC2 call recorded by CloudTrail.
func cloudTrailPattern(eventName string) *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ec2"),
		DetailType: jsii.Strings("AWS API Call via CloudTrail"),
		Detail: &map[string]any{
			"eventSource": []string{"ec2.amazonaws.com"},
			"eventName":   []string{eventName},
			// Only calls that succeeded: a denied call changed nothing.
			"errorCode": []any{map[string]any{"exists": false}},
		},
	}
}

// grantTopicKey lets the summarizer publish to a topic encrypted with
// p.SummaryTopicKMSKeyARN: SNS asks KMS for a data key on the publisher's
// behalf, so the publisher needs kms:GenerateDataKey and kms:Decrypt on
// the key, here only when SNS in the topic's region makes the request.
// The key policy must still let the account's IAM policies grant it (the
// default key policy does).
func grantTopicKey(fn awslambda.Function, p Props) {
	if p.SummaryTopicKMSKeyARN == "" {
		return
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("EncryptDigestForTopic"),
		Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources: jsii.Strings(p.SummaryTopicKMSKeyARN),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"kms:ViaService": "sns." + settings.TopicRegion(p.SummaryTopicARN) + ".amazonaws.com"},
		},
	}))
}
