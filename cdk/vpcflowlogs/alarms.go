package vpcflowlogs

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

// Bounds of an alarm's period. CloudWatch takes whole minutes; a day is the
// longest period kept here, so that period × evaluation periods stays
// within CloudWatch's limits (one day below an hour, seven days above) and
// a long schedule still alarms within a day.
const (
	minAlarmPeriod = time.Minute
	maxAlarmPeriod = 24 * time.Hour
	// errorAlarmPeriod keeps a failed run red on the dashboard for an hour
	// instead of flipping back to OK at the next five-minute period.
	errorAlarmPeriod = time.Hour
)

// alarmSpec is one alarm, with the reason for each choice in its comment
// where it is defined.
type alarmSpec struct {
	id, description string
	metric          awscloudwatch.IMetric
	threshold       float64
	comparison      awscloudwatch.ComparisonOperator
	missing         awscloudwatch.TreatMissingData
}

// addAlarms defines the alarms that say when anything stops: either
// function failing, the digests falling behind, tagged VPCs left without a
// flow log, flow log changes failing, and AWS losing records. With
// p.AlarmTopicARN they notify that topic on ALARM and on OK. extra are
// more alarms of the same kind (the hub's, hub.go).
func addAlarms(c *VPCFlowLogs, p Props, extra ...alarmSpec) []awscloudwatch.Alarm {
	summaryPeriod := schedulePeriod(p.SummarySchedule)
	sweepPeriod := alarmPeriod(schedulePeriod(p.SweepSchedule))
	specs := []alarmSpec{
		// Sum of failed invocations: one is enough to look. With no
		// invocation Lambda writes no datapoint, which is no error.
		{"EnablerErrors", "The enabler function failed: see its log group for the error. Flow logs may be missing until a run succeeds.",
			functionErrors(c.Enabler, errorAlarmPeriod), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING},
		{"SummarizerErrors", "The summarizer function failed: see its log group for the error. Digests are late until a run succeeds.",
			functionErrors(c.Summarizer, max(errorAlarmPeriod, alarmPeriod(summaryPeriod))), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING},
		// Every run, empty ones included, reports the checkpoint's age,
		// and every window of two schedule periods holds a run. The
		// Maximum over that window above two periods plus the settle lag
		// means the digests stopped advancing; no datapoint at all means
		// the summarizer stopped running, which is as bad: breaching.
		{"DigestStale", "The digests stopped: the checkpoint is older than two schedule periods plus the settle lag, or the summarizer did not run. Check the summarizer's errors and its schedule rule.",
			ownMetric(p.MetricsNamespace, metrics.CheckpointAge, "Maximum", alarmPeriod(2*summaryPeriod)),
			(2*summaryPeriod + p.SettleLag).Seconds(), awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_BREACHING},
		// Coverage comes only from runs that see every tagged VPC (the
		// sweep, the custom resource, DeleteFlowLogs events), at least one
		// a sweep period. Maximum: one run leaving a VPC uncovered is
		// enough. A period without such a run keeps the last state
		// (ignore): coverage is unknown, not restored.
		{"UncoveredVPCs", "A full reconcile left tagged VPCs without a flow log: see the enabler's \"flow log action\" log lines for which and why (for example two flow logs already on the VPC).",
			ownMetric(p.MetricsNamespace, metrics.UncoveredVPCs, "Maximum", sweepPeriod), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_IGNORE},
		// Every run that changes anything reports its failed VPCs; same
		// period, statistic and reasoning as coverage.
		{"FailedVPCs", "Creating or deleting flow logs failed for some VPCs: see the enabler's \"flow log action\" log lines with an error.",
			ownMetric(p.MetricsNamespace, metrics.FailedVPCs, "Maximum", sweepPeriod), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_IGNORE},
		// Records AWS could not capture (SKIPDATA), summed per digest
		// period. No digest, no datapoint: DigestStale covers that.
		{"RecordsLost", "AWS lost flow log records (SKIPDATA) in the last digest: the digest names the interfaces and windows.",
			ownMetric(p.MetricsNamespace, metrics.SkippedRecords, "Sum", alarmPeriod(summaryPeriod)), 0, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING},
	}
	specs = append(specs, extra...)
	var topic awssns.ITopic
	if p.AlarmTopicARN != "" {
		topic = awssns.Topic_FromTopicArn(c.Construct, jsii.String("AlarmTopic"), jsii.String(p.AlarmTopicARN))
	}
	alarms := make([]awscloudwatch.Alarm, 0, len(specs))
	for _, s := range specs {
		a := awscloudwatch.NewAlarm(c.Construct, jsii.String(s.id+"Alarm"), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(s.description),
			Metric:             s.metric,
			Threshold:          jsii.Number(s.threshold),
			ComparisonOperator: s.comparison,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   s.missing,
		})
		if topic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
			a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
		}
		alarms = append(alarms, a)
	}
	return alarms
}

// alarmPeriod rounds d up to whole minutes within the bounds above.
func alarmPeriod(d time.Duration) time.Duration {
	d = (d + time.Minute - 1).Truncate(time.Minute)
	return min(max(d, minAlarmPeriod), maxAlarmPeriod)
}

func functionErrors(fn awslambda.Function, period time.Duration) awscloudwatch.IMetric {
	return fn.MetricErrors(&awscloudwatch.MetricOptions{
		Statistic: jsii.String("Sum"),
		Period:    awscdk.Duration_Seconds(jsii.Number(period.Seconds())),
	})
}

// ownMetric is one of the functions' EMF metrics: no dimensions, in the
// namespace both functions write to.
func ownMetric(namespace, name, statistic string, period time.Duration) awscloudwatch.IMetric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(namespace),
		MetricName: jsii.String(name),
		Statistic:  jsii.String(statistic),
		Period:     awscdk.Duration_Seconds(jsii.Number(period.Seconds())),
	})
}
