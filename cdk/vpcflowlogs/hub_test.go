package vpcflowlogs_test

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// synthHub defines the construct in organization mode in a fresh stack with
// the AWS Solutions checks applied, and returns the stack and its template.
func synthHub(t *testing.T, p vpcflowlogs.Props) (awscdk.Stack, map[string]any) {
	t.Helper()
	p.EnablerCode, p.SummarizerCode = fakeCode(t), fakeCode(t)
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Hub"), nil)
	if _, err := vpcflowlogs.New(stack, "FlowLogs", p); err != nil {
		t.Fatalf("New: %v", err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{}), nil)
	return stack, *assertions.Template_FromStack(stack, nil).ToJSON()
}

var defaultHub struct {
	sync.Once
	stack awscdk.Stack
	doc   map[string]any
}

// hub is the hub of orgProps("eu-west-1", "us-east-1"), synthesized once.
func hub(t *testing.T) (awscdk.Stack, map[string]any) {
	defaultHub.Do(func() { defaultHub.stack, defaultHub.doc = synthHub(t, orgProps("eu-west-1", "us-east-1")) })
	if defaultHub.doc == nil {
		t.Fatal("the hub did not synthesize")
	}
	return defaultHub.stack, defaultHub.doc
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

// one returns the only resource of type typ whose JSON contains each of
// parts.
func one(t *testing.T, doc map[string]any, typ string, parts ...string) (string, map[string]any) {
	t.Helper()
	var ids []string
	var found map[string]any
	for id, r := range byType(doc, typ) {
		raw := fmtJSON(r)
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(raw, p) }) {
			ids, found = append(ids, id), r
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d %s resources contain %q (%v), want 1", len(ids), typ, parts, ids)
	}
	return ids[0], found
}

// policyOf returns the statements of the role policy attached to roleID.
func policyOf(t *testing.T, doc map[string]any, roleID string) []any {
	t.Helper()
	_, p := one(t, doc, "AWS::IAM::Policy", `"Roles":[{"Ref":"`+roleID+`"}]`)
	return props(p)["PolicyDocument"].(map[string]any)["Statement"].([]any)
}

func statementBySid(t *testing.T, stmts []any, sid string) map[string]any {
	t.Helper()
	for _, s := range stmts {
		if s.(map[string]any)["Sid"] == sid {
			return s.(map[string]any)
		}
	}
	t.Fatalf("no statement %s in %v", sid, stmts)
	return nil
}

// TestHubRolesAssumeOnlySpokeRolesInTheOrganization proves each hub
// function has the fixed role name the spokes trust, may assume only its
// own spoke role, only in an account of the organization, and may list the
// organization.
func TestHubRolesAssumeOnlySpokeRolesInTheOrganization(t *testing.T) {
	_, doc := hub(t)
	cases := []struct{ hubRole, spokeRole string }{
		{settings.HubEnablerRoleName, settings.SpokeEnablerRoleName},
		{settings.HubSummarizerRoleName, settings.SpokeReaderRoleName},
	}
	for _, c := range cases {
		t.Run(c.hubRole, func(t *testing.T) {
			id, _ := one(t, doc, "AWS::IAM::Role", `"RoleName":"`+c.hubRole+`"`)
			stmts := policyOf(t, doc, id)
			assume := statementBySid(t, stmts, "AssumeSpokeRole")
			want := map[string]any{
				"Sid": "AssumeSpokeRole", "Effect": "Allow", "Action": "sts:AssumeRole",
				"Resource":  map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::*:role/" + c.spokeRole}}},
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": testOrg}},
			}
			if !reflect.DeepEqual(assume, want) {
				t.Errorf("assume statement\n%v\nwant\n%v", assume, want)
			}
			list := statementBySid(t, stmts, "ListOrganization")
			if fmtJSON(list["Action"]) != `["organizations:DescribeOrganization","organizations:ListAccountsForParent","organizations:ListOrganizationalUnitsForParent"]` {
				t.Errorf("organization actions %v", list["Action"])
			}
			for _, s := range stmts {
				if a := fmtAction(s); strings.Contains(a, "ec2:") || strings.Contains(a, "iam:PassRole") {
					t.Errorf("the hub role acts on EC2 or passes roles itself: %v", s)
				}
			}
			state := statementBySid(t, stmts, "RunState")
			wantState := `["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:Query"]`
			if c.hubRole == settings.HubEnablerRoleName {
				wantState = `["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:Query","dynamodb:ConditionCheckItem"]`
			}
			if fmtJSON(state["Action"]) != wantState {
				t.Errorf("run state actions %v, want %s", state["Action"], wantState)
			}
		})
	}
}

// TestHubBusAdmitsOnlyTheOrganization proves the bus the spokes forward to
// has the agreed name, a policy that admits events:PutEvents only from
// principals of the organization, and the enabler's three event rules
// with the single-account patterns; the sweep stays a schedule on the
// default bus.
func TestHubBusAdmitsOnlyTheOrganization(t *testing.T) {
	_, doc := hub(t)
	busID, _ := one(t, doc, "AWS::Events::EventBus", `"Name":"`+settings.HubEventBusName+`"`)
	_, policy := one(t, doc, "AWS::Events::EventBusPolicy")
	want := map[string]any{
		"Sid": "cdk-OrganizationPutsEvents", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
		"Resource":  map[string]any{"Fn::GetAtt": []any{busID, "Arn"}},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": testOrg}},
	}
	if got := props(policy)["Statement"]; !reflect.DeepEqual(got, want) {
		t.Errorf("bus policy\n%v\nwant\n%v", got, want)
	}
	// The statement form only: Principal, Action and Condition beside the
	// statement are CfnEventBusPolicy's deprecated form.
	for _, deprecated := range []string{"Principal", "Action", "Condition"} {
		if v, ok := props(policy)[deprecated]; ok {
			t.Errorf("bus policy has the deprecated property %s = %v", deprecated, v)
		}
	}
	_, single := synth(t, vpcflowlogs.Props{})
	var singlePatterns, busPatterns []any
	for _, r := range resources(single, "AWS::Events::Rule") {
		if p, ok := r["EventPattern"]; ok {
			singlePatterns = append(singlePatterns, p)
		}
	}
	for id, r := range byType(doc, "AWS::Events::Rule") {
		p := props(r)
		switch {
		case p["EventBusName"] != nil:
			if !reflect.DeepEqual(p["EventBusName"], map[string]any{"Ref": busID}) {
				t.Errorf("rule %s on bus %v", id, p["EventBusName"])
			}
			busPatterns = append(busPatterns, p["EventPattern"])
		case p["ScheduleExpression"] == nil:
			t.Errorf("rule %s matches events on the default bus: %v", id, p["EventPattern"])
		}
	}
	if len(busPatterns) != 3 || !sameStatements(busPatterns, singlePatterns) {
		t.Errorf("hub bus patterns\n%v\nsingle-account\n%v", busPatterns, singlePatterns)
	}
}

// TestHubWorkQueues proves each function is fed by its own queue as the
// organization design says: a dead-letter queue after 5 receives, a
// visibility of 6 times the function timeout, SQS-managed encryption,
// TLS only, one message per invocation with partial batch failures, at
// most 20 at once; and each function finds its own queue's URL.
func TestHubWorkQueues(t *testing.T) {
	_, doc := hub(t)
	queues := byType(doc, "AWS::SQS::Queue")
	if len(queues) != 4 {
		t.Errorf("%d queues, want a work queue and a dead-letter queue for each function", len(queues))
	}
	for _, fn := range []string{"Enabler", "Summarizer"} {
		t.Run(fn, func(t *testing.T) {
			fnID, f := idLike(t, doc, "AWS::Lambda::Function", "FlowLogs"+fn)
			qID, q := idLike(t, doc, "AWS::SQS::Queue", "FlowLogs"+fn+"Queue")
			dlqID, dlq := idLike(t, doc, "AWS::SQS::Queue", "FlowLogs"+fn+"DeadLetters")
			want := map[string]any{
				"RedrivePolicy":        map[string]any{"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{dlqID, "Arn"}}, "maxReceiveCount": 5.0},
				"SqsManagedSseEnabled": true,
				"VisibilityTimeout":    1800.0,
			}
			if !reflect.DeepEqual(props(q), want) {
				t.Errorf("queue %s\n%v\nwant\n%v", qID, props(q), want)
			}
			if props(dlq)["SqsManagedSseEnabled"] != true || props(dlq)["MessageRetentionPeriod"] != 1209600.0 {
				t.Errorf("dead-letter queue %s: %v", dlqID, props(dlq))
			}
			for _, id := range []string{qID, dlqID} {
				one(t, doc, "AWS::SQS::QueuePolicy", `"Ref":"`+id+`"`, `"aws:SecureTransport":"false"`, `"Effect":"Deny"`)
			}
			_, esm := one(t, doc, "AWS::Lambda::EventSourceMapping", `"FunctionName":{"Ref":"`+fnID+`"}`)
			wantESM := map[string]any{
				"FunctionName":          map[string]any{"Ref": fnID},
				"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{qID, "Arn"}},
				"BatchSize":             1.0,
				"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
				"ScalingConfig":         map[string]any{"MaximumConcurrency": 20.0},
			}
			if !reflect.DeepEqual(props(esm), wantESM) {
				t.Errorf("event source mapping\n%v\nwant\n%v", props(esm), wantESM)
			}
			env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if !reflect.DeepEqual(env[settings.EnvWorkQueueURL], map[string]any{"Ref": qID}) {
				t.Errorf("%s = %v, want its own queue %s", settings.EnvWorkQueueURL, env[settings.EnvWorkQueueURL], qID)
			}
			if props(f)["ReservedConcurrentExecutions"] != nil {
				t.Errorf("reserved concurrency %v would throttle the queue's fan-out", props(f)["ReservedConcurrentExecutions"])
			}
			sends := false
			for _, s := range policyOf(t, doc, props(f)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)) {
				if strings.Contains(fmtAction(s), "sqs:SendMessage") {
					sends = reflect.DeepEqual(s.(map[string]any)["Resource"], map[string]any{"Fn::GetAtt": []any{qID, "Arn"}})
				}
			}
			if !sends {
				t.Errorf("%s may not send to its own queue %s", fn, qID)
			}
		})
	}
}

// idLike returns the only resource of type typ whose logical id starts with
// prefix followed by CDK's 8-character hash.
func idLike(t *testing.T, doc map[string]any, typ, prefix string) (string, map[string]any) {
	t.Helper()
	for id, r := range byType(doc, typ) {
		if strings.HasPrefix(id, prefix) && len(id) == len(prefix)+8 {
			return id, r
		}
	}
	t.Fatalf("no %s named %s…", typ, prefix)
	return "", nil
}

// TestHubEnvironment proves both functions get the organization's settings
// (lambda/settings/org.go) and the run state table, the enabler the
// spokes' group and delivery role name, and that the hub holds no flow log
// group or delivery role of its own (a spoke in the hub's account would
// collide with them).
func TestHubEnvironment(t *testing.T) {
	_, doc := hub(t)
	org := map[string]any{
		settings.EnvOrganizationID:      testOrg,
		settings.EnvOrganizationTargets: `["r-ab12"]`,
		settings.EnvOrganizationRegions: `["eu-west-1","us-east-1"]`,
		settings.EnvHubAccount:          map[string]any{"Ref": "AWS::AccountId"},
		settings.EnvLogGroupName:        "/vpc/flow-logs",
	}
	for _, fn := range []string{"Enabler", "Summarizer"} {
		_, f := idLike(t, doc, "AWS::Lambda::Function", "FlowLogs"+fn)
		env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, v := range org {
			if !reflect.DeepEqual(env[k], v) {
				t.Errorf("%s %s = %v, want %v", fn, k, env[k], v)
			}
		}
		for _, k := range []string{settings.EnvStateTable, settings.EnvSummaryLogGroupName} {
			if _, ok := env[k]; !ok {
				t.Errorf("%s has no %s", fn, k)
			}
		}
	}
	_, enabler := idLike(t, doc, "AWS::Lambda::Function", "FlowLogsEnabler")
	env := props(enabler)["Environment"].(map[string]any)["Variables"].(map[string]any)
	wantRole := `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::",{"Ref":"AWS::AccountId"},":role/` + settings.SpokeDeliveryRolePrefix + `",{"Ref":"AWS::Region"}]]}`
	if got := fmtJSON(env[settings.EnvDeliveryRoleARN]); got != wantRole {
		t.Errorf("%s = %s, want %s", settings.EnvDeliveryRoleARN, got, wantRole)
	}
	for _, r := range byType(doc, "AWS::Logs::LogGroup") {
		if props(r)["LogGroupName"] == "/vpc/flow-logs" {
			t.Errorf("the hub has a flow log group of its own")
		}
	}
	for id, r := range byType(doc, "AWS::IAM::Role") {
		if strings.Contains(fmtJSON(r), "vpc-flow-logs.amazonaws.com") {
			t.Errorf("the hub has a delivery role of its own: %s", id)
		}
	}
}

// TestHubAlarms proves the organization's alarms exist without any
// dimension (a dimension per account would multiply CloudWatch's cost), and
// that a message in either dead-letter queue raises one.
func TestHubAlarms(t *testing.T) {
	_, doc := hub(t)
	for _, metric := range []string{"UncoveredVPCs", "UnreachableAccountRegions", "UnreadableAccountRegions"} {
		_, a := one(t, doc, "AWS::CloudWatch::Alarm", `"MetricName":"`+metric+`"`)
		if _, ok := props(a)["Dimensions"]; ok {
			t.Errorf("alarm on %s has dimensions %v", metric, props(a)["Dimensions"])
		}
	}
	for _, fn := range []string{"Enabler", "Summarizer"} {
		dlqID, _ := idLike(t, doc, "AWS::SQS::Queue", "FlowLogs"+fn+"DeadLetters")
		_, a := one(t, doc, "AWS::CloudWatch::Alarm", `"MetricName":"ApproximateNumberOfMessagesVisible"`, `"Fn::GetAtt":["`+dlqID+`","QueueName"]`)
		if props(a)["Threshold"] != 0.0 || props(a)["ComparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("dead-letter alarm of %s: %v", fn, props(a))
		}
	}
}

// TestHubNagFindsNothingUnsuppressed proves the hub passes cdk-nag's AWS
// Solutions checks, every suppression naming its resource and reason.
func TestHubNagFindsNothingUnsuppressed(t *testing.T) {
	p := orgProps("eu-west-1")
	p.SummaryTopicARN, p.AlarmTopicARN = "arn:aws:sns:us-east-1:123456789012:t", "arn:aws:sns:us-east-1:123456789012:alarms"
	p.KMSKeyARN = "arn:aws:kms:us-east-1:123456789012:key/abc"
	stack, _ := synthHub(t, p)
	assertNoNag(t, stack)
}

// TestSingleAccountHasNoOrganizationParts proves the organization mode
// adds nothing to a single-account stack, and compliance mode there only
// sets COMPLIANCE_MODE on the enabler.
func TestSingleAccountHasNoOrganizationParts(t *testing.T) {
	for _, compliance := range []bool{false, true} {
		_, tmpl := synth(t, vpcflowlogs.Props{ComplianceMode: compliance})
		for _, typ := range []string{"AWS::CloudFormation::StackSet", "AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::Lambda::EventSourceMapping"} {
			if n := len(resources(tmpl, typ)); n != 0 {
				t.Errorf("compliance %v: %d %s in single-account mode", compliance, n, typ)
			}
		}
		var set []string
		for id, f := range resources(tmpl, "AWS::Lambda::Function") {
			env := f["Environment"].(map[string]any)["Variables"].(map[string]any)
			if v, ok := env[settings.EnvComplianceMode]; ok {
				set = append(set, id+"="+v.(string))
			}
			if _, ok := env[settings.EnvOrganizationID]; ok {
				t.Errorf("%s has %s in single-account mode", id, settings.EnvOrganizationID)
			}
		}
		if compliance && (len(set) != 1 || !strings.Contains(set[0], "Enabler") || !strings.HasSuffix(set[0], "=true")) || !compliance && len(set) != 0 {
			t.Errorf("compliance %v: COMPLIANCE_MODE set on %v", compliance, set)
		}
	}
}

// TestOrganizationPropsValidation proves New and NewSpoke check the
// organization's Props with the settings rules before defining anything,
// each error naming the field.
func TestOrganizationPropsValidation(t *testing.T) {
	org := func(o vpcflowlogs.Organization) vpcflowlogs.Props { return vpcflowlogs.Props{Organization: o} }
	cases := []struct {
		name  string
		props vpcflowlogs.Props
		want  string
	}{
		{"bad id", org(vpcflowlogs.Organization{ID: "o-1", Targets: []string{"r-ab12"}}), "Props.Organization.ID: organization id \"o-1\""},
		{"no targets", org(vpcflowlogs.Organization{ID: testOrg}), "Props.Organization: organization o-a1b2c3d4e5 has no targets"},
		{"targets without id", org(vpcflowlogs.Organization{Targets: []string{"r-ab12"}}), "set without an organization id"},
		{"bad target", org(vpcflowlogs.Organization{ID: testOrg, Targets: []string{"ou-x"}}), "Props.Organization.Targets: organization target \"ou-x\""},
		{"bad region", org(vpcflowlogs.Organization{ID: testOrg, Targets: []string{"r-ab12"}, Regions: []string{"EU"}}), "Props.Organization.Regions: region \"EU\""},
		{"bad deployer", org(vpcflowlogs.Organization{ID: testOrg, Targets: []string{"r-ab12"}, DeployedBy: "me"}), "Props.Organization.DeployedBy: deployed-by \"me\""},
		// The central bucket admits the hub's own organization: another's
		// would let accounts the hub does not cover deliver into it.
		{"with S3 of another organization", vpcflowlogs.Props{Destination: settings.DestinationS3,
			S3:           vpcflowlogs.S3Options{SourceOrganizationID: "o-zzzzzzzzzz"},
			Organization: vpcflowlogs.Organization{ID: testOrg, Targets: []string{"r-ab12"}}},
			`Props.S3.SourceOrganizationID: organization mode delivers to a bucket of its own organization: "o-zzzzzzzzzz" is not Organization.ID`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.props.EnablerCode, c.props.SummarizerCode = fakeCode(t), fakeCode(t)
			app := awscdk.NewApp(nil)
			_, err := vpcflowlogs.New(awscdk.NewStack(app, jsii.String("S"), nil), "F", c.props)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want an error containing %q", err, c.want)
			}
			if _, err := vpcflowlogs.NewSpoke(app, "Spoke", c.props); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("NewSpoke: %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := vpcflowlogs.NewSpoke(awscdk.NewApp(nil), "Spoke", vpcflowlogs.Props{}); err == nil || !strings.Contains(err.Error(), "a spoke belongs to an organization") {
		t.Errorf("NewSpoke in single-account mode: %v", err)
	}
}

// TestHubStateExpires proves the hub's run state table deletes the sweeps'
// and runs' items after their expiry, and the single-account table is left
// as it was.
func TestHubStateExpires(t *testing.T) {
	_, doc := hub(t)
	_, table := one(t, doc, "AWS::DynamoDB::Table")
	want := map[string]any{"AttributeName": "expiresAt", "Enabled": true}
	if got := props(table)["TimeToLiveSpecification"]; !reflect.DeepEqual(got, want) {
		t.Errorf("TimeToLiveSpecification = %v, want %v", got, want)
	}
	_, single := synth(t, vpcflowlogs.Props{})
	for id, tbl := range resources(single, "AWS::DynamoDB::Table") {
		if _, ok := tbl["TimeToLiveSpecification"]; ok {
			t.Errorf("single-account table %s has a time to live", id)
		}
	}
}
