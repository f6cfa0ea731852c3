package vpcflowlogs

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Hub is what the organization mode adds to the construct.
type Hub struct {
	// Bus receives the spokes' forwarded events (settings.HubEventBusName);
	// its policy admits only principals of the organization.
	Bus awsevents.EventBus
	// EnablerQueue and SummarizerQueue carry one message per
	// account-region; each has its dead-letter queue.
	EnablerQueue, EnablerDeadLetters       awssqs.Queue
	SummarizerQueue, SummarizerDeadLetters awssqs.Queue
	// StackSet deploys the spoke template (spoke.go) to the targets.
	StackSet awscloudformation.CfnStackSet
}

// unreachableAccountRegions is the enabler's organization metric: the
// account-regions a sweep could not reach (role missing or denied, region
// not enabled). Like every metric here it has no dimension: the accounts
// are named in the coverage document and the logs.
const unreachableAccountRegions = "UnreachableAccountRegions"

// unreadableAccountRegions is the summarizer's: the account-regions a
// digest run could not read, named with the reason in the roll-up.
const unreadableAccountRegions = "UnreadableAccountRegions"

// stateExpiryAttribute is the run state items' expiry (Unix seconds), the
// table's time-to-live attribute in organization mode.
const stateExpiryAttribute = "expiresAt"

// newHub defines the organization mode's hub: the same two functions with
// fixed role names that the spokes trust, each fed by its work queue; the
// bus the spokes forward to, with the enabler's rules; the digest group
// and the run state, keyed by account and region; the StackSet of spokes;
// the alarms, including the organization's, and the dashboard. There is no
// flow log group and no delivery role here: each spoke has its own, and a
// hub account under the targets gets a spoke like any other.
func newHub(scope constructs.Construct, id string, p Props) (*VPCFlowLogs, error) {
	body, err := SpokeTemplate(p)
	if err != nil {
		return nil, err
	}
	c := &VPCFlowLogs{Construct: constructs.NewConstruct(scope, &id), Hub: &Hub{}}
	var key awskms.IKey
	if p.KMSKeyARN != "" {
		key = awskms.Key_FromKeyArn(c.Construct, jsii.String("LogKey"), jsii.String(p.KMSKeyARN))
	}
	c.DigestLogGroup = newRetainedGroup(c.Construct, "DigestLogGroup", p.LogGroupName+"/digests", p.RetentionDays, key)
	c.State = newStateTable(c.Construct, key)
	// The sweeps' and runs' items carry their expiry: DynamoDB deletes
	// them after it, so the table does not grow with every run.
	c.State.Node().DefaultChild().(awsdynamodb.CfnTable).SetTimeToLiveSpecification(&awsdynamodb.CfnTable_TimeToLiveSpecificationProperty{
		AttributeName: jsii.String(stateExpiryAttribute), Enabled: jsii.Bool(true),
	})
	c.Hub.Bus = newHubBus(c.Construct, p)
	c.defineHubBucket(p, key)
	c.defineHubEnabler(p, key)
	c.defineHubSummarizer(p, key)
	c.hubSummarizerS3(p, key)
	suppressHubNag(c)
	c.defineHubAthena(p)
	c.Hub.StackSet = newSpokeStackSet(c, p, body)
	// The spokes' trust policies name the hub's roles, which IAM requires
	// to exist; and the custom resource's Delete removes flow logs through
	// the spokes' roles, so it goes before the StackSet does.
	c.Hub.StackSet.Node().AddDependency(c.Enabler.Role(), c.Summarizer.Role(), c.Hub.Bus)
	c.Reconcile.Node().AddDependency(c.Hub.StackSet)
	c.Alarms = addAlarms(c, p, hubAlarms(c, p)...)
	addDashboard(c, p)
	return c, nil
}

// newHubBus is the bus the spokes forward their events to. Its policy
// admits events:PutEvents from principals of the organization only; the
// enabler also ignores an event whose account is not in the organization.
// The policy is CfnEventBusPolicy's statement form (Statement), not its
// deprecated Principal/Action/Condition form. The "CfnEventBusPolicy#principal
// is deprecated" warning at synthesis is cdk-nag's AwsSolutions-EVB1 rule
// reading that property to check for open access (JSII_DEPRECATED=fail makes
// the rule fail on this resource), not this code writing it.
func newHubBus(scope constructs.Construct, p Props) awsevents.EventBus {
	bus := awsevents.NewEventBus(scope, jsii.String("HubBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(settings.HubEventBusName),
		Description:  jsii.String("VPC events forwarded by the organization's spokes to the VPC flow logs enabler"),
	})
	bus.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationPutsEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewStarPrincipal()},
		Actions:    jsii.Strings("events:PutEvents"),
		Resources:  &[]*string{bus.EventBusArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": p.Organization.ID}},
	}))
	return bus
}

// defineHubEnabler defines the hub's enabler: the single-account settings
// with the spokes' group and the hub account-region's delivery role name
// (the enabler substitutes each spoke's account and region:
// settings.SpokeDeliveryRolePrefix), the organization's settings, the
// custom resource, the rules on the hub bus and the sweep, its queue.
func (c *VPCFlowLogs) defineHubEnabler(p Props, key awskms.IKey) {
	stack := awscdk.Stack_Of(c.Construct)
	// No reserved concurrency: the queue's MaximumConcurrency bounds the
	// fan-out, and a reservation below it would throttle its messages.
	c.Enabler = newFunction(c.Construct, "Enabler", p.EnablerCode, "Keeps a VPC flow log on every VPC of the organization tagged "+p.TagKey, enablerMemoryMB, nil)
	cfnRole(c.Enabler.Role().(awsiam.Role)).SetRoleName(jsii.String(settings.HubEnablerRoleName))
	delivery := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"),
		ResourceName: jsii.String(settings.SpokeDeliveryRolePrefix + *stack.Region())})
	properties := applyEnablerSettings(c.Enabler, c.enablerSettings(p, jsii.String(p.LogGroupName), delivery))
	// A change of targets or regions is an update: the enabler sweeps the
	// organization again.
	properties["OrganizationTargets"] = p.Organization.Targets
	properties["OrganizationRegions"] = hubRegions(stack, p)
	c.Hub.EnablerQueue, c.Hub.EnablerDeadLetters = newWorkQueue(c.Construct, "Enabler")
	setOrganizationEnv(c.Enabler, stack, p)
	feedFunction(c.Enabler, c.Hub.EnablerQueue)
	c.Enabler.AddEnvironment(jsii.String(settings.EnvStateTable), c.State.TableName(), nil)
	// The coverage documents go to the digest group.
	c.Enabler.AddEnvironment(jsii.String(settings.EnvSummaryLogGroupName), c.DigestLogGroup.LogGroupName(), nil)
	// ConditionCheckItem: the sweep counter's transaction checks the
	// account-region's coverage item.
	grantHubFunction(c, c.Enabler, key, settings.SpokeEnablerRoleName, p.Organization.ID, "dynamodb:ConditionCheckItem")
	c.Enabler.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("DescribeOnlyThisStack"),
		Actions: jsii.Strings("cloudformation:DescribeStacks"),
		// As in single-account mode: runs change nothing while the hub
		// stack is being deleted.
		Resources: &[]*string{stack.StackId()},
	}))
	c.Enabler.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("WriteCoverage"),
		// The coverage document goes to the digest group.
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(groupARN(stack, c.DigestLogGroup), *c.DigestLogGroup.LogGroupArn()),
	}))
	c.Reconcile = newReconcile(c.Construct, c.Enabler, properties)
	addEnablerRules(c, p, c.Hub.Bus)
}

// defineHubSummarizer defines the hub's summarizer: the single-account
// settings with the spokes' group name, the organization's settings, its
// queue, the digest group and the run state, and its schedule.
func (c *VPCFlowLogs) defineHubSummarizer(p Props, key awskms.IKey) {
	stack := awscdk.Stack_Of(c.Construct)
	c.Summarizer = newFunction(c.Construct, "Summarizer", p.SummarizerCode, "Digests the flow logs of the organization's accounts", p.SummarizerMemoryMB, nil)
	cfnRole(c.Summarizer.Role().(awsiam.Role)).SetRoleName(jsii.String(settings.HubSummarizerRoleName))
	addEnvironment(c.Summarizer, c.summarizerEnv(p, jsii.String(p.LogGroupName)))
	setStateEnv(c.Summarizer, stack, c.State)
	c.Hub.SummarizerQueue, c.Hub.SummarizerDeadLetters = newWorkQueue(c.Construct, "Summarizer")
	setOrganizationEnv(c.Summarizer, stack, p)
	feedFunction(c.Summarizer, c.Hub.SummarizerQueue)
	grantHubFunction(c, c.Summarizer, key, settings.SpokeReaderRoleName, p.Organization.ID)
	c.Summarizer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteAndReadDigests"),
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"),
		Resources: jsii.Strings(groupARN(stack, c.DigestLogGroup), *c.DigestLogGroup.LogGroupArn()),
	}))
	if p.SummaryTopicARN != "" {
		c.Summarizer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PublishDigest"),
			Actions:   jsii.Strings("sns:Publish"),
			Resources: jsii.Strings(p.SummaryTopicARN),
		}))
		grantTopicKey(c.Summarizer, p)
	}
	newSummarySchedule(c, p)
}

// setOrganizationEnv gives fn the organization's settings
// (lambda/settings/org.go).
func setOrganizationEnv(fn awslambda.Function, stack awscdk.Stack, p Props) {
	regions := p.Organization.Regions
	if len(regions) == 0 {
		regions = []string{*stack.Region()}
	}
	fn.AddEnvironment(jsii.String(settings.EnvOrganizationID), jsii.String(p.Organization.ID), nil)
	fn.AddEnvironment(jsii.String(settings.EnvOrganizationTargets), jsii.String(mustJSON(p.Organization.Targets)), nil)
	fn.AddEnvironment(jsii.String(settings.EnvOrganizationRegions), jsii.String(mustJSON(regions)), nil)
	fn.AddEnvironment(jsii.String(settings.EnvHubAccount), stack.Account(), nil)
}

// grantHubFunction gives a hub function what both need: assuming its role
// in the spokes, listing the organization, and the run state (Query reads a
// sweep's or a run's items back; TransactWriteItems needs no action of its
// own, only those of its parts), plus stateActions.
func grantHubFunction(c *VPCFlowLogs, fn awslambda.Function, key awskms.IKey, spokeRole, orgID string, stateActions ...string) {
	stack := awscdk.Stack_Of(c.Construct)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("AssumeSpokeRole"),
		Actions: jsii.Strings("sts:AssumeRole"),
		// Any account: accounts join the targets after deployment, and the
		// StackSet's automatic deployment gives them their spoke. Only
		// this role name, only in an account of the organization
		// (aws:ResourceOrgID, the role's account), and the spoke's trust
		// admits only this exact role from the organization.
		Resources: &[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""),
			Account: jsii.String("*"), Resource: jsii.String("role"), ResourceName: jsii.String(spokeRole)})},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": orgID}},
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("ListOrganization"),
		// The discovery's calls (lambda/org): DescribeOrganization names
		// the management account, which the discovery leaves out.
		Actions: jsii.Strings("organizations:DescribeOrganization", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"),
		// Organizations grants these read calls on no narrower resource
		// the hub can name at synthesis (the root and OU ARNs carry the
		// management account's id).
		Resources: jsii.Strings("*"),
	}))
	grantRunState(fn, stack, c.State, key, append([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"}, stateActions...)...)
}

// hubAlarms are the organization's alarms: account-regions a sweep could
// not reach, and messages that SQS gave up on.
func hubAlarms(c *VPCFlowLogs, p Props) []alarmSpec {
	sweepPeriod := alarmPeriod(schedulePeriod(p.SweepSchedule))
	deadLetters := func(q awssqs.Queue) awscloudwatch.IMetric {
		return q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"),
			Period:    awscdk.Duration_Minutes(jsii.Number(5)),
		})
	}
	return []alarmSpec{
		// Same period, statistic and reasoning as UncoveredVPCs.
		{"UnreachableAccountRegions", "A sweep could not reach some account-regions (spoke role missing or denied, region not enabled, throttled): the coverage document names each with the reason.",
			ownMetric(p.MetricsNamespace, unreachableAccountRegions, "Maximum", sweepPeriod), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_IGNORE},
		// Every roll-up reports it; a run without one (DigestStale) keeps
		// the last state.
		{"UnreadableAccountRegions", "A digest run could not read some account-regions (reader role missing or denied, region not enabled, throttled): the organization roll-up names each with the reason.",
			ownMetric(p.MetricsNamespace, unreadableAccountRegions, "Maximum", alarmPeriod(schedulePeriod(p.SummarySchedule))), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_IGNORE},
		// A message in a dead-letter queue is an account-region that
		// failed workQueueMaxReceives times: it stays until redriven.
		{"EnablerDeadLetters", "Account-regions the enabler failed on " + strconv.Itoa(workQueueMaxReceives) + " times are in its dead-letter queue: read the messages and the enabler's log, then redrive them.",
			deadLetters(c.Hub.EnablerDeadLetters), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING},
		{"SummarizerDeadLetters", "Account-regions the summarizer failed on " + strconv.Itoa(workQueueMaxReceives) + " times are in its dead-letter queue: read the messages and the summarizer's log, then redrive them.",
			deadLetters(c.Hub.SummarizerDeadLetters), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING},
	}
}
