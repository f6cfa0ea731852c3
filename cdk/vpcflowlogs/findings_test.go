package vpcflowlogs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestFindingsSettingsAndDashboard proves that the findings thresholds
// reach the summarizer's environment (defaults and a set value), that a bad
// threshold stops New naming the field, and that the dashboard graphs one
// findings metric per type, without dimensions.
func TestFindingsSettingsAndDashboard(t *testing.T) {
	f := settings.DefaultFindings()
	f.ScanPorts = 40
	_, tmpl := synth(t, vpcflowlogs.Props{Findings: f})
	var env map[string]any
	for _, fn := range resources(tmpl, "AWS::Lambda::Function") {
		vars, _ := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
		if _, ok := vars[settings.EnvStateTable]; ok {
			env = vars
		}
	}
	for k, want := range f.Env() {
		if got := fmt.Sprint(env[k]); got != want {
			t.Errorf("summarizer %s = %q, want %q", k, got, want)
		}
	}
	var body string
	for _, d := range resources(tmpl, "AWS::CloudWatch::Dashboard") {
		body = fmt.Sprint(d["DashboardBody"])
	}
	if !strings.Contains(body, "Digest findings by type") {
		t.Errorf("dashboard has no findings widget")
	}
	for _, m := range metrics.FindingsMetrics {
		if !strings.Contains(body, `"`+m+`"`) {
			t.Errorf("dashboard does not graph %s", m)
		}
	}
	bad := settings.DefaultFindings()
	bad.BaselineDays = 99
	if _, err := vpcflowlogs.New(nil, "x", vpcflowlogs.Props{Findings: bad}); err == nil || !strings.Contains(err.Error(), "Findings") {
		t.Errorf("a 99-day baseline: %v; want an error naming Findings", err)
	}
}
