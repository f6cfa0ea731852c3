package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The StackSet's operation preferences, chosen for an organization of
// 1,000 accounts:
//   - regions in parallel (RegionConcurrencyType PARALLEL): a region's
//     rollout does not wait for another's, so adding a region or changing
//     the spoke takes the time of one region, not of all of them;
//   - a quarter of the accounts at a time (MaxConcurrentPercentage 25):
//     1,000 accounts in four waves per region, well inside StackSets'
//     concurrency limits, while a bad spoke change stops after the first
//     wave instead of reaching everyone;
//   - up to 10 % failed accounts per region before the region stops
//     (FailureTolerancePercentage 10): in a large organization a few
//     accounts always fail (an SCP, a suspended account, a region being
//     opted out), and they must not hold back the other 990;
//   - SOFT_FAILURE_TOLERANCE: with the default strict mode, CloudFormation
//     would cap the concurrency at the failure tolerance plus one and
//     lower it with each failure; soft mode keeps the 25 % and still stops
//     a region at 10 % failures;
//   - managed execution: StackSets queues an operation that arrives while
//     another runs (an automatic deployment to a new account during a stack
//     update) instead of failing it.
const (
	stackSetMaxConcurrentPercentage    = 25
	stackSetFailureTolerancePercentage = 10
)

// newSpokeStackSet deploys the spoke template to every account of the
// organization's targets in the covered regions, and to every account that
// joins them later.
//
// It is CloudFormation's own resource (CfnStackSet) with the spoke's
// template inline, not cdklabs' cdk-stacksets library: that library is
// experimental, and it publishes the spoke stack as an asset (its template
// in the bootstrap bucket, referenced by TemplateURL), which ties the
// StackSet to a bootstrapped hub and to a bucket every member account must
// be able to read. Inline, the body is the spoke's JSON itself (under
// CloudFormation's 51,200-byte TemplateBody limit, which a test holds), and
// the spoke holds no code and no asset.
//
// A service-managed StackSet never deploys to the organization's
// management account, even when it is under a target. The management
// account should hold no workloads; if it has VPCs to cover, deploy the
// spoke template there in each region yourself (aws cloudformation deploy
// with the same Owner, HubAccount and HubRegion parameters).
func newSpokeStackSet(c *VPCFlowLogs, p Props, body string) awscloudformation.CfnStackSet {
	stack := awscdk.Stack_Of(c.Construct)
	callAs := "SELF"
	if p.Organization.DeployedBy == settings.DeployedByDelegatedAdmin {
		callAs = "DELEGATED_ADMIN"
	}
	param := func(key string, value *string) any {
		return &awscloudformation.CfnStackSet_ParameterProperty{ParameterKey: jsii.String(key), ParameterValue: value}
	}
	set := awscloudformation.NewCfnStackSet(c.Construct, jsii.String("Spokes"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(*stack.StackName() + "-Spokes"),
		Description:     jsii.String("VPC flow logs spokes: the flow log group, delivery role, hub roles and event forwarding of each account and region"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(callAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled: jsii.Bool(true),
			// An account that leaves the targets loses its spoke; its
			// flow log group is kept (the spoke retains it: evidence).
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities: jsii.Strings("CAPABILITY_NAMED_IAM"),
		// A plain map: the property is untyped JSON to jsii, which would
		// write the struct's field as "active", a name CloudFormation
		// rejects.
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			RegionConcurrencyType:      jsii.String("PARALLEL"),
			MaxConcurrentPercentage:    jsii.Number(stackSetMaxConcurrentPercentage),
			FailureTolerancePercentage: jsii.Number(stackSetFailureTolerancePercentage),
			ConcurrencyMode:            jsii.String("SOFT_FAILURE_TOLERANCE"),
		},
		Parameters: &[]any{
			param(SpokeParamOwner, stack.StackId()),
			param(SpokeParamHubAccount, stack.Account()),
			param(SpokeParamHubRegion, stack.Region()),
		},
		StackInstancesGroup: &[]any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(p.Organization.Targets...),
			},
			Regions: hubRegions(stack, p),
		}},
		TemplateBody: jsii.String(body),
	})
	return set
}

// hubRegions are the covered regions: Organization.Regions, or the hub
// stack's region.
func hubRegions(stack awscdk.Stack, p Props) *[]*string {
	if len(p.Organization.Regions) == 0 {
		return &[]*string{stack.Region()}
	}
	return jsii.Strings(p.Organization.Regions...)
}
