package vpcflowlogs

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Function settings. The enabler answers CloudFormation before its own
// timeout, and ServiceTimeout leaves room for an asynchronous invocation
// that waits behind a running sweep (reserved concurrency 1). The enabler
// waits on EC2's answers and needs little CPU; the summarizer's memory is
// Props.SummarizerMemoryMB.
const (
	functionTimeoutSeconds = 300
	enablerMemoryMB        = 256
	serviceTimeoutSeconds  = 900
	functionLogRetention   = awslogs.RetentionDays_ONE_MONTH
)

// VPCFlowLogs is the deployed tool: see the package documentation.
type VPCFlowLogs struct {
	constructs.Construct
	// DeliveryRole is assumed by the VPC Flow Logs service; nil in S3 mode,
	// where the service delivers under the bucket's policy.
	DeliveryRole awsiam.Role
	// FlowLogGroup receives the flow log records; nil in S3 mode.
	FlowLogGroup awslogs.LogGroup
	// FlowLogBucket receives the flow log files in S3 mode (bucket.go);
	// AccessLogBucket holds its server access logs when the stack created
	// it. Both nil otherwise.
	FlowLogBucket   awss3.IBucket
	AccessLogBucket awss3.Bucket
	// Athena is the Glue table, workgroup and named queries over
	// FlowLogBucket (athena.go); nil outside S3 mode.
	Athena *Athena
	// DigestLogGroup receives one digest event per summarizer run.
	DigestLogGroup awslogs.LogGroup
	// Enabler keeps a flow log on every tagged VPC.
	Enabler awslambda.Function
	// Summarizer writes the digests.
	Summarizer awslambda.Function
	// State is the run state table: the summarizer's checkpoint.
	State awsdynamodb.Table
	// Reconcile is the custom resource that reconciles on every deployment.
	Reconcile awscdk.CustomResource
	// Alarms say when anything stops (see alarms.go).
	Alarms []awscloudwatch.Alarm
	// Hub is set in organization mode only (hub.go), where FlowLogGroup
	// and DeliveryRole are nil: each spoke has its own.
	Hub *Hub
}

// New defines the tool in scope. It returns an error, before defining
// anything, when a Props value is invalid or a function's code cannot be
// built.
func New(scope constructs.Construct, id string, props Props) (*VPCFlowLogs, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	p, err := p.withCode(scope)
	if err != nil {
		return nil, err
	}
	if p.Organization.ID != "" {
		return newHub(scope, id, p)
	}
	c := &VPCFlowLogs{Construct: constructs.NewConstruct(scope, &id)}
	key := c.defineLogGroups(p)
	if p.isS3() {
		c.defineBucket(p, key)
	} else {
		c.DeliveryRole = newDeliveryRole(c.Construct, awscdk.Stack_Of(c.Construct), c.FlowLogGroup, p.LogGroupName)
	}
	c.defineEnabler(p)
	c.defineSummarizer(p, key)
	suppressNag(c.Enabler, c.Summarizer)
	c.Alarms = addAlarms(c, p)
	addDashboard(c, p)
	if p.isS3() {
		c.Athena = newAthena(c, p)
		suppressS3Nag(c)
	} else {
		addQueries(c)
	}
	return c, nil
}

// defineLogGroups defines the flow log group and the digest group, both
// kept when the stack is deleted, and returns their KMS key (nil without
// one).
func (c *VPCFlowLogs) defineLogGroups(p Props) awskms.IKey {
	var key awskms.IKey
	if p.KMSKeyARN != "" {
		key = awskms.Key_FromKeyArn(c.Construct, jsii.String("LogKey"), jsii.String(p.KMSKeyARN))
	}
	if !p.isS3() {
		c.FlowLogGroup = newRetainedGroup(c.Construct, "FlowLogGroup", p.LogGroupName, p.RetentionDays, key)
	}
	c.DigestLogGroup = newRetainedGroup(c.Construct, "DigestLogGroup", p.LogGroupName+"/digests", p.RetentionDays, key)
	return key
}

// newRetainedGroup is a log group kept when the stack is deleted: flow logs
// and digests are evidence. key may be nil.
func newRetainedGroup(scope constructs.Construct, id, name string, days int, key awskms.IKey) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String(name),
		Retention:     retentionDays[days],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		EncryptionKey: key,
	})
}

// enablerSetting is one setting of the enabler, handed to it twice from
// this one description: as an environment variable, for the events and the
// sweep, and as a property of the custom resource, for CloudFormation's
// requests (see settings.EnablerFromEnv and EnablerFromProperties).
type enablerSetting struct {
	env, prop string   // prop "": environment only
	value     *string  // a literal or a token; an empty literal sets no variable
	list      []string // instead of value: a JSON array in the environment, a list in the properties
}

// enablerSettings are the enabler's settings with the flow log group's
// name and the delivery role's ARN given: the construct's own in
// single-account mode, the spokes' in organization mode (hub.go). In S3
// mode there are neither: the destination's settings take their place.
func (c *VPCFlowLogs) enablerSettings(p Props, logGroupName, deliveryRoleARN *string) []enablerSetting {
	owner := awscdk.Stack_Of(c.Construct).StackId()
	str, boolean := jsii.String, func(b bool) *string { return jsii.String(strconv.FormatBool(b)) }
	compliance := ""
	if p.ComplianceMode {
		compliance = "true" // unset otherwise: single-account stacks stay as they were
	}
	out := []enablerSetting{
		{env: settings.EnvTagKey, prop: settings.PropTagKey, value: str(p.TagKey)},
		{env: settings.EnvTagValues, prop: settings.PropTagValues, list: p.TagValues},
		{env: settings.EnvTrafficType, prop: settings.PropTrafficType, value: str(p.TrafficType)},
		{env: settings.EnvMaxAggregationInterval, prop: settings.PropMaxAggregationInterval, value: str(strconv.Itoa(p.MaxAggregationInterval))},
		{env: settings.EnvLogFormat, prop: settings.PropLogFormat, value: str(p.LogFormat)},
		{env: settings.EnvRemoveOnDelete, prop: settings.PropRemoveOnDelete, value: boolean(*p.RemoveFlowLogsOnDelete)},
		{env: settings.EnvRemoveOnUntag, prop: settings.PropRemoveOnUntag, value: boolean(*p.RemoveFlowLogsOnUntag)},
		{env: settings.EnvOwner, prop: settings.PropOwner, value: owner},
		{env: settings.EnvDryRun, prop: settings.PropDryRun, value: boolean(p.DryRun)},
		{env: settings.EnvMetricsNamespace, value: str(p.MetricsNamespace)},
		{env: settings.EnvComplianceMode, value: str(compliance)},
	}
	if p.isS3() {
		// No log group and no delivery role: the bucket's policy admits
		// the delivery service.
		return append(out, destinationSettings(p.destination(*c.FlowLogBucket.BucketArn()))...)
	}
	return append(out,
		enablerSetting{env: settings.EnvLogGroupName, prop: settings.PropLogGroupName, value: logGroupName},
		enablerSetting{env: settings.EnvDeliveryRoleARN, prop: settings.PropDeliveryRoleARN, value: deliveryRoleARN})
}

// defineEnabler defines the enabler with its settings, its permissions, the
// custom resource backed by it and the rules that invoke it.
func (c *VPCFlowLogs) defineEnabler(p Props) {
	// One instance at a time, so CloudFormation, tag events and the sweep
	// never reconcile concurrently; EventBridge and CloudFormation invoke
	// asynchronously and retry when throttled.
	c.Enabler = newFunction(c.Construct, "Enabler", p.EnablerCode, "Keeps a VPC flow log on every VPC tagged "+p.TagKey, enablerMemoryMB, jsii.Number(1))
	var group, role *string
	if !p.isS3() {
		group, role = c.FlowLogGroup.LogGroupName(), c.DeliveryRole.RoleArn()
	}
	properties := applyEnablerSettings(c.Enabler, c.enablerSettings(p, group, role))
	grantEnabler(c.Enabler, awscdk.Stack_Of(c.Construct), c.DeliveryRole)
	if p.isS3() {
		grantEnablerS3(c.Enabler)
	}
	c.Reconcile = newReconcile(c.Construct, c.Enabler, properties)
	addEnablerRules(c, p, nil)
}

// applyEnablerSettings sets each setting as fn's environment variable and
// returns the custom resource's properties.
func applyEnablerSettings(fn awslambda.Function, enablerSettings []enablerSetting) map[string]any {
	properties := map[string]any{}
	for _, s := range enablerSettings {
		value := s.value
		if s.list != nil {
			value = jsii.String(mustJSON(s.list))
		}
		if *value != "" { // a token is never empty
			fn.AddEnvironment(jsii.String(s.env), value, nil)
		}
		switch {
		case s.prop == "":
		case s.list != nil:
			properties[s.prop] = s.list
		default:
			properties[s.prop] = s.value
		}
	}
	return properties
}

// newReconcile is the custom resource that reconciles on every deployment.
func newReconcile(scope constructs.Construct, fn awslambda.Function, properties map[string]any) awscdk.CustomResource {
	return awscdk.NewCustomResource(scope, jsii.String("Reconcile"), &awscdk.CustomResourceProps{
		// Backed by the function directly: no Provider framework, so no
		// Node.js function in the stack.
		ServiceToken:   fn.FunctionArn(),
		ResourceType:   jsii.String("Custom::VpcFlowLogs"),
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(serviceTimeoutSeconds)),
		Properties:     &properties,
	})
}

// defineSummarizer defines the summarizer with its settings, its run state
// table, its permissions and its schedule.
func (c *VPCFlowLogs) defineSummarizer(p Props, key awskms.IKey) {
	c.State = newStateTable(c.Construct, key)
	// One digest at a time: two would read the same window.
	c.Summarizer = newFunction(c.Construct, "Summarizer", p.SummarizerCode, "Summarizes new VPC flow log streams into a digest", p.SummarizerMemoryMB, jsii.Number(1))
	env := c.summarizerEnv(p, c.flowLogGroupName(p))
	if p.isS3() {
		for _, s := range destinationSettings(p.destination(*c.FlowLogBucket.BucketArn())) {
			env[s.env] = s.value
		}
	}
	addEnvironment(c.Summarizer, env)
	wireSummarizerState(c.Summarizer, awscdk.Stack_Of(c.Construct), c.State, key)
	grantSummarizer(c, p)
	if p.isS3() {
		grantSummarizerS3(c, p, key)
	}
	newSummarySchedule(c, p)
}

// summarizerEnv is the summarizer's environment, but for the run state's
// (state.go), with the flow log group's name given: the construct's own, or
// the spokes' in organization mode.
func (c *VPCFlowLogs) summarizerEnv(p Props, logGroupName *string) map[string]*string {
	env := map[string]*string{
		settings.EnvLogGroupName:        logGroupName,
		settings.EnvSummaryLogGroupName: c.DigestLogGroup.LogGroupName(),
		settings.EnvSettleLag:           jsii.String(p.SettleLag.String()),
		settings.EnvMaxCatchUp:          jsii.String((time.Duration(p.MaxCatchUpHours) * time.Hour).String()),
		settings.EnvSchedulePeriod:      jsii.String(schedulePeriod(p.SummarySchedule).String()),
		settings.EnvMetricsNamespace:    jsii.String(p.MetricsNamespace),
	}
	if p.SummaryTopicARN != "" {
		env[settings.EnvTopicARN] = jsii.String(p.SummaryTopicARN)
	}
	for k, v := range p.Findings.Env() {
		env[k] = jsii.String(v)
	}
	return env
}

// addEnvironment sets env on fn in key order: a map's order would change
// the template at every synth. An empty literal sets no variable (a token
// is never empty).
func addEnvironment(fn awslambda.Function, env map[string]*string) {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if *env[k] != "" {
			fn.AddEnvironment(jsii.String(k), env[k], nil)
		}
	}
}

// newSummarySchedule runs the summarizer on p.SummarySchedule.
func newSummarySchedule(c *VPCFlowLogs, p Props) {
	awsevents.NewRule(c.Construct, jsii.String("SummarySchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the flow log digest"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.SummarySchedule)),
		Targets:     &[]awsevents.IRuleTarget{lambdaTarget(c.Summarizer)},
	})
}

// newDeliveryRole is the role the VPC Flow Logs service assumes to write
// into group. It differs from the console recipe in three ways: the trust
// carries the confused-deputy conditions, the permissions cover this one
// group instead of *, and logs:CreateLogGroup is absent, because the stack
// owns the group and the permission would let a deleted group come back.
func newDeliveryRole(scope constructs.Construct, stack awscdk.Stack, group awslogs.LogGroup, groupName string) awsiam.Role {
	principal := awsiam.NewServicePrincipal(jsii.String("vpc-flow-logs.amazonaws.com"), &awsiam.ServicePrincipalOpts{
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("ec2"),
				Resource:     jsii.String("vpc-flow-log"),
				ResourceName: jsii.String("*"),
			})},
		},
	})
	return awsiam.NewRole(scope, jsii.String("DeliveryRole"), &awsiam.RoleProps{
		AssumedBy:   principal,
		Description: jsii.String("Assumed by VPC Flow Logs to deliver records to " + groupName),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"DeliverToFlowLogGroup": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
				Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Actions: jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"),
					// The group itself and its streams (log-group:NAME:*):
					// without the second, delivery fails with "Access error".
					Resources: jsii.Strings(groupARN(stack, group), *group.LogGroupArn()),
				})},
			}),
		},
	})
}

// groupARN is arn:...:log-group:NAME, without the ":*" that LogGroupArn
// carries.
func groupARN(stack awscdk.Stack, group awslogs.LogGroup) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("logs"),
		Resource:     jsii.String("log-group"),
		ResourceName: group.LogGroupName(),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
}

// newFunction defines a Go function on provided.al2023/arm64 with its own
// role (no AWS managed policy: only a grant to write its own log group) and
// its own log group in JSON format.
func newFunction(scope constructs.Construct, id string, code awslambda.Code, description string, memoryMB int, concurrency *float64) awslambda.Function {
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     functionLogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	role := awsiam.NewRole(scope, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the " + id + " function"),
	})
	logs.GrantWrite(role)
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Description:   jsii.String(description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          code,
		Role:          role,
		MemorySize:    jsii.Number(memoryMB),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(functionTimeoutSeconds)),
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      logs,

		ReservedConcurrentExecutions: concurrency,
		// No asynchronous retries: the next sweep or digest redoes the work
		// from the state in AWS, and a retried digest run would write a
		// second, short digest.
		RetryAttempts: jsii.Number(0),
	})
	return fn
}

// grantEnabler gives the enabler exactly the calls it makes.
func grantEnabler(fn awslambda.Function, stack awscdk.Stack, deliveryRole awsiam.Role) {
	ec2ARN := func(resource string) *[]*string {
		return &[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ec2"), Resource: jsii.String(resource), ResourceName: jsii.String("*")})}
	}
	statements := ec2EnablerStatements(ec2ARN, stack.StackId())
	if deliveryRole != nil { // none in S3 mode
		statements = append(statements, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PassOnlyTheDeliveryRole"),
			Actions:   jsii.Strings("iam:PassRole"),
			Resources: &[]*string{deliveryRole.RoleArn()},
		}))
	}
	statements = append(statements,
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("DescribeOnlyThisStack"),
			Actions: jsii.Strings("cloudformation:DescribeStacks"),
			// Event and sweep runs change nothing while this stack is
			// being deleted (lambda/reconcile/stackcheck.go): its own
			// status is all the enabler reads.
			Resources: &[]*string{stack.StackId()},
		}),
	)
	for _, s := range statements {
		fn.AddToRolePolicy(s)
	}
}

// ec2EnablerStatements are the enabler's EC2 permissions, shared by the
// single-account enabler and the spokes' enabler role (spoke.go): ec2ARNs
// gives the ARNs of a resource type (vpc, vpc-flow-log) in the regions
// covered, and owner is the value of the owner tag the enabler writes.
func ec2EnablerStatements(ec2ARNs func(resource string) *[]*string, owner *string) []awsiam.PolicyStatement {
	ownerTag := "aws:ResourceTag/" + settings.OwnerTagKey
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("DescribeHasNoResourceLevelPermissions"),
			Actions: jsii.Strings("ec2:DescribeVpcs", "ec2:DescribeFlowLogs"),
			// EC2 Describe calls support no resource-level permissions:
			// "*" is the only resource IAM accepts for them.
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("CreateFlowLogsOnVpcs"),
			Actions: jsii.Strings("ec2:CreateFlowLogs"),
			// Any VPC of this account and region: which VPCs are tagged
			// changes at run time.
			Resources: ec2ARNs("vpc"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("CreateOnlyOwnedFlowLogs"),
			Actions:   jsii.Strings("ec2:CreateFlowLogs"),
			Resources: ec2ARNs("vpc-flow-log"),
			// Every flow log the enabler creates carries this stack's
			// owner tag, so it can later delete it and nothing else.
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:RequestTag/" + settings.OwnerTagKey: owner},
			},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("TagFlowLogsAtCreation"),
			Actions:    jsii.Strings("ec2:CreateTags"),
			Resources:  ec2ARNs("vpc-flow-log"),
			Conditions: &map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateFlowLogs"}},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("DeleteOnlyOwnedFlowLogs"),
			Actions:    jsii.Strings("ec2:DeleteFlowLogs"),
			Resources:  ec2ARNs("vpc-flow-log"),
			Conditions: &map[string]any{"StringEquals": map[string]any{ownerTag: owner}},
		}),
	}
}

// lambdaTarget invokes fn asynchronously. EventBridge retries a delivery
// that fails for up to the event age; an accepted event that the reserved
// concurrency of 1 throttles waits in Lambda's own asynchronous queue.
func lambdaTarget(fn awslambda.Function) awsevents.IRuleTarget {
	return awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		RetryAttempts: jsii.Number(10),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(2)),
	})
}

// grantSummarizer gives the summarizer exactly the calls it makes.
func grantSummarizer(c *VPCFlowLogs, p Props) {
	fn := c.Summarizer
	stack := awscdk.Stack_Of(c.Construct)
	if c.FlowLogGroup != nil { // none in S3 mode
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadFlowLogGroup"),
			Actions:   jsii.Strings("logs:DescribeLogStreams", "logs:FilterLogEvents"),
			Resources: jsii.Strings(groupARN(stack, c.FlowLogGroup), *c.FlowLogGroup.LogGroupArn()),
		}))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("WriteAndReadDigests"),
		// GetLogEvents finds the digest of a run that wrote it and failed
		// to checkpoint (it carries the nonce kept in the run state).
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"),
		Resources: jsii.Strings(groupARN(stack, c.DigestLogGroup), *c.DigestLogGroup.LogGroupArn()),
	}))
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("DescribeHasNoResourceLevelPermissions"),
		Actions: jsii.Strings("ec2:DescribeNetworkInterfaces", "ec2:DescribeFlowLogs"),
		// EC2 Describe calls support no resource-level permissions.
		Resources: jsii.Strings("*"),
	}))
	if p.SummaryTopicARN != "" {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PublishDigest"),
			Actions:   jsii.Strings("sns:Publish"),
			Resources: jsii.Strings(p.SummaryTopicARN),
		}))
		grantTopicKey(fn, p)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding %v: %v", v, err)) // a []string always encodes
	}
	return string(b)
}

// flowLogGroupName is the flow log group's name: a token of the group in
// the CloudWatch Logs mode; in S3 mode, where there is no such group, the
// configured name, which names the digests' group (<name>/digests).
func (c *VPCFlowLogs) flowLogGroupName(p Props) *string {
	if c.FlowLogGroup == nil {
		return jsii.String(p.LogGroupName)
	}
	return c.FlowLogGroup.LogGroupName()
}
