package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// StandInHub turns the single-account template into an organization
// hub, in memory, when the app cannot synthesize one yet: the queues, the
// event source mappings, the hub bus and its policy and rules, a StackSet
// of the spoke template at spokeFile, and the functions' organization
// environment, each shaped as lambda/settings/org.go and the organization
// design name them. It lets the functions' organization mode run in the
// harness before the CDK's hub exists; StartOrg uses it only when
// OrgOptions.StandIn is set.
func StandInHub(t *Template, org *Organization, targets, regions []string, spokeFile string) error {
	body, err := os.ReadFile(spokeFile)
	if err != nil {
		return fmt.Errorf("the stand-in hub's spoke template: %w", err)
	}
	add := func(id, typ string, props map[string]any) {
		t.Resources[id] = &Resource{LogicalID: id, Type: typ, Properties: props,
			Metadata: map[string]any{"aws:cdk:path": StackName + "/StandIn/" + id + "/Resource"}}
	}
	getAtt := func(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
	for _, fn := range []string{"Enabler", "Summarizer"} {
		r, err := t.ByPath("/" + fn + "/Resource")
		if err != nil {
			return err
		}
		add(fn+"Dlq", "AWS::SQS::Queue", map[string]any{"MessageRetentionPeriod": 1209600.0})
		add(fn+"Work", "AWS::SQS::Queue", map[string]any{"VisibilityTimeout": 6 * r.Properties["Timeout"].(float64),
			"RedrivePolicy": map[string]any{"deadLetterTargetArn": getAtt(fn+"Dlq", "Arn"), "maxReceiveCount": 5.0}})
		add(fn+"Mapping", "AWS::Lambda::EventSourceMapping", map[string]any{"FunctionName": map[string]any{"Ref": r.LogicalID},
			"EventSourceArn": getAtt(fn+"Work", "Arn"), "BatchSize": 1.0, "ScalingConfig": map[string]any{"MaximumConcurrency": 2.0},
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"}})
		env := r.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
		tj, _ := json.Marshal(targets)
		rj, _ := json.Marshal(regions)
		env[settings.EnvOrganizationID], env[settings.EnvOrganizationTargets] = org.ID, string(tj)
		env[settings.EnvOrganizationRegions], env[settings.EnvHubAccount] = string(rj), map[string]any{"Ref": "AWS::AccountId"}
		env[settings.EnvWorkQueueURL] = map[string]any{"Ref": fn + "Work"}
		state, _ := t.ByPath("/State/Resource")
		digests, _ := t.ByPath("/DigestLogGroup/Resource")
		env[settings.EnvStateTable] = map[string]any{"Ref": state.LogicalID}
		env[settings.EnvSummaryLogGroupName] = map[string]any{"Ref": digests.LogicalID}
	}
	enabler, _ := t.ByPath("/Enabler/Resource")
	add("HubBus", "AWS::Events::EventBus", map[string]any{"Name": settings.HubEventBusName})
	add("HubBusPolicy", "AWS::Events::EventBusPolicy", map[string]any{"EventBusName": map[string]any{"Ref": "HubBus"}, "StatementId": "organization",
		"Statement": map[string]any{"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": org.ID}}}})
	add("HubTagRule", "AWS::Events::Rule", map[string]any{"EventBusName": map[string]any{"Ref": "HubBus"},
		"EventPattern": map[string]any{"source": []any{"aws.tag"}, "detail-type": []any{"Tag Change on Resource"}},
		"Targets":      []any{map[string]any{"Id": "enabler", "Arn": getAtt(enabler.LogicalID, "Arn")}}})
	add("HubTrailRule", "AWS::Events::Rule", map[string]any{"EventBusName": map[string]any{"Ref": "HubBus"},
		"EventPattern": map[string]any{"source": []any{"aws.ec2"}, "detail-type": []any{"AWS API Call via CloudTrail"}},
		"Targets":      []any{map[string]any{"Id": "enabler", "Arn": getAtt(enabler.LogicalID, "Arn")}}})
	group := []any{map[string]any{"DeploymentTargets": map[string]any{"OrganizationalUnitIds": toAny(targets)}, "Regions": toAny(regions)}}
	add("Spokes", "AWS::CloudFormation::StackSet", map[string]any{"StackSetName": "VpcFlowLogsSpoke", "PermissionModel": "SERVICE_MANAGED",
		"AutoDeployment": map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false}, "StackInstancesGroup": group,
		"OperationPreferences": map[string]any{"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100.0, "FailureTolerancePercentage": 100.0},
		"Parameters": []any{
			map[string]any{"ParameterKey": "Owner", "ParameterValue": map[string]any{"Ref": "AWS::StackId"}},
			map[string]any{"ParameterKey": "HubAccount", "ParameterValue": map[string]any{"Ref": "AWS::AccountId"}},
			map[string]any{"ParameterKey": "HubRegion", "ParameterValue": map[string]any{"Ref": "AWS::Region"}},
		},
		"TemplateBody": string(body)})
	t.File = filepath.Join(filepath.Dir(t.File), "standin-"+filepath.Base(t.File))
	return nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
