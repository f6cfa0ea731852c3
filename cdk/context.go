package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	keyDryRun                 = "dryRun"
)

// PropsFromContext reads every context key through get (the app node's
// TryGetContext). Values come typed from cdk.json and as strings from
// `-c key=value`; both are accepted. Every bad value is reported, each
// naming its key, the value and what is allowed.
func PropsFromContext(get func(key *string) any) (vpcflowlogs.Props, error) {
	c := contextReader{get: get}
	p := vpcflowlogs.Props{
		TagKey:                 c.str(keyTagKey, settings.ValidateTagKey),
		TagValues:              c.list(keyTagValues),
		LogGroupName:           c.str(keyLogGroupName, settings.ValidateLogGroupName),
		RetentionDays:          c.integer(keyRetentionDays, settings.ValidateRetentionDays),
		TrafficType:            c.str(keyTrafficType, settings.ValidateTrafficType),
		MaxAggregationInterval: c.integer(keyMaxAggregationInterval, settings.ValidateMaxAggregationInterval),
		LogFormat:              c.str(keyLogFormat, settings.ValidateLogFormat),
		KMSKeyARN:              c.str(keyKMSKeyARN, settings.ValidateKMSKeyARN),
		RemoveFlowLogsOnDelete: c.boolean(keyRemoveOnDelete),
		RemoveFlowLogsOnUntag:  c.boolean(keyRemoveOnUntag),
		SweepSchedule:          c.str(keySweepSchedule, settings.ValidateSchedule),
		SummarySchedule:        c.str(keySummarySchedule, settings.ValidateSchedule),
		SummaryTopicARN:        c.str(keySummaryTopicARN, settings.ValidateTopicARN),
		AlarmTopicARN:          c.str(keyAlarmTopicARN, settings.ValidateTopicARN),
		SettleLag:              time.Duration(c.integer(keySettleLagMinutes, validateSettleLag)) * time.Minute,
		MaxCatchUpHours:        c.integer(keyMaxCatchUpHours, settings.ValidateMaxCatchUpHours),
	}
	if b := c.boolean(keyDryRun); b != nil {
		p.DryRun = *b
	}
	if p.TagValues != nil {
		c.check(keyTagValues, p.TagValues, settings.ValidateTagValues(p.TagValues))
	}
	// The key is checked against the topic: SNS needs it in the topic's
	// region, and a key without a topic is a mistake worth naming.
	p.SummaryTopicKMSKeyARN = c.str(keySummaryTopicKMSKeyARN, func(key string) error {
		return settings.ValidateTopicKey(p.SummaryTopicARN, key)
	})
	return p, errors.Join(c.errs...)
}

type contextReader struct {
	get  func(key *string) any
	errs []error
}

func (c *contextReader) check(key string, value any, err error) {
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("context %s=%v: %w", key, display(value), err))
	}
}

func display(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// lookup returns the raw value, or nil when the key is absent or empty.
func (c *contextReader) lookup(key string) any {
	v := c.get(&key)
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	return v
}

func (c *contextReader) str(key string, validate func(string) error) string {
	v := c.lookup(key)
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.check(key, v, errors.New("want a string"))
		return ""
	}
	c.check(key, s, validate(s))
	return s
}

func (c *contextReader) integer(key string, validate func(int) error) int {
	v := c.lookup(key)
	if v == nil {
		return 0
	}
	var n int
	switch t := v.(type) {
	case float64:
		if t != float64(int(t)) {
			c.check(key, v, errors.New("want a whole number"))
			return 0
		}
		n = int(t)
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			c.check(key, v, errors.New("want a whole number"))
			return 0
		}
		n = i
	default:
		c.check(key, v, errors.New("want a whole number"))
		return 0
	}
	c.check(key, v, validate(n))
	return n
}

func (c *contextReader) boolean(key string) *bool {
	v := c.lookup(key)
	if v == nil {
		return nil
	}
	switch t := v.(type) {
	case bool:
		return &t
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(t)); err == nil {
			return &b
		}
	}
	c.check(key, v, errors.New("want true or false"))
	return nil
}

// list reads a list of strings: a JSON array in cdk.json, and on the command
// line either a JSON array (-c 'tagValues=["a","b"]') or a comma-separated
// string (-c tagValues=a,b). An empty array means any value. A key that is
// absent yields nil.
func (c *contextReader) list(key string) []string {
	v := c.lookup(key)
	l, err := settings.StringList(v)
	c.check(key, v, err)
	return l
}

func validateSettleLag(minutes int) error {
	if minutes < 0 || minutes > 24*60 {
		return errors.New("want minutes from 0 to 1440")
	}
	return nil
}
