package vpcflowlogs_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestStackSet proves the hub deploys the spoke template as a
// service-managed StackSet: automatic deployment to accounts that join
// the targets, the caller (management account or delegated administrator)
// from DeployedBy, the targets and regions given (the hub's region by
// default), the parameters the spoke takes, operation preferences for a
// large organization, and the spoke's own template inline.
func TestStackSet(t *testing.T) {
	cases := []struct {
		name       string
		deployedBy string
		regions    []string
		callAs     string
		wantRegion any
	}{
		{"management account, hub's region", "", nil, "SELF", []any{map[string]any{"Ref": "AWS::Region"}}},
		{"delegated administrator, two regions", settings.DeployedByDelegatedAdmin, []string{"eu-west-1", "us-east-1"}, "DELEGATED_ADMIN", []any{"eu-west-1", "us-east-1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := orgProps(c.regions...)
			p.Organization.Targets = []string{"ou-ab12-abcd1234", "ou-ab12-efgh5678"}
			p.Organization.DeployedBy = c.deployedBy
			_, doc := synthHub(t, p)
			id, set := one(t, doc, "AWS::CloudFormation::StackSet")
			got := props(set)
			want := map[string]any{
				"PermissionModel":  "SERVICE_MANAGED",
				"CallAs":           c.callAs,
				"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
				"Capabilities":     []any{"CAPABILITY_NAMED_IAM"},
				"ManagedExecution": map[string]any{"Active": true},
				"OperationPreferences": map[string]any{"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 25.0,
					"FailureTolerancePercentage": 10.0, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"},
				"Parameters": []any{
					map[string]any{"ParameterKey": "Owner", "ParameterValue": map[string]any{"Ref": "AWS::StackId"}},
					map[string]any{"ParameterKey": "HubAccount", "ParameterValue": map[string]any{"Ref": "AWS::AccountId"}},
					map[string]any{"ParameterKey": "HubRegion", "ParameterValue": map[string]any{"Ref": "AWS::Region"}},
				},
				"StackInstancesGroup": []any{map[string]any{
					"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{"ou-ab12-abcd1234", "ou-ab12-efgh5678"}},
					"Regions":           c.wantRegion,
				}},
			}
			for k, v := range want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			body, err := vpcflowlogs.SpokeTemplate(p)
			if err != nil {
				t.Fatal(err)
			}
			if got["TemplateBody"] != body {
				t.Errorf("TemplateBody is not the spoke template")
			}
			var spoke map[string]any
			if err := json.Unmarshal([]byte(body), &spoke); err != nil {
				t.Fatal(err)
			}
			res, ok := spoke["Resources"].(map[string]any)
			if !ok || len(res) == 0 {
				t.Errorf("the body has no resources")
			}
			for rid, r := range res {
				if md, ok := r.(map[string]any)["Metadata"]; ok {
					t.Errorf("the body carries %s's Metadata %v: bytes spent against the 51,200 limit", rid, md)
				}
			}
			deps := fmtJSON(set["DependsOn"])
			for _, role := range []string{settings.HubEnablerRoleName, settings.HubSummarizerRoleName} {
				roleID, _ := one(t, doc, "AWS::IAM::Role", `"RoleName":"`+role+`"`)
				if !slices.Contains(set["DependsOn"].([]any), any(roleID)) {
					t.Errorf("the StackSet does not wait for %s (%s), which the spokes' trust names: %s", role, roleID, deps)
				}
			}
			_, custom := one(t, doc, "Custom::VpcFlowLogs")
			if !slices.Contains(custom["DependsOn"].([]any), any(id)) {
				t.Errorf("the custom resource does not depend on the StackSet: its Delete would run without the spokes' roles")
			}
		})
	}
}
