package vpcflowlogs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The spoke template's parameters, which the hub's StackSet sets
// (stackset.go), and its condition.
const (
	// SpokeParamOwner is the hub stack's id: the owner tag value of the
	// flow logs the hub's enabler creates in the spoke, and the only one
	// the spoke's enabler role may create and delete.
	SpokeParamOwner = "Owner"
	// SpokeParamHubAccount and SpokeParamHubRegion say where the hub is:
	// the roles trusted and the bus the events go to.
	SpokeParamHubAccount = "HubAccount"
	SpokeParamHubRegion  = "HubRegion"
	// spokeRoleRegionCondition holds in one region only, where the
	// account's two assumable roles are created once (IAM is global): the
	// first of Organization.Regions, or the hub's region when none are
	// given. Not always the hub's region: a hub in a region it does not
	// cover would get no spoke there, and the roles nowhere.
	spokeRoleRegionCondition = "IsRoleRegion"
)

// SpokeStackName is the spoke stack's name in the app, and so its template
// file: cdk.out/VpcFlowLogsSpoke.template.json.
const SpokeStackName = "VpcFlowLogsSpoke"

// NewSpoke defines the spoke template of the organization mode as a stack
// of its own in scope (an App): what each member account gets in each
// covered region, from the hub's service-managed StackSet. It holds no code
// and no asset, and no bootstrap version rule, so it deploys into accounts
// that were never bootstrapped:
//   - the flow log group and its delivery role VpcFlowLogsDelivery-<region>,
//     built as in single-account mode (newRetainedGroup, newDeliveryRole);
//   - in one region only (IAM is global per account: the first covered
//     region, or the hub's when none are given), the role the
//     hub's enabler assumes (settings.SpokeEnablerRoleName: the
//     single-account enabler's EC2 statements, over every covered region,
//     and iam:PassRole on the covered regions' delivery roles) and the
//     read-only role the hub's summarizer assumes
//     (settings.SpokeReaderRoleName), each trusting exactly one hub role
//     ARN, and only from a principal of the organization;
//   - rules forwarding the account-region's VPC tag changes and successful
//     CreateVpc and DeleteFlowLogs calls to the hub's bus, with the role
//     EventBridge needs to put events on a bus of another account.
//
// The trust policies name the hub's roles, which IAM requires to exist when
// a spoke is created: the hub stack creates them before its StackSet.
func NewSpoke(scope constructs.Construct, id string, props Props) (awscdk.Stack, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	if p.Organization.ID == "" {
		return nil, errors.New("vpcflowlogs.NewSpoke: Props.Organization.ID is empty: a spoke belongs to an organization")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("VPC flow logs spoke: the flow log group, its delivery role, the roles the hub assumes, and rules forwarding VPC events to the hub"),
		// A StackSet template must not depend on a bootstrapped account:
		// no BootstrapVersion parameter or rule, and no asset.
		Synthesizer: awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{
			GenerateBootstrapVersionRule: jsii.Bool(false),
		}),
		AnalyticsReporting: jsii.Bool(false),
	})
	defineSpoke(stack, p)
	return stack, nil
}

// spoke holds what the spoke's parts share.
type spoke struct {
	stack                        awscdk.Stack
	p                            Props
	owner, hubAccount, hubRegion *string
	regions                      []*string // the covered regions, literals or the HubRegion parameter
	isRoleRegion                 awscdk.CfnCondition
}

func defineSpoke(stack awscdk.Stack, p Props) {
	param := func(name, description, pattern string) *string {
		props := &awscdk.CfnParameterProps{Type: jsii.String("String"), Description: jsii.String(description)}
		if pattern != "" {
			props.AllowedPattern = jsii.String(pattern)
		}
		return awscdk.NewCfnParameter(stack, jsii.String(name), props).ValueAsString()
	}
	s := &spoke{
		stack:      stack,
		p:          p,
		owner:      param(SpokeParamOwner, "The hub stack's id: the owner tag of the flow logs the hub creates here", `^arn:aws[a-z-]*:cloudformation:.+$`),
		hubAccount: param(SpokeParamHubAccount, "The hub's account id", `^\d{12}$`),
		hubRegion:  param(SpokeParamHubRegion, "The hub's region", `^[a-z]{2}(-[a-z]+)+-\d{1,2}$`),
	}
	s.regions = spokeRegions(p, s.hubRegion)
	s.isRoleRegion = awscdk.NewCfnCondition(stack, jsii.String(spokeRoleRegionCondition), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(stack.Region(), s.regions[0]),
	})
	if !p.isS3() {
		// In S3 mode the flow logs deliver to the hub's central bucket
		// under its policy (orgbucket.go): no group, no delivery role.
		group := newRetainedGroup(stack, "FlowLogGroup", p.LogGroupName, p.RetentionDays, nil)
		delivery := newDeliveryRole(stack, stack, group, p.LogGroupName)
		cfnRole(delivery).SetRoleName(jsii.String(settings.SpokeDeliveryRolePrefix + *stack.Region()))
	}
	s.enablerRole()
	s.readerRole()
	s.forwardingRules()
	suppressSpokeNag(s)
}

// spokeRegions are the covered regions: Organization.Regions, or the hub's
// region (a parameter of the spoke) when none are given.
func spokeRegions(p Props, hubRegion *string) []*string {
	if len(p.Organization.Regions) == 0 {
		return []*string{hubRegion}
	}
	return *jsii.Strings(p.Organization.Regions...)
}

// hubRoleARN is the ARN of one of the hub's function roles.
func (s *spoke) hubRoleARN(name string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), s.stack.Partition(), jsii.String(":iam::"), s.hubAccount, jsii.String(":role/" + name),
	})
}

// trustHub is a trust policy admitting exactly one hub role, and only as a
// principal of the organization.
func (s *spoke) trustHub(hubRoleName string) awsiam.IPrincipal {
	return awsiam.NewArnPrincipal(s.hubRoleARN(hubRoleName)).WithConditions(&map[string]any{
		"StringEquals": map[string]any{"aws:PrincipalOrgID": s.p.Organization.ID},
	})
}

// inRegions is the ARN of resource/name of service in each covered region
// of this account.
func (s *spoke) inRegions(service, resource, name string, format awscdk.ArnFormat) *[]*string {
	arns := make([]*string, 0, len(s.regions))
	for _, r := range s.regions {
		arns = append(arns, s.stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String(service), Region: r, Resource: jsii.String(resource), ResourceName: jsii.String(name), ArnFormat: format,
		}))
	}
	return &arns
}

// enablerRole is the role the hub's enabler assumes: the single-account
// enabler's EC2 statements over the covered regions, and passing the
// covered regions' delivery roles to VPC Flow Logs.
func (s *spoke) enablerRole() {
	ec2ARNs := func(resource string) *[]*string {
		return s.inRegions("ec2", resource, "*", awscdk.ArnFormat_SLASH_RESOURCE_NAME)
	}
	deliveryRoles := make([]*string, 0, len(s.regions))
	for _, r := range s.regions {
		deliveryRoles = append(deliveryRoles, s.stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"),
			ResourceName: jsii.String(settings.SpokeDeliveryRolePrefix + *r),
		}))
	}
	var delivery awsiam.PolicyStatement
	if s.p.isS3() {
		// A flow log to S3 has no delivery role to pass: EC2 sets up the
		// log delivery on the caller's behalf instead.
		delivery = logDeliveryStatement()
	} else {
		delivery = awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("PassOnlyTheDeliveryRoles"),
			Actions:   jsii.Strings("iam:PassRole"),
			Resources: &deliveryRoles,
		})
	}
	statements := append(ec2EnablerStatements(ec2ARNs, s.owner), delivery)
	role := awsiam.NewRole(s.stack, jsii.String("EnablerRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(settings.SpokeEnablerRoleName),
		Description: jsii.String("Assumed by the VPC flow logs hub's enabler to keep flow logs on this account's VPCs"),
		AssumedBy:   s.trustHub(settings.HubEnablerRoleName),
		// Inline, so that the policy shares the role's condition.
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"ReconcileFlowLogs": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements}),
		},
	})
	cfnRole(role).CfnOptions().SetCondition(s.isRoleRegion)
}

// readerRole is the read-only role the hub's summarizer assumes: the flow
// log group's streams and events in each covered region, and the EC2
// descriptions a digest names interfaces with.
func (s *spoke) readerRole() {
	statements := []awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("DescribeHasNoResourceLevelPermissions"),
		Actions: jsii.Strings("ec2:DescribeNetworkInterfaces", "ec2:DescribeFlowLogs"),
		// EC2 Describe calls support no resource-level permissions.
		Resources: jsii.Strings("*"),
	})}
	if !s.p.isS3() {
		// In S3 mode the hub reads the central bucket in its own
		// account: the spoke has no group to read.
		groups := append(*s.inRegions("logs", "log-group", s.p.LogGroupName, awscdk.ArnFormat_COLON_RESOURCE_NAME),
			*s.inRegions("logs", "log-group", s.p.LogGroupName+":*", awscdk.ArnFormat_COLON_RESOURCE_NAME)...)
		statements = append([]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("ReadFlowLogGroup"),
			Actions:   jsii.Strings("logs:DescribeLogStreams", "logs:FilterLogEvents"),
			Resources: &groups,
		})}, statements...)
	}
	role := awsiam.NewRole(s.stack, jsii.String("ReaderRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(settings.SpokeReaderRoleName),
		Description: jsii.String("Assumed by the VPC flow logs hub's summarizer to read this account's flow log groups"),
		AssumedBy:   s.trustHub(settings.HubSummarizerRoleName),
		InlinePolicies: &map[string]awsiam.PolicyDocument{
			"ReadFlowLogs": awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements}),
		},
	})
	cfnRole(role).CfnOptions().SetCondition(s.isRoleRegion)
}

// forwardingRules send this account-region's VPC events, matched as the
// single-account rules match them (rules.go), to the hub's bus.
func (s *spoke) forwardingRules() {
	busARN := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), s.stack.Partition(), jsii.String(":events:"), s.hubRegion, jsii.String(":"), s.hubAccount,
		jsii.String(":event-bus/" + settings.HubEventBusName),
	})
	// EventBridge needs a role to put events on another account's bus.
	// CDK grants it events:PutEvents on the hub's bus alone.
	role := awsiam.NewRole(s.stack, jsii.String("ForwarderRole"), &awsiam.RoleProps{
		Description: jsii.String("Assumed by EventBridge to forward VPC events to the VPC flow logs hub's bus"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": s.stack.Account()}},
		}),
	})
	target := awseventstargets.NewEventBus(awsevents.EventBus_FromEventBusArn(s.stack, jsii.String("HubBus"), busARN),
		&awseventstargets.EventBusProps{Role: role})
	rules := []struct {
		id, description string
		pattern         *awsevents.EventPattern
	}{
		{"VpcTagChange", "A VPC's " + s.p.TagKey + " tag changed: forwarded to the hub", tagChangePattern(s.p.TagKey)},
		{"VpcCreated", "CreateVpc recorded by CloudTrail (needs a trail in the account): forwarded to the hub", cloudTrailPattern("CreateVpc")},
		{"FlowLogsDeleted", "DeleteFlowLogs recorded by CloudTrail (needs a trail in the account): forwarded to the hub", cloudTrailPattern("DeleteFlowLogs")},
	}
	for _, r := range rules {
		awsevents.NewRule(s.stack, jsii.String(r.id), &awsevents.RuleProps{
			Description:  jsii.String(r.description),
			EventPattern: r.pattern,
			Targets:      &[]awsevents.IRuleTarget{target},
		})
	}
}

// cfnRole is role's CloudFormation resource, for what the L2 role does not
// set: a fixed name computed from the region, a condition.
func cfnRole(role awsiam.Role) awsiam.CfnRole {
	return role.Node().DefaultChild().(awsiam.CfnRole)
}

// SpokeTemplate synthesizes the spoke template for props in an app of its
// own and returns it as compact JSON: the hub's StackSet carries it inline
// (stackset.go). Resources' Metadata (construct paths, cdk-nag's
// suppression reasons) is left out: it only makes the body longer, against
// CloudFormation's 51,200-byte limit.
func SpokeTemplate(props Props) (string, error) {
	dir, err := os.MkdirTemp("", "vpcflowlogs-spoke-")
	if err != nil {
		return "", fmt.Errorf("synthesizing the spoke template: %w", err)
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:             jsii.String(dir),
		AnalyticsReporting: jsii.Bool(false),
		PostCliContext:     &map[string]any{"aws:cdk:enable-path-metadata": false},
	})
	if _, err := NewSpoke(app, SpokeStackName, props); err != nil {
		return "", err
	}
	app.Synth(nil)
	raw, err := os.ReadFile(filepath.Join(dir, SpokeStackName+".template.json"))
	if err != nil {
		return "", fmt.Errorf("reading the synthesized spoke template: %w", err)
	}
	return compactTemplate(raw)
}

// compactTemplate is a template without its resources' Metadata, as JSON
// without indentation or HTML escaping.
func compactTemplate(raw []byte) (string, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("decoding the spoke template: %w", err)
	}
	resources, _ := doc["Resources"].(map[string]any)
	for _, r := range resources {
		if r, ok := r.(map[string]any); ok {
			delete(r, "Metadata")
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return "", fmt.Errorf("encoding the spoke template: %w", err)
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}
