package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Context keys, with their defaults in cdk.json.
const (
	keyTagKey                 = "tagKey"
	keyTagValues              = "tagValues"
	keyLogGroupName           = "logGroupName"
	keyRetentionDays          = "retentionDays"
	keyTrafficType            = "trafficType"
	keyMaxAggregationInterval = "maxAggregationInterval"
	keyLogFormat              = "logFormat"
	keyKMSKeyARN              = "kmsKeyArn"
	keyRemoveOnDelete         = "removeFlowLogsOnDelete"
	keyRemoveOnUntag          = "removeFlowLogsOnUntag"
	keySweepSchedule          = "sweepSchedule"
	keySummarySchedule        = "summarySchedule"
	keySummaryTopicARN        = "summaryTopicArn"
	keySummaryTopicKMSKeyARN  = "summaryTopicKmsKeyArn"
	keyAlarmTopicARN          = "alarmTopicArn"
	keySettleLagMinutes       = "settleLagMinutes"
	keyMaxCatchUpHours        = "maxCatchUpHours"
	keyMetricsNamespace       = "metricsNamespace"
	keyDryRun                 = "dryRun"
	keyComplianceMode         = "complianceMode"
	keySummarizerMemoryMB     = "summarizerMemoryMB"
	// Organization mode (cdk/vpcflowlogs/orgprops.go): an empty
	// organizationId is single-account mode.
	keyOrganizationID         = "organizationId"
	keyOrganizationTargets    = "organizationTargets"
	keyOrganizationRegions    = "organizationRegions"
	keyOrganizationDeployedBy = "organizationDeployedBy"
)

// contextKeys are every key the app reads.
var contextKeys = []string{keyTagKey, keyTagValues, keyLogGroupName, keyRetentionDays, keyTrafficType,
	keyMaxAggregationInterval, keyLogFormat, keyKMSKeyARN, keyRemoveOnDelete, keyRemoveOnUntag, keySweepSchedule,
	keySummarySchedule, keySummaryTopicARN, keySummaryTopicKMSKeyARN, keyAlarmTopicARN, keySettleLagMinutes,
	keyMaxCatchUpHours, keyMetricsNamespace, keyDryRun, keyComplianceMode, keySummarizerMemoryMB, keyOrganizationID, keyOrganizationTargets,
	keyOrganizationRegions, keyOrganizationDeployedBy,
	settings.CtxFindingsScanPorts, settings.CtxFindingsSweepHosts, settings.CtxFindingsBaselineDays,
	settings.CtxFindingsEgressFactor, settings.CtxFindingsEgressMinMiB}

// PropsFromContext reads every context key through get (the app node's
// TryGetContext) with the settings package's reader and validators, so the
// rules are the functions' own. Values come typed from cdk.json and as
// strings from `-c key=value`; both are accepted. A key that is absent takes
// the settings default. Every bad value is reported, each naming its key,
// the value and what is allowed; New then checks the Props as a whole.
func PropsFromContext(get func(key *string) any) (vpcflowlogs.Props, error) {
	r := settings.NewReader("context", settings.Values(func(key string) any { return get(&key) }))
	p := vpcflowlogs.Props{
		TagKey:                 r.String(keyTagKey, settings.DefaultTagKey, settings.ValidateTagKey),
		TagValues:              r.List(keyTagValues, settings.DefaultTagValues(), settings.ValidateTagValues),
		LogGroupName:           r.String(keyLogGroupName, settings.DefaultLogGroupName, settings.ValidateLogGroupName),
		RetentionDays:          r.Int(keyRetentionDays, settings.DefaultRetentionDays, settings.ValidateRetentionDays),
		TrafficType:            r.String(keyTrafficType, settings.DefaultTrafficType, settings.ValidateTrafficType),
		MaxAggregationInterval: r.Int(keyMaxAggregationInterval, settings.DefaultMaxAggregationInterval, settings.ValidateMaxAggregationInterval),
		LogFormat:              r.String(keyLogFormat, "", settings.ValidateLogFormat),
		KMSKeyARN:              r.String(keyKMSKeyARN, "", settings.ValidateKMSKeyARN),
		RemoveFlowLogsOnDelete: ptr(r.Bool(keyRemoveOnDelete, settings.DefaultRemoveOnDelete)),
		RemoveFlowLogsOnUntag:  ptr(r.Bool(keyRemoveOnUntag, settings.DefaultRemoveOnUntag)),
		SweepSchedule:          r.String(keySweepSchedule, settings.DefaultSweepSchedule, settings.ValidateSchedule),
		SummarySchedule:        r.String(keySummarySchedule, settings.DefaultSummarySchedule, settings.ValidateSchedule),
		SummaryTopicARN:        r.String(keySummaryTopicARN, "", settings.ValidateTopicARN),
		AlarmTopicARN:          r.String(keyAlarmTopicARN, "", settings.ValidateTopicARN),
		SettleLag:              time.Duration(r.Int(keySettleLagMinutes, int(settings.DefaultSettleLag/time.Minute), validateSettleLagMinutes)) * time.Minute,
		MaxCatchUpHours:        r.Int(keyMaxCatchUpHours, settings.DefaultMaxCatchUpHours, settings.ValidateMaxCatchUpHours),
		MetricsNamespace:       r.String(keyMetricsNamespace, settings.DefaultMetricsNamespace, settings.ValidateMetricsNamespace),
		DryRun:                 r.Bool(keyDryRun, false),
		ComplianceMode:         r.Bool(keyComplianceMode, false),
		Organization: vpcflowlogs.Organization{
			ID:         r.String(keyOrganizationID, "", settings.ValidateOrganizationID),
			Targets:    r.List(keyOrganizationTargets, []string{}, settings.ValidateOrganizationTargets),
			Regions:    r.List(keyOrganizationRegions, []string{}, settings.ValidateRegions),
			DeployedBy: r.String(keyOrganizationDeployedBy, settings.DefaultDeployedBy, settings.ValidateDeployedBy),
		},
	}
	// The key is checked against the topic: SNS needs it in the topic's
	// region, and a key without a topic is a mistake worth naming.
	p.SummaryTopicKMSKeyARN = r.String(keySummaryTopicKMSKeyARN, "", func(key string) error {
		return settings.ValidateTopicKey(p.SummaryTopicARN, key)
	})
	o := p.Organization
	if err := settings.ValidateOrganization(o.ID, o.Targets, o.Regions); err != nil {
		return p, errors.Join(r.Err(), fmt.Errorf("context %s=%q, %s=%q, %s=%q: %w",
			keyOrganizationID, o.ID, keyOrganizationTargets, o.Targets, keyOrganizationRegions, o.Regions, err))
	}
	p.Destination, p.S3 = destinationFromContext(r)
	p.SummarizerMemoryMB = r.Int(keySummarizerMemoryMB, settings.DefaultSummarizerMemory(p.Destination), settings.ValidateFunctionMemoryMB)
	findings, err := settings.FindingsFromContext(func(key string) any { return get(&key) })
	p.Findings = findings
	return p, errors.Join(r.Err(), err)
}

// validateSettleLagMinutes is settings.ValidateSettleLag for the context's
// whole minutes, without letting a huge number wrap around into range.
func validateSettleLagMinutes(minutes int) error {
	d := time.Duration(minutes) * time.Minute
	if d/time.Minute != time.Duration(minutes) {
		d = settings.MaxSettleLag + time.Minute
	}
	return settings.ValidateSettleLag(d)
}

func ptr[T any](v T) *T { return &v }
