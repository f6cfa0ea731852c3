package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// suppressHubNag records, on each hub function's role policy, why each
// wildcard is needed, for cdk-nag's AwsSolutions-IAM5, naming each exact
// resource.
func suppressHubNag(c *VPCFlowLogs) {
	organizations := "AWS Organizations' read calls (ListAccountsForParent, ListOrganizationalUnitsForParent): " +
		"the root and OU ARNs name the management account and the organization's own id, unknown at synthesis."
	for _, f := range []struct {
		fn        awslambda.Function
		spokeRole string
	}{{c.Enabler, settings.SpokeEnablerRoleName}, {c.Summarizer, settings.SpokeReaderRoleName}} {
		cdknag.NagSuppressions_AddResourceSuppressions(f.fn.Role(), &[]*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(organizations), AppliesTo: &[]any{"Resource::*"}},
			{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("The spoke role " + f.spokeRole + " in any account: accounts join the targets after deployment and get their spoke " +
					"from the StackSet's automatic deployment. aws:ResourceOrgID limits it to the organization's accounts, and the spoke trusts only this role."),
				AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:iam::*:role/" + f.spokeRole},
			},
		}, jsii.Bool(true))
	}
}
