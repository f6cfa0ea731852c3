package e2e_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
)

// templateJSON holds one resource of each type the resolver names, in
// the shapes the CDK synthesizes.
const templateJSON = `{"Resources": {
  "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/vpc/flow-logs"}},
  "Unnamed": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
  "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
  "State": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}},
  "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}
}}`

func TestResolve(t *testing.T) {
	var tmpl e2e.Template
	if err := json.Unmarshal([]byte(templateJSON), &tmpl); err != nil {
		t.Fatal(err)
	}
	for id, r := range tmpl.Resources {
		r.LogicalID = id
	}
	stackID := "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1"
	n := e2e.NameResources(&tmpl, "S", stackID, "123456789012", "us-east-1")

	cases := []struct {
		name string
		in   string
		want string // a prefix of the resolved string, or of the error
		err  bool
	}{
		{"pseudo stack id", `{"Ref": "AWS::StackId"}`, stackID, false},
		{"named group", `{"Ref": "Group"}`, "/vpc/flow-logs", false},
		{"generated group name", `{"Ref": "Unnamed"}`, "S-Unnamed-", false},
		{"group arn", `{"Fn::GetAtt": ["Group", "Arn"]}`, "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs:*", false},
		{"role arn", `{"Fn::GetAtt": ["Role", "Arn"]}`, "arn:aws:iam::123456789012:role/S-Role-", false},
		{"table name", `{"Ref": "State"}`, "S-State-", false},
		{"table ARN", `{"Fn::GetAtt": ["State", "Arn"]}`, "arn:aws:dynamodb:us-east-1:123456789012:table/S-State-", false},
		{"function arn", `{"Fn::GetAtt": ["Fn", "Arn"]}`, "arn:aws:lambda:us-east-1:123456789012:function:S-Fn-", false},
		{"join", `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":log-group:", {"Ref": "Group"}]]}`,
			"arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs", false},
		{"unknown resource", `{"Ref": "Nope"}`, "cannot resolve {Ref: Nope}", true},
		{"unknown attribute", `{"Fn::GetAtt": ["Group", "StreamArn"]}`, "cannot resolve {Fn::GetAtt", true},
		{"sub", `{"Fn::Sub": "x-${AWS::Region}-${Group}-${Role.Arn}"}`, "x-us-east-1-/vpc/flow-logs-arn:aws:iam::123456789012:role/S-Role-", false},
		{"sub of an unknown name", `{"Fn::Sub": "x-${Nope}"}`, `Fn::Sub "x-${Nope}": cannot resolve {Ref: Nope}`, true},
		{"if without conditions", `{"Fn::If": ["IsHub", "a", "b"]}`, "cannot resolve {Fn::If", true},
		{"unsupported function", `{"Fn::Select": [0, ["a"]]}`, "cannot resolve Fn::Select", true},
		{"nested unsupported", `{"Fn::Join": ["", [{"Fn::ImportValue": "x"}]]}`, "Fn::Join: cannot resolve Fn::ImportValue", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
				t.Fatal(err)
			}
			got, err := n.ResolveString(v)
			if tc.err {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("error %v, want one starting %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want it to start with %q", got, tc.want)
			}
		})
	}
}
