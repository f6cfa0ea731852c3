package vpcflowlogs

import (
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Props configures VPCFlowLogs. A zero field takes its default: the
// settings package's Default* constants, the same the functions fall back
// to.
type Props struct {
	// TagKey selects the VPCs to cover. Default "FlowLogs".
	TagKey string
	// TagValues are the values of TagKey that select a VPC. nil means
	// ["enabled"] (settings.DefaultTagValues), as an unset value does for
	// the functions; a non-nil empty slice means any value of the key.
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
	// reading a window, 0 to 24 hours. Default 15 minutes.
	SettleLag time.Duration
	// MaxCatchUpHours bounds how far back one digest run reads, 1 to 744.
	// A checkpoint older than that skips ahead and the digest reports the
	// gap. Default 24.
	MaxCatchUpHours int
	// SummarizerMemoryMB is the summarizer's memory, 128 to 10,240 MB, which
	// sets its CPU. Default settings.DefaultSummarizerMemory: 256 MB when
	// flow logs go to CloudWatch Logs (a run waits on FilterLogEvents'
	// quota), 1,769 MB (one vCPU) when they go to S3 (a run decodes as fast
	// as its CPU allows). The enabler keeps 256 MB.
	SummarizerMemoryMB int
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
	// MetricsNamespace is the CloudWatch namespace both functions write
	// their metrics to, and the alarms and the dashboard read. Give each
	// instance in one account and region its own, or their metrics mix.
	// Default "VPCFlowLogs".
	MetricsNamespace string
	// DryRun makes the enabler plan and log without changing any flow log.
	DryRun bool
	// ComplianceMode covers every VPC whatever its tags, in both modes.
	// Default false: only the VPCs TagKey and TagValues select.
	ComplianceMode bool
	// Organization, with an ID, makes this the hub of an AWS Organization
	// (orgprops.go, hub.go). Default: single-account mode.
	Organization Organization
	// Destination is where flow logs deliver: settings.DestinationCloudWatchLogs
	// (the default) or settings.DestinationS3, configured by S3 (bucket.go).
	Destination string
	// S3 configures delivery to S3, read only when Destination is S3.
	S3 S3Options
	// Findings are the digest's findings thresholds; the zero value takes
	// settings.DefaultFindings.
	Findings settings.Findings
	// EnablerCode and SummarizerCode are the functions' code: a linux/arm64
	// executable named bootstrap. Default: built from this module's
	// lambda/enabler and lambda/summarizer by BuildBootstrap into the app's
	// output directory, which needs the go command on PATH.
	EnablerCode    awslambda.Code
	SummarizerCode awslambda.Code
}

// withDefaults returns p with every zero field set to its default.
func (p Props) withDefaults() Props {
	p.TagKey = or(p.TagKey, settings.DefaultTagKey)
	if p.TagValues == nil {
		p.TagValues = settings.DefaultTagValues()
	}
	p.LogGroupName = or(p.LogGroupName, settings.DefaultLogGroupName)
	p.RetentionDays = or(p.RetentionDays, settings.DefaultRetentionDays)
	p.TrafficType = or(p.TrafficType, settings.DefaultTrafficType)
	p.MaxAggregationInterval = or(p.MaxAggregationInterval, settings.DefaultMaxAggregationInterval)
	p.RemoveFlowLogsOnDelete = or(p.RemoveFlowLogsOnDelete, ptr(settings.DefaultRemoveOnDelete))
	p.RemoveFlowLogsOnUntag = or(p.RemoveFlowLogsOnUntag, ptr(settings.DefaultRemoveOnUntag))
	p.SweepSchedule = or(p.SweepSchedule, settings.DefaultSweepSchedule)
	p.SummarySchedule = or(p.SummarySchedule, settings.DefaultSummarySchedule)
	p.SettleLag = or(p.SettleLag, settings.DefaultSettleLag)
	p.MaxCatchUpHours = or(p.MaxCatchUpHours, settings.DefaultMaxCatchUpHours)
	p.MetricsNamespace = or(p.MetricsNamespace, settings.DefaultMetricsNamespace)
	p.Organization = p.Organization.withDefaults()
	p.Destination = or(p.Destination, settings.DefaultDestination)
	p.SummarizerMemoryMB = or(p.SummarizerMemoryMB, settings.DefaultSummarizerMemory(p.Destination))
	p.S3 = p.S3.withDefaults()
	if p.isS3() && p.Organization.ID != "" && p.S3.SourceOrganizationID == "" {
		// Organization mode with S3: one central bucket for every
		// account of the organization (orgbucket.go).
		p.S3.SourceOrganizationID = p.Organization.ID
	}
	p.Findings = or(p.Findings, settings.DefaultFindings())
	return p
}

// or is v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// validate checks every value of p, after withDefaults, with the rules the
// functions apply at run time (package settings), and reports all problems
// at once, each naming its field.
func (p Props) validate() error {
	checks := []struct {
		field string
		err   error
	}{
		{"TagKey", settings.ValidateTagKey(p.TagKey)},
		{"TagValues", settings.ValidateTagValues(p.TagValues)},
		{"LogGroupName", settings.ValidateLogGroupName(p.LogGroupName)},
		{"RetentionDays", settings.ValidateRetentionDays(p.RetentionDays)},
		{"TrafficType", settings.ValidateTrafficType(p.TrafficType)},
		{"MaxAggregationInterval", settings.ValidateMaxAggregationInterval(p.MaxAggregationInterval)},
		{"LogFormat", ifSet(p.LogFormat, settings.ValidateLogFormat)},
		{"KMSKeyARN", ifSet(p.KMSKeyARN, settings.ValidateKMSKeyARN)},
		{"SweepSchedule", settings.ValidateSchedule(p.SweepSchedule)},
		{"SummarySchedule", settings.ValidateSchedule(p.SummarySchedule)},
		{"SettleLag", settings.ValidateSettleLag(p.SettleLag)},
		{"MaxCatchUpHours", settings.ValidateMaxCatchUpHours(p.MaxCatchUpHours)},
		{"SummarizerMemoryMB", settings.ValidateFunctionMemoryMB(p.SummarizerMemoryMB)},
		{"SummaryTopicARN", ifSet(p.SummaryTopicARN, settings.ValidateTopicARN)},
		{"SummaryTopicKMSKeyARN", ifSet(p.SummaryTopicKMSKeyARN, func(key string) error {
			return settings.ValidateTopicKey(p.SummaryTopicARN, key)
		})},
		{"AlarmTopicARN", ifSet(p.AlarmTopicARN, settings.ValidateTopicARN)},
		{"MetricsNamespace", settings.ValidateMetricsNamespace(p.MetricsNamespace)},
		{"Destination", settings.ValidateDestination(p.Destination)},
		{"Findings", p.Findings.Validate()},
	}
	if p.isS3() {
		checks = append(checks, p.S3.checks()...)
	}
	if p.isS3() && p.Organization.ID != "" && p.S3.SourceOrganizationID != p.Organization.ID {
		// The hub's central bucket admits the organization's accounts
		// (orgbucket.go): another organization's would be refused by
		// the spokes' delivery, or admit accounts the hub does not cover.
		checks = append(checks, struct {
			field string
			err   error
		}{"S3.SourceOrganizationID", fmt.Errorf("organization mode delivers to a bucket of its own organization: %q is not Organization.ID %q", p.S3.SourceOrganizationID, p.Organization.ID)})
	}
	var errs []error
	for _, c := range checks {
		if c.err != nil {
			errs = append(errs, fmt.Errorf("vpcflowlogs.Props.%s: %w", c.field, c.err))
		}
	}
	return errors.Join(append(errs, p.Organization.validate())...)
}

// ifSet checks an optional value: empty is valid.
func ifSet(v string, validate func(string) error) error {
	if v == "" {
		return nil
	}
	return validate(v)
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
