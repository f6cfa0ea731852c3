package vpcflowlogs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// wantAlarm is what one alarm must watch and how it decides.
type wantAlarm struct {
	namespace, metric, statistic string
	function                     string // for AWS/Lambda: the function's logical id fragment
	period                       time.Duration
	threshold                    float64
	comparison, missing          string
}

// alarmProps finds the one alarm on namespace/metric (and function) and
// returns its properties.
func alarmProps(t *testing.T, tmpl assertions.Template, w wantAlarm) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, a := range resources(tmpl, "AWS::CloudWatch::Alarm") {
		if a["Namespace"] != w.namespace || a["MetricName"] != w.metric {
			continue
		}
		if w.function != "" && !strings.Contains(fmt.Sprint(a["Dimensions"]), w.function) {
			continue
		}
		found = append(found, a)
	}
	if len(found) != 1 {
		t.Fatalf("%d alarms on %s/%s %s, want 1", len(found), w.namespace, w.metric, w.function)
	}
	return found[0]
}

// TestAlarms proves that each defect-6 alarm exists and watches the right
// metric with the chosen statistic, period, threshold, comparison and
// missing-data rule. Before alarms.go the stack had no alarm at all and
// every case failed.
func TestAlarms(t *testing.T) {
	const (
		greater    = "GreaterThanThreshold"
		breaching  = "breaching"
		notBreach  = "notBreaching"
		ignore     = "ignore"
		lambdaNS   = "AWS/Lambda"
		ownNS      = settings.DefaultMetricsNamespace
		errorsName = "Errors"
	)
	cases := []struct {
		name  string
		props vpcflowlogs.Props
		want  wantAlarm
	}{
		{"enabler errors", vpcflowlogs.Props{},
			wantAlarm{lambdaNS, errorsName, "Sum", "Enabler", time.Hour, 0, greater, notBreach}},
		{"summarizer errors", vpcflowlogs.Props{},
			wantAlarm{lambdaNS, errorsName, "Sum", "Summarizer", time.Hour, 0, greater, notBreach}},
		{"summarizer errors follow a longer schedule", vpcflowlogs.Props{SummarySchedule: "rate(3 hours)"},
			wantAlarm{lambdaNS, errorsName, "Sum", "Summarizer", 3 * time.Hour, 0, greater, notBreach}},
		{"digest staleness: two periods plus the settle lag, missing is breaching", vpcflowlogs.Props{},
			wantAlarm{ownNS, metrics.CheckpointAge, "Maximum", "", 2 * time.Hour, (2*time.Hour + 15*time.Minute).Seconds(), greater, breaching}},
		{"digest staleness follows the schedule and the lag", vpcflowlogs.Props{SummarySchedule: "rate(30 minutes)", SettleLag: 5 * time.Minute},
			wantAlarm{ownNS, metrics.CheckpointAge, "Maximum", "", time.Hour, (time.Hour + 5*time.Minute).Seconds(), greater, breaching}},
		{"digest staleness period is at most a day", vpcflowlogs.Props{SummarySchedule: "rate(1 day)"},
			wantAlarm{ownNS, metrics.CheckpointAge, "Maximum", "", 24 * time.Hour, (48*time.Hour + 15*time.Minute).Seconds(), greater, breaching}},
		{"uncovered VPCs over a sweep period", vpcflowlogs.Props{},
			wantAlarm{ownNS, metrics.UncoveredVPCs, "Maximum", "", 6 * time.Hour, 0, greater, ignore}},
		{"failed VPCs over a sweep period", vpcflowlogs.Props{SweepSchedule: "rate(30 minutes)"},
			wantAlarm{ownNS, metrics.FailedVPCs, "Maximum", "", 30 * time.Minute, 0, greater, ignore}},
		{"records lost (SKIPDATA) per digest", vpcflowlogs.Props{},
			wantAlarm{ownNS, metrics.SkippedRecords, "Sum", "", time.Hour, 0, greater, notBreach}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, tmpl := synth(t, c.props)
			a := alarmProps(t, tmpl, c.want)
			got := fmt.Sprintf("statistic=%v period=%v evaluationPeriods=%v threshold=%v comparison=%v missing=%v",
				a["Statistic"], a["Period"], a["EvaluationPeriods"], a["Threshold"], a["ComparisonOperator"], a["TreatMissingData"])
			want := fmt.Sprintf("statistic=%v period=%v evaluationPeriods=1 threshold=%v comparison=%v missing=%v",
				c.want.statistic, c.want.period.Seconds(), c.want.threshold, c.want.comparison, c.want.missing)
			if got != want {
				t.Errorf("alarm\n got %s\nwant %s", got, want)
			}
			dims := fmt.Sprint(a["Dimensions"])
			switch {
			case c.want.function != "" && !strings.Contains(dims, "FunctionName"):
				t.Errorf("dimensions %s, want FunctionName of the %s", dims, c.want.function)
			case c.want.function == "" && a["Dimensions"] != nil:
				t.Errorf("dimensions %s, want none: the functions emit their metrics without", dims)
			}
			if a["AlarmActions"] != nil || a["OKActions"] != nil {
				t.Errorf("actions %v %v without an alarm topic", a["AlarmActions"], a["OKActions"])
			}
		})
	}
	t.Run("six alarms, no more", func(t *testing.T) {
		_, tmpl := synth(t, vpcflowlogs.Props{})
		assert(t, "count", func() { tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(6)) })
	})
}

// TestAlarmTopic proves that with alarmTopicArn every alarm notifies the
// topic on ALARM and on OK (none did before: there was no alarm).
func TestAlarmTopic(t *testing.T) {
	topic := "arn:aws:sns:eu-west-1:123456789012:flow-alarms"
	_, tmpl := synth(t, vpcflowlogs.Props{AlarmTopicARN: topic})
	alarms := resources(tmpl, "AWS::CloudWatch::Alarm")
	if len(alarms) != 6 {
		t.Fatalf("%d alarms, want 6", len(alarms))
	}
	for id, a := range alarms {
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := fmt.Sprint(a[key]); got != "["+topic+"]" {
				t.Errorf("%s %s = %s, want [%s]", id, key, got, topic)
			}
		}
	}
}

// TestDashboardShowsAlarms proves the alarms appear on the dashboard: the
// alarm status widget names every alarm's ARN.
func TestDashboardShowsAlarms(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{})
	var body string
	for _, d := range resources(tmpl, "AWS::CloudWatch::Dashboard") {
		body = fmt.Sprint(d["DashboardBody"])
	}
	if !strings.Contains(body, `"type":"alarm"`) {
		t.Errorf("dashboard has no alarm status widget: %s", body)
	}
	for id := range resources(tmpl, "AWS::CloudWatch::Alarm") {
		if !strings.Contains(body, id) {
			t.Errorf("dashboard does not show alarm %s", id)
		}
	}
}
