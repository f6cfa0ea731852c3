package vpcflowlogs

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Defaults of Props. A zero field in Props takes its default.
const (
	DefaultTagKey                 = "FlowLogs"
	DefaultTagValue               = "enabled"
	DefaultLogGroupName           = "/vpc/flow-logs"
	DefaultRetentionDays          = 365
	DefaultTrafficType            = settings.TrafficAll
	DefaultMaxAggregationInterval = 600
	DefaultSweepSchedule          = "rate(6 hours)"
	DefaultSummarySchedule        = "rate(1 hour)"
	DefaultSettleLag              = 15 * time.Minute
	DefaultEnablerAsset           = "build/enabler"
	DefaultSummarizerAsset        = "build/summarizer"
)

// Props configures VPCFlowLogs.
type Props struct {
	// TagKey selects the VPCs to cover. Default "FlowLogs".
	TagKey string
	// TagValues are the values of TagKey that select a VPC. nil means
	// ["enabled"]; a non-nil empty slice means any value of the key.
	TagValues []string
	// LogGroupName is the flow log group. Default "/vpc/flow-logs". The
	// digest group is LogGroupName + "/digests".
	LogGroupName string
	// RetentionDays of both log groups. Default 365.
	RetentionDays int
	// TrafficType is ALL, ACCEPT or REJECT. Default ALL.
	TrafficType string
	// MaxAggregationInterval is 60 or 600 seconds. Default 600.
	MaxAggregationInterval int
	// LogFormat is the flow log record format. Default: the AWS default
	// (version 2) format.
	LogFormat string
	// KMSKeyARN, when set, encrypts both log groups with that key. Its key
	// policy must allow the CloudWatch Logs service principal (see README).
	KMSKeyARN string
	// RemoveFlowLogsOnDelete: deleting the stack removes the flow logs it
	// created. Default true.
	RemoveFlowLogsOnDelete *bool
	// RemoveFlowLogsOnUntag: untagging a VPC removes the flow log this stack
	// created on it. Default true.
	RemoveFlowLogsOnUntag *bool
	// SweepSchedule is the EventBridge schedule of the full reconcile.
	// Default "rate(6 hours)".
	SweepSchedule string
	// SummarySchedule is the EventBridge schedule of the digest. Default
	// "rate(1 hour)".
	SummarySchedule string
	// SettleLag is how long the digest waits for late delivery before
	// reading a window. Default 15 minutes.
	SettleLag time.Duration
	// MaxCatchUpHours bounds how far back one digest run reads, 1 to 744.
	// A checkpoint older than that skips ahead and the digest reports the
	// gap. Default 24 (settings.DefaultMaxCatchUpHours).
	MaxCatchUpHours int
	// SummaryTopicARN, when set, receives a plain-text digest on every run.
	SummaryTopicARN string
	// SummaryTopicKMSKeyARN is the KMS key of SummaryTopicARN when the topic
	// is encrypted: the summarizer is then allowed kms:GenerateDataKey and
	// kms:Decrypt on that key through SNS only. Default: none (an
	// unencrypted topic, or one under the AWS managed key alias/aws/sns).
	SummaryTopicKMSKeyARN string
	// AlarmTopicARN, when set, receives the alarms' ALARM and OK
	// notifications. Default: none (the alarms only show on the dashboard).
	AlarmTopicARN string
	// DryRun makes the enabler plan and log without changing any flow log.
	DryRun bool
	// EnablerCode and SummarizerCode are the functions' code. Default: the
	// bootstrap built by `make build` under build/enabler and
	// build/summarizer.
	EnablerCode    awslambda.Code
	SummarizerCode awslambda.Code
}

// withDefaults returns p with every zero field set to its default, and
// checks every value with the same rules the functions apply at run time.
func (p Props) withDefaults() (Props, error) {
	if p.TagKey == "" {
		p.TagKey = DefaultTagKey
	}
	if p.TagValues == nil {
		p.TagValues = []string{DefaultTagValue}
	}
	if p.LogGroupName == "" {
		p.LogGroupName = DefaultLogGroupName
	}
	if p.RetentionDays == 0 {
		p.RetentionDays = DefaultRetentionDays
	}
	if p.TrafficType == "" {
		p.TrafficType = DefaultTrafficType
	}
	if p.MaxAggregationInterval == 0 {
		p.MaxAggregationInterval = DefaultMaxAggregationInterval
	}
	if p.RemoveFlowLogsOnDelete == nil {
		p.RemoveFlowLogsOnDelete = ptr(true)
	}
	if p.RemoveFlowLogsOnUntag == nil {
		p.RemoveFlowLogsOnUntag = ptr(true)
	}
	if p.SweepSchedule == "" {
		p.SweepSchedule = DefaultSweepSchedule
	}
	if p.SummarySchedule == "" {
		p.SummarySchedule = DefaultSummarySchedule
	}
	if p.SettleLag == 0 {
		p.SettleLag = DefaultSettleLag
	}
	if p.MaxCatchUpHours == 0 {
		p.MaxCatchUpHours = settings.DefaultMaxCatchUpHours
	}
	if p.EnablerCode == nil {
		p.EnablerCode = awslambda.Code_FromAsset(ptr(DefaultEnablerAsset), nil)
	}
	if p.SummarizerCode == nil {
		p.SummarizerCode = awslambda.Code_FromAsset(ptr(DefaultSummarizerAsset), nil)
	}
	type check struct {
		field string
		err   error
	}
	checks := []check{
		{"TagKey", settings.ValidateTagKey(p.TagKey)},
		{"TagValues", settings.ValidateTagValues(p.TagValues)},
		{"LogGroupName", settings.ValidateLogGroupName(p.LogGroupName)},
		{"RetentionDays", settings.ValidateRetentionDays(p.RetentionDays)},
		{"TrafficType", settings.ValidateTrafficType(p.TrafficType)},
		{"MaxAggregationInterval", settings.ValidateMaxAggregationInterval(p.MaxAggregationInterval)},
		{"SweepSchedule", settings.ValidateSchedule(p.SweepSchedule)},
		{"SummarySchedule", settings.ValidateSchedule(p.SummarySchedule)},
		{"MaxCatchUpHours", settings.ValidateMaxCatchUpHours(p.MaxCatchUpHours)},
	}
	if p.LogFormat != "" {
		checks = append(checks, check{"LogFormat", settings.ValidateLogFormat(p.LogFormat)})
	}
	if p.KMSKeyARN != "" {
		checks = append(checks, check{"KMSKeyARN", settings.ValidateKMSKeyARN(p.KMSKeyARN)})
	}
	if p.SummaryTopicARN != "" {
		checks = append(checks, check{"SummaryTopicARN", settings.ValidateTopicARN(p.SummaryTopicARN)})
	}
	if p.SummaryTopicKMSKeyARN != "" {
		checks = append(checks, check{"SummaryTopicKMSKeyARN", settings.ValidateTopicKey(p.SummaryTopicARN, p.SummaryTopicKMSKeyARN)})
	}
	if p.AlarmTopicARN != "" {
		checks = append(checks, check{"AlarmTopicARN", settings.ValidateTopicARN(p.AlarmTopicARN)})
	}
	for _, c := range checks {
		if c.err != nil {
			return p, fmt.Errorf("vpcflowlogs.Props.%s: %w", c.field, c.err)
		}
	}
	if p.SettleLag < 0 {
		return p, fmt.Errorf("vpcflowlogs.Props.SettleLag: %s is negative", p.SettleLag)
	}
	return p, nil
}

// schedulePeriod is the period of a rate() schedule, or an hour for cron().
func schedulePeriod(expr string) time.Duration {
	if d, err := settings.ScheduleRate(expr); err == nil {
		return d
	}
	return time.Hour
}

func ptr[T any](v T) *T { return &v }

// retentionDays maps a number of days to the CDK's enum, in the order of
// settings.RetentionDays.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}
