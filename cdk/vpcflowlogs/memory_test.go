package vpcflowlogs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
)

// functionMemory is each function's MemorySize in a template's resources,
// by the function's logical id without its hash ("Enabler", "Summarizer").
func functionMemory(t *testing.T, res map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::Lambda::Function" {
			continue
		}
		for _, fn := range []string{"Enabler", "Summarizer"} {
			if strings.Contains(id, fn) && !strings.Contains(id, "Provider") {
				out[fn] = fmt.Sprint(r["Properties"].(map[string]any)["MemorySize"])
			}
		}
	}
	if len(out) != 2 {
		t.Fatalf("functions found: %v, want the enabler and the summarizer", out)
	}
	return out
}

// TestSummarizerMemoryByDestination proves the summarizer's size follows
// where flow logs go, in both modes: 256 MB reading CloudWatch Logs (a run
// waits on FilterLogEvents' quota), one vCPU (1,769 MB) reading S3 (a run
// decodes as fast as its CPU allows), or what Props says; the enabler
// keeps 256 MB.
func TestSummarizerMemoryByDestination(t *testing.T) {
	single := func(p vpcflowlogs.Props) map[string]any {
		_, tmpl := synth(t, p)
		return (*tmpl.ToJSON())["Resources"].(map[string]any)
	}
	hubOf := func(p vpcflowlogs.Props) map[string]any {
		_, doc := synthHub(t, p)
		return doc["Resources"].(map[string]any)
	}
	org := func(dest string, mb int) vpcflowlogs.Props {
		p := orgProps("us-east-1")
		p.Destination, p.SummarizerMemoryMB = dest, mb
		return p
	}
	cases := []struct {
		name string
		res  func() map[string]any
		want string
	}{
		{"CloudWatch Logs", func() map[string]any { return single(vpcflowlogs.Props{}) }, "256"},
		{"S3", func() map[string]any { return single(vpcflowlogs.Props{Destination: "s3"}) }, "1769"},
		{"S3, set to 3008", func() map[string]any { return single(vpcflowlogs.Props{Destination: "s3", SummarizerMemoryMB: 3008}) }, "3008"},
		{"organization, CloudWatch Logs", func() map[string]any { return hubOf(org("", 0)) }, "256"},
		{"organization, S3", func() map[string]any { return hubOf(org("s3", 0)) }, "1769"},
		{"organization, CloudWatch Logs, set to 512", func() map[string]any { return hubOf(org("", 512)) }, "512"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := functionMemory(t, c.res())
			if got["Summarizer"] != c.want || got["Enabler"] != "256" {
				t.Errorf("memory %v, want the summarizer %s MB and the enabler 256 MB", got, c.want)
			}
		})
	}
}

// TestSummarizerMemoryValidation proves a size outside Lambda's 128 to
// 10,240 MB is refused by name.
func TestSummarizerMemoryValidation(t *testing.T) {
	for _, mb := range []int{-1, 127, 10241} {
		p := vpcflowlogs.Props{SummarizerMemoryMB: mb}
		p.EnablerCode, p.SummarizerCode = fakeCode(t), fakeCode(t)
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
		_, err := vpcflowlogs.New(stack, "FlowLogs", p)
		if err == nil || !strings.Contains(err.Error(), "SummarizerMemoryMB") || !strings.Contains(err.Error(), fmt.Sprint(mb)) {
			t.Errorf("SummarizerMemoryMB %d: New = %v, want an error naming the field and the value", mb, err)
		}
	}
}
