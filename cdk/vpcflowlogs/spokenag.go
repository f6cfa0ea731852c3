package vpcflowlogs

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppressSpokeNag records why each wildcard of the spoke's roles is
// needed, for cdk-nag's AwsSolutions-IAM5, naming each exact resource.
func suppressSpokeNag(s *spoke) {
	applies := func(arns ...string) *[]any {
		out := make([]any, len(arns))
		for i, a := range arns {
			out[i] = "Resource::" + a
		}
		return &out
	}
	var vpcs, flowLogs, streams []string
	for _, r := range s.regions {
		region := *r
		if region == *s.hubRegion {
			region = "<" + SpokeParamHubRegion + ">"
		}
		vpcs = append(vpcs, "arn:<AWS::Partition>:ec2:"+region+":<AWS::AccountId>:vpc/*")
		flowLogs = append(flowLogs, "arn:<AWS::Partition>:ec2:"+region+":<AWS::AccountId>:vpc-flow-log/*")
		streams = append(streams, "arn:<AWS::Partition>:logs:"+region+":<AWS::AccountId>:log-group:"+s.p.LogGroupName+":*")
	}
	describe := "EC2 Describe calls (DescribeVpcs, DescribeFlowLogs, DescribeNetworkInterfaces) support no resource-level permissions: IAM accepts only * for them."
	enablerAny := describe
	if s.p.isS3() {
		enablerAny += " logs:CreateLogDelivery and logs:DeleteLogDelivery, which creating and deleting a flow log to S3 needs, take no resource but * either."
	}
	for _, c := range []struct {
		id   string
		sups []*cdknag.NagPackSuppression
	}{
		{"EnablerRole", []*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(enablerAny), AppliesTo: applies("*")},
			{Id: jsii.String("AwsSolutions-IAM5"), AppliesTo: applies(vpcs...),
				Reason: jsii.String("ec2:CreateFlowLogs on any VPC of this account in the covered regions: which VPCs carry the tag is decided at run time by tagging, not at deployment.")},
			{Id: jsii.String("AwsSolutions-IAM5"), AppliesTo: applies(flowLogs...),
				Reason: jsii.String("Flow log ids are assigned by EC2 at creation. Creating one requires the request to tag it with the hub's owner tag, " +
					"tagging is allowed only as part of CreateFlowLogs, and deleting is allowed only on flow logs that carry the owner tag.")},
		}},
		{"ReaderRole", []*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(describe), AppliesTo: applies("*")},
			{Id: jsii.String("AwsSolutions-IAM5"), AppliesTo: applies(streams...),
				Reason: jsii.String("The flow log group's streams (log-group:NAME:*) in each covered region: streams are created by VPC Flow Logs, one per interface, at run time.")},
		}},
	} {
		cdknag.NagSuppressions_AddResourceSuppressions(s.stack.Node().FindChild(jsii.String(c.id)), &c.sups, jsii.Bool(true))
	}
}
