package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// synthApp runs the app's NewStack with the context ctx in a directory
// holding stand-in bootstraps where make build leaves them, and returns the
// cloud assembly.
func synthApp(t *testing.T, ctx map[string]any) cxapi.CloudAssembly {
	t.Helper()
	dir := t.TempDir()
	for _, code := range []string{enablerCodeDir, summarizerCodeDir} {
		if err := os.MkdirAll(filepath.Join(dir, code), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, code, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	if _, err := NewStack(app, StackName); err != nil {
		t.Fatalf("NewStack: %v", err)
	}
	return app.Synth(nil)
}

// findings are the error and warning messages cdk-nag (or anything else)
// left on a stack.
func findings(stack cxapi.CloudFormationStackArtifact) []string {
	var out []string
	for _, m := range *stack.Messages() {
		//nolint:staticcheck // Messages returns only this deprecated type in this CDK version
		if m.Level == "error" || m.Level == "warning" {
			out = append(out, *m.Id+": "+string(mustMarshal(m.Entry.Data))) //nolint:staticcheck // as above
		}
	}
	return out
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestOrganizationApp proves the app, given the organization's context,
// writes the hub and the spoke templates side by side, both free of
// cdk-nag findings, and that the StackSet in the hub carries the spoke
// template that cdk.out holds (the same resources, whatever the path
// metadata). With cdk.json's context alone it writes the one template of
// single-account mode.
func TestOrganizationApp(t *testing.T) {
	org := cdkJSON(t)
	for k, v := range map[string]any{
		keyOrganizationID: "o-a1b2c3d4e5", keyOrganizationTargets: []any{"ou-ab12-abcd1234"},
		keyOrganizationRegions: []any{"eu-west-1", "us-east-1"}, keyComplianceMode: true,
	} {
		org[k] = v
	}
	single := synthApp(t, cdkJSON(t))
	if n := len(*single.Stacks()); n != 1 {
		t.Errorf("single-account mode writes %d stacks, want 1", n)
	}
	asm := synthApp(t, org)
	hub, spoke := asm.GetStackByName(jsii.String(StackName)), asm.GetStackByName(jsii.String("VpcFlowLogsSpoke"))
	if *spoke.TemplateFile() != "VpcFlowLogsSpoke.template.json" || *hub.TemplateFile() != "VpcFlowLogs.template.json" {
		t.Errorf("template files %s, %s", *hub.TemplateFile(), *spoke.TemplateFile())
	}
	for _, s := range []cxapi.CloudFormationStackArtifact{hub, spoke} {
		for _, f := range findings(s) {
			t.Errorf("%s: %s", *s.StackName(), f)
		}
	}
	var body map[string]any
	for _, r := range hub.Template().(map[string]any)["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == "AWS::CloudFormation::StackSet" {
			if err := json.Unmarshal([]byte(r["Properties"].(map[string]any)["TemplateBody"].(string)), &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	file := withoutMetadata(spoke.Template().(map[string]any))
	if !reflect.DeepEqual(withoutMetadata(body), file) {
		t.Errorf("the StackSet's body differs from cdk.out's spoke template")
	}
}

// withoutMetadata drops each resource's Metadata (the construct paths the
// CLI context adds) from a decoded template.
func withoutMetadata(doc map[string]any) map[string]any {
	raw, _ := json.Marshal(doc)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if res, ok := out["Resources"].(map[string]any); ok {
		for _, r := range res {
			delete(r.(map[string]any), "Metadata")
		}
	}
	return out
}
