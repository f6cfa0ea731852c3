package vpcflowlogs_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const testOrg = "o-a1b2c3d4e5"

// orgProps is an organization-mode Props covering the root in regions
// (none: the hub's region).
func orgProps(regions ...string) vpcflowlogs.Props {
	return vpcflowlogs.Props{Organization: vpcflowlogs.Organization{ID: testOrg, Targets: []string{"r-ab12"}, Regions: regions}}
}

// synthSpoke defines the spoke stack with the AWS Solutions checks applied
// and returns it and its template as a decoded document.
func synthSpoke(t *testing.T, p vpcflowlogs.Props) (awscdk.Stack, map[string]any) {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack, err := vpcflowlogs.NewSpoke(app, vpcflowlogs.SpokeStackName, p)
	if err != nil {
		t.Fatalf("NewSpoke: %v", err)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{}), nil)
	doc := *assertions.Template_FromStack(stack, nil).ToJSON()
	return stack, doc
}

// byType returns the resources of type typ by logical id.
func byType(doc map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range doc["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// roleNamed returns the role resource whose RoleName is name.
func roleNamed(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	for _, r := range byType(doc, "AWS::IAM::Role") {
		if r["Properties"].(map[string]any)["RoleName"] == name {
			return r
		}
	}
	t.Fatalf("no role named %s", name)
	return nil
}

func statements(role map[string]any) []any {
	var out []any
	for _, p := range role["Properties"].(map[string]any)["Policies"].([]any) {
		out = append(out, p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
	}
	return out
}

// TestSpokeHoldsNoCode proves the spoke deploys into an account that was
// never bootstrapped and shares no asset: no function, no asset or
// bootstrap parameter, no rule section, only the StackSet's parameters.
func TestSpokeHoldsNoCode(t *testing.T) {
	stack, doc := synthSpoke(t, orgProps("eu-west-1", "us-east-1"))
	for id, r := range doc["Resources"].(map[string]any) {
		if typ := r.(map[string]any)["Type"].(string); strings.HasPrefix(typ, "AWS::Lambda::") || strings.HasPrefix(typ, "Custom::") {
			t.Errorf("resource %s is %s: the spoke must hold no code", id, typ)
		}
	}
	var params []string
	for name := range doc["Parameters"].(map[string]any) {
		params = append(params, name)
	}
	slices.Sort(params)
	if want := []string{"HubAccount", "HubRegion", "Owner"}; !slices.Equal(params, want) {
		t.Errorf("parameters %v, want %v", params, want)
	}
	if _, ok := doc["Rules"]; ok {
		t.Errorf("the spoke has a Rules section (bootstrap version check): %v", doc["Rules"])
	}
	raw, _ := json.Marshal(doc)
	for _, s := range []string{"asset", "cdk-hnb659fds", "BootstrapVersion"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("the spoke template mentions %q", s)
		}
	}
	assertNoNag(t, stack)
}

func assertNoNag(t *testing.T, stack awscdk.Stack) {
	t.Helper()
	ann := assertions.Annotations_FromStack(stack)
	errs := ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	warns := ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, m := range append(*errs, *warns...) {
		t.Errorf("cdk-nag: %s: %v", *m.Id, m.Entry.Data) //nolint:staticcheck // Annotations returns only this deprecated type in this CDK version
	}
}

// TestSpokeTrust proves each assumable role trusts exactly one hub role, by
// its exact ARN, only from a principal of the organization, and exists in
// one region only (IAM is global: one per account).
func TestSpokeTrust(t *testing.T) {
	_, doc := synthSpoke(t, orgProps("eu-west-1", "us-east-1"))
	cases := []struct{ spokeRole, hubRole string }{
		{settings.SpokeEnablerRoleName, settings.HubEnablerRoleName},
		{settings.SpokeReaderRoleName, settings.HubSummarizerRoleName},
	}
	for _, c := range cases {
		t.Run(c.spokeRole, func(t *testing.T) {
			role := roleNamed(t, doc, c.spokeRole)
			if role["Condition"] != "IsRoleRegion" {
				t.Errorf("condition %v, want IsRoleRegion", role["Condition"])
			}
			want := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Action":    "sts:AssumeRole",
				"Effect":    "Allow",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": testOrg}},
				"Principal": map[string]any{"AWS": map[string]any{"Fn::Join": []any{"", []any{
					"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": "HubAccount"}, ":role/" + c.hubRole,
				}}}},
			}}}
			if got := role["Properties"].(map[string]any)["AssumeRolePolicyDocument"]; !reflect.DeepEqual(got, want) {
				t.Errorf("trust\n%v\nwant\n%v", got, want)
			}
		})
	}
	// The roles go where the StackSet surely deploys: the first covered
	// region, or the hub's region when it is the only one.
	for _, c := range []struct {
		name    string
		regions []string
		where   any
	}{
		{"the hub's region by default", nil, map[string]any{"Ref": "HubRegion"}},
		{"the first covered region", []string{"eu-west-1", "us-east-1"}, "eu-west-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, doc := synthSpoke(t, orgProps(c.regions...))
			cond := doc["Conditions"].(map[string]any)["IsRoleRegion"]
			want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AWS::Region"}, c.where}}
			if !reflect.DeepEqual(cond, want) {
				t.Errorf("IsRoleRegion = %v, want %v", cond, want)
			}
		})
	}
	for id, r := range byType(doc, "AWS::IAM::Role") {
		if name := r["Properties"].(map[string]any)["RoleName"]; name == nil && r["Condition"] != nil {
			t.Errorf("role %s has a condition but is not one of the assumable roles", id)
		}
	}
}

// TestSpokeEnablerStatementsAreTheEnablers proves the spoke's enabler role
// carries exactly the single-account enabler's EC2 statements: with the
// hub's region as the only region, the two documents are equal once the
// spoke's parameters read as the single-account stack's own values
// (HubRegion as the region, Owner as the stack id). With several regions,
// each resource is listed once per region.
func TestSpokeEnablerStatementsAreTheEnablers(t *testing.T) {
	_, single := synth(t, vpcflowlogs.Props{})
	ec2Sids := []string{"DescribeHasNoResourceLevelPermissions", "CreateFlowLogsOnVpcs", "CreateOnlyOwnedFlowLogs", "TagFlowLogsAtCreation", "DeleteOnlyOwnedFlowLogs"}
	var want []any
	for _, p := range resources(single, "AWS::IAM::Policy") {
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			sid, _ := s.(map[string]any)["Sid"].(string)
			if slices.Contains(ec2Sids, sid) && strings.Contains(fmtAction(s), "ec2:") && !strings.Contains(fmtAction(s), "NetworkInterfaces") {
				want = append(want, s)
			}
		}
	}
	if len(want) != 5 {
		t.Fatalf("found %d EC2 statements in the single-account enabler, want 5: %v", len(want), want)
	}
	_, doc := synthSpoke(t, orgProps())
	got := statements(roleNamed(t, doc, settings.SpokeEnablerRoleName))
	raw, _ := json.Marshal(got)
	asSingle := strings.NewReplacer(`{"Ref":"HubRegion"}`, `{"Ref":"AWS::Region"}`, `{"Ref":"Owner"}`, `{"Ref":"AWS::StackId"}`).Replace(string(raw))
	var ec2 []any
	if err := json.Unmarshal([]byte(asSingle), &got); err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		if strings.HasPrefix(fmtAction(s), "ec2:") {
			ec2 = append(ec2, s)
		}
	}
	if !sameStatements(ec2, want) {
		t.Errorf("spoke enabler EC2 statements\n%v\nsingle-account enabler's\n%v", ec2, want)
	}

	_, multi := synthSpoke(t, orgProps("eu-west-1", "us-east-1", "ap-south-1"))
	for _, s := range statements(roleNamed(t, multi, settings.SpokeEnablerRoleName)) {
		s := s.(map[string]any)
		if s["Resource"] == "*" {
			continue
		}
		res, _ := s["Resource"].([]any)
		raw, _ := json.Marshal(res)
		for _, r := range []string{"eu-west-1", "us-east-1", "ap-south-1"} {
			if len(res) != 3 || !strings.Contains(string(raw), r) {
				t.Errorf("statement %v: want one resource in each of 3 regions, %s among them", s["Sid"], r)
			}
		}
	}
}

// sameStatements compares two statement lists whatever their order.
func sameStatements(a, b []any) bool {
	key := func(l []any) []string {
		out := make([]string, len(l))
		for i, s := range l {
			raw, _ := json.Marshal(s)
			out[i] = string(raw)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func fmtAction(s any) string {
	raw, _ := json.Marshal(s.(map[string]any)["Action"])
	return strings.Trim(string(raw), `[]"`)
}

// TestSpokePassesOnlyItsDeliveryRoles proves the enabler role may pass the
// covered regions' delivery roles and no other role, and that each region's
// delivery role has the name the hub computes and today's shape.
func TestSpokePassesOnlyItsDeliveryRoles(t *testing.T) {
	_, doc := synthSpoke(t, orgProps("eu-west-1", "us-east-1"))
	var pass []any
	for _, s := range statements(roleNamed(t, doc, settings.SpokeEnablerRoleName)) {
		if s.(map[string]any)["Action"] == "iam:PassRole" {
			pass = s.(map[string]any)["Resource"].([]any)
		}
	}
	raw, _ := json.Marshal(pass)
	for _, r := range []string{"eu-west-1", "us-east-1"} {
		if !strings.Contains(string(raw), `":role/`+settings.SpokeDeliveryRolePrefix+r+`"`) {
			t.Errorf("PassRole %s does not name the delivery role of %s", raw, r)
		}
	}
	if len(pass) != 2 {
		t.Errorf("PassRole on %d roles, want 2", len(pass))
	}
	var names []string
	for _, r := range byType(doc, "AWS::IAM::Role") {
		raw, _ := json.Marshal(r["Properties"].(map[string]any)["RoleName"])
		if strings.Contains(string(raw), settings.SpokeDeliveryRolePrefix) {
			names = append(names, string(raw))
			if r["Condition"] != nil {
				t.Errorf("the delivery role has condition %v: each region needs its own", r["Condition"])
			}
		}
	}
	if want := `{"Fn::Join":["",["` + settings.SpokeDeliveryRolePrefix + `",{"Ref":"AWS::Region"}]]}`; len(names) != 1 || names[0] != want {
		t.Errorf("delivery role names %v, want %s", names, want)
	}
}

// TestSpokeReaderIsReadOnly proves the summarizer's role reads the flow log
// group in each covered region and describes interfaces and flow logs, and
// can do nothing else.
func TestSpokeReaderIsReadOnly(t *testing.T) {
	_, doc := synthSpoke(t, orgProps("eu-west-1", "us-east-1"))
	var actions []string
	for _, s := range statements(roleNamed(t, doc, settings.SpokeReaderRoleName)) {
		s := s.(map[string]any)
		for _, a := range s["Action"].([]any) {
			actions = append(actions, a.(string))
		}
		if strings.HasPrefix(fmtAction(s), "logs:") {
			raw, _ := json.Marshal(s["Resource"])
			for _, r := range []string{"eu-west-1", "us-east-1"} {
				for _, g := range []string{":log-group:/vpc/flow-logs\"", ":log-group:/vpc/flow-logs:*\""} {
					if !strings.Contains(string(raw), ":logs:"+r+":") || !strings.Contains(string(raw), g) {
						t.Errorf("log reads on %s: want %s%s", raw, r, g)
					}
				}
			}
		}
	}
	slices.Sort(actions)
	want := []string{"ec2:DescribeFlowLogs", "ec2:DescribeNetworkInterfaces", "logs:DescribeLogStreams", "logs:FilterLogEvents"}
	if !slices.Equal(actions, want) {
		t.Errorf("reader actions %v, want %v", actions, want)
	}
}

// TestSpokeForwardsTheEnablersEvents proves the spoke's rules match exactly
// the single-account enabler's event patterns and send them to the hub's
// bus in the hub's account and region, through a role that may put events
// on that bus and nowhere else.
func TestSpokeForwardsTheEnablersEvents(t *testing.T) {
	_, single := synth(t, vpcflowlogs.Props{})
	var want []any
	for _, r := range resources(single, "AWS::Events::Rule") {
		if p, ok := r["EventPattern"]; ok && strings.Contains(fmtJSON(p), `"aws.`) {
			want = append(want, p)
		}
	}
	_, doc := synthSpoke(t, orgProps("eu-west-1"))
	bus := map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":events:",
		map[string]any{"Ref": "HubRegion"}, ":", map[string]any{"Ref": "HubAccount"}, ":event-bus/" + settings.HubEventBusName}}}
	var got []any
	for id, r := range byType(doc, "AWS::Events::Rule") {
		p := r["Properties"].(map[string]any)
		got = append(got, p["EventPattern"])
		targets := p["Targets"].([]any)
		if len(targets) != 1 || !reflect.DeepEqual(targets[0].(map[string]any)["Arn"], bus) || targets[0].(map[string]any)["RoleArn"] == nil {
			t.Errorf("rule %s targets %v, want the hub bus with a role", id, targets)
		}
	}
	if len(want) != 3 || !sameStatements(got, want) {
		t.Errorf("spoke patterns\n%v\nsingle-account enabler's\n%v", got, want)
	}
	for _, p := range byType(doc, "AWS::IAM::Policy") {
		stmts := p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)
		if len(stmts) != 1 || stmts[0].(map[string]any)["Action"] != "events:PutEvents" || !reflect.DeepEqual(stmts[0].(map[string]any)["Resource"], bus) {
			t.Errorf("forwarder policy %v: want events:PutEvents on the hub bus only", stmts)
		}
	}
}

func fmtJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// TestSpokeTemplateFitsInline proves the spoke, with every commercial
// region AWS had at the time of writing (34), stays under CloudFormation's
// 51,200-byte TemplateBody limit, so the StackSet can carry it inline with
// no S3 bucket (and no bootstrap) in between.
func TestSpokeTemplateFitsInline(t *testing.T) {
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-south-2",
		"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ap-northeast-1",
		"ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2",
		"eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
		"sa-east-1", "ap-east-2", "ap-southeast-6"}
	for _, c := range []struct {
		name    string
		regions []string
	}{{"the hub's region", nil}, {"34 regions", regions}} {
		t.Run(c.name, func(t *testing.T) {
			body, err := vpcflowlogs.SpokeTemplate(orgProps(c.regions...))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes", c.name, len(body))
			if len(body) >= 51200 {
				t.Errorf("spoke template is %d bytes: CloudFormation takes at most 51,200 inline", len(body))
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["Resources"] == nil {
				t.Errorf("the body is not a template: %v", err)
			}
		})
	}
}
