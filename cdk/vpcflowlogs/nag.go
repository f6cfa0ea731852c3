package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppressNag records, on each function's role policy, why each remaining
// wildcard is needed, for cdk-nag's AwsSolutions-IAM5. Each suppression
// names the exact resource it covers, so any new wildcard still fails.
func suppressNag(enabler, summarizer awslambda.Function) {
	suppress := func(fn awslambda.Function, s ...*cdknag.NagPackSuppression) {
		cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &s, jsii.Bool(true))
	}
	describe := "EC2 Describe calls (DescribeVpcs, DescribeFlowLogs, DescribeNetworkInterfaces) support no resource-level permissions: IAM accepts only * for them."
	suppress(enabler,
		&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(describe), AppliesTo: &[]any{"Resource::*"}},
		&cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ec2:CreateFlowLogs on any VPC of this account and region: which VPCs carry the tag is decided at run time by tagging, not at deployment."),
			AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:vpc/*"},
		},
		&cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Flow log ids are assigned by EC2 at creation. Creating one requires the request to tag it with this stack's owner tag, " +
				"tagging is allowed only as part of CreateFlowLogs, and deleting is allowed only on flow logs that carry the owner tag."),
			AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:vpc-flow-log/*"},
		},
	)
	suppress(summarizer,
		&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(describe), AppliesTo: &[]any{"Resource::*"}},
	)
}
