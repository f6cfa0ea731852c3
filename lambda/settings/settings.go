package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OwnerTagKey is the tag the enabler puts on every flow log it creates. Its
// value is the Owner of the deployment (the stack id), so two deployments
// never touch each other's flow logs, and the enabler's IAM policy can allow
// DeleteFlowLogs only on flow logs that carry it.
const OwnerTagKey = "vpc-flow-logs:owner"

// Environment variables the stack sets on the enabler.
const (
	EnvTagKey                 = "TAG_KEY"
	EnvTagValues              = "TAG_VALUES" // a JSON array of strings (see StringList); [] means any value
	EnvLogGroupName           = "LOG_GROUP_NAME"
	EnvDeliveryRoleARN        = "DELIVERY_ROLE_ARN"
	EnvTrafficType            = "TRAFFIC_TYPE"
	EnvMaxAggregationInterval = "MAX_AGGREGATION_INTERVAL"
	EnvLogFormat              = "LOG_FORMAT" // empty means the AWS default format
	EnvRemoveOnDelete         = "REMOVE_FLOW_LOGS_ON_DELETE"
	EnvRemoveOnUntag          = "REMOVE_FLOW_LOGS_ON_UNTAG"
	EnvOwner                  = "OWNER"
	EnvDryRun                 = "DRY_RUN"
	EnvMetricsNamespace       = "METRICS_NAMESPACE"
	// EnvEnablerRoleARN is the enabler's own execution role, so that it
	// can tell its own DeleteFlowLogs calls from anyone else's in
	// CloudTrail events. Optional: without it every such event reconciles.
	EnvEnablerRoleARN = "ENABLER_ROLE_ARN"
)

// Environment variables the stack sets on the summarizer (it also reads
// EnvLogGroupName and EnvMetricsNamespace).
const (
	EnvSummaryLogGroupName = "SUMMARY_LOG_GROUP_NAME"
	EnvStateTable          = "STATE_TABLE"     // the DynamoDB table of the run state
	EnvSourceAccount       = "SOURCE_ACCOUNT"  // the account of the flow log group (12 digits)
	EnvSourceRegion        = "SOURCE_REGION"   // the region of the flow log group
	EnvSettleLag           = "SETTLE_LAG"      // a Go duration, e.g. 15m
	EnvSchedulePeriod      = "SCHEDULE_PERIOD" // a Go duration: the window of the first run
	EnvMaxCatchUp          = "MAX_CATCH_UP"    // a Go duration in whole hours, e.g. 24h
	EnvTopicARN            = "TOPIC_ARN"       // optional SNS topic for a plain-text digest
	EnvTopK                = "TOP_K"           // length of each top-N list in the digest
)

// Custom resource properties of the enabler. CloudFormation delivers every
// scalar property as a string, so numbers and booleans arrive as "600" and
// "true".
const (
	PropTagKey                 = "TagKey"
	PropTagValues              = "TagValues"
	PropLogGroupName           = "LogGroupName"
	PropDeliveryRoleARN        = "DeliveryRoleArn"
	PropTrafficType            = "TrafficType"
	PropMaxAggregationInterval = "MaxAggregationInterval"
	PropLogFormat              = "LogFormat"
	PropRemoveOnDelete         = "RemoveFlowLogsOnDelete"
	PropRemoveOnUntag          = "RemoveFlowLogsOnUntag"
	PropOwner                  = "Owner"
	PropDryRun                 = "DryRun"
)

// DefaultMetricsNamespace is the CloudWatch namespace of both functions'
// embedded metrics.
const DefaultMetricsNamespace = "VPCFlowLogs"

// Enabler is the configuration of one reconcile run.
type Enabler struct {
	TagKey                 string
	TagValues              []string // empty: any value of TagKey
	LogGroupName           string
	DeliveryRoleARN        string
	TrafficType            string
	MaxAggregationInterval int
	LogFormat              string // empty: the AWS default format
	RemoveOnDelete         bool
	RemoveOnUntag          bool
	Owner                  string
	DryRun                 bool
	MetricsNamespace       string
	RoleARN                string // the enabler's own role; empty: unknown
}

// Validate checks every field and reports all problems at once.
func (e Enabler) Validate() error { return e.validate(keys{}) }

// keys names each field's source (an environment variable or a property),
// so that an error says where the bad value came from.
type keys struct {
	tagKey, tagValues, logGroupName, deliveryRoleARN, trafficType, interval, logFormat, owner string
}

var (
	envKeys = keys{EnvTagKey, EnvTagValues, EnvLogGroupName, EnvDeliveryRoleARN, EnvTrafficType,
		EnvMaxAggregationInterval, EnvLogFormat, EnvOwner}
	propKeys = keys{PropTagKey, PropTagValues, PropLogGroupName, PropDeliveryRoleARN, PropTrafficType,
		PropMaxAggregationInterval, PropLogFormat, PropOwner}
)

func (e Enabler) validate(k keys) error {
	var errs []error
	check := func(key string, err error) {
		switch {
		case err == nil:
		case key == "":
			errs = append(errs, err)
		default:
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	check(k.tagKey, ValidateTagKey(e.TagKey))
	check(k.tagValues, ValidateTagValues(e.TagValues))
	check(k.logGroupName, ValidateLogGroupName(e.LogGroupName))
	check(k.trafficType, ValidateTrafficType(e.TrafficType))
	check(k.interval, ValidateMaxAggregationInterval(e.MaxAggregationInterval))
	if !strings.HasPrefix(e.DeliveryRoleARN, "arn:") || !strings.Contains(e.DeliveryRoleARN, ":role/") {
		check(k.deliveryRoleARN, fmt.Errorf("delivery role ARN %q is not an IAM role ARN", e.DeliveryRoleARN))
	}
	if e.LogFormat != "" {
		check(k.logFormat, ValidateLogFormat(e.LogFormat))
	}
	if e.Owner == "" {
		check(k.owner, errors.New("owner is empty"))
	}
	return errors.Join(errs...)
}

// EnablerFromEnv reads the enabler's configuration from the environment
// variables the stack sets; getenv is os.Getenv outside tests.
func EnablerFromEnv(getenv func(string) string) (Enabler, error) {
	r := reader{get: func(k string) (any, bool) {
		v := getenv(k)
		return v, v != ""
	}}
	e := Enabler{
		TagKey:                 r.str(EnvTagKey, ""),
		TagValues:              r.list(EnvTagValues),
		LogGroupName:           r.str(EnvLogGroupName, ""),
		DeliveryRoleARN:        r.str(EnvDeliveryRoleARN, ""),
		TrafficType:            r.str(EnvTrafficType, TrafficAll),
		MaxAggregationInterval: r.integer(EnvMaxAggregationInterval, 600),
		LogFormat:              r.str(EnvLogFormat, ""),
		RemoveOnDelete:         r.boolean(EnvRemoveOnDelete, true),
		RemoveOnUntag:          r.boolean(EnvRemoveOnUntag, true),
		Owner:                  r.str(EnvOwner, ""),
		DryRun:                 r.boolean(EnvDryRun, false),
		MetricsNamespace:       r.str(EnvMetricsNamespace, DefaultMetricsNamespace),
		RoleARN:                r.str(EnvEnablerRoleARN, ""),
	}
	if e.RoleARN != "" && (!strings.HasPrefix(e.RoleARN, "arn:") || !strings.Contains(e.RoleARN, ":role/")) {
		r.fail(EnvEnablerRoleARN, e.RoleARN, "want an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
	}
	if err := errors.Join(append(r.errs, e.validate(envKeys))...); err != nil {
		return Enabler{}, fmt.Errorf("enabler configuration from the environment: %w", err)
	}
	return e, nil
}

// EnablerFromProperties reads the enabler's configuration from custom
// resource properties. Owner falls back to the event's stack id, and the
// metrics namespace to base's, so CloudFormation and the other entry points
// agree.
func EnablerFromProperties(props map[string]any, base Enabler) (Enabler, error) {
	r := reader{get: func(k string) (any, bool) {
		v, ok := props[k]
		return v, ok && v != nil && v != ""
	}}
	e := Enabler{
		TagKey:                 r.str(PropTagKey, ""),
		TagValues:              r.list(PropTagValues),
		LogGroupName:           r.str(PropLogGroupName, ""),
		DeliveryRoleARN:        r.str(PropDeliveryRoleARN, ""),
		TrafficType:            r.str(PropTrafficType, TrafficAll),
		MaxAggregationInterval: r.integer(PropMaxAggregationInterval, 600),
		LogFormat:              r.str(PropLogFormat, ""),
		RemoveOnDelete:         r.boolean(PropRemoveOnDelete, true),
		RemoveOnUntag:          r.boolean(PropRemoveOnUntag, true),
		Owner:                  r.str(PropOwner, base.Owner),
		DryRun:                 r.boolean(PropDryRun, base.DryRun),
		MetricsNamespace:       base.MetricsNamespace,
	}
	if e.MetricsNamespace == "" {
		e.MetricsNamespace = DefaultMetricsNamespace
	}
	if err := errors.Join(append(r.errs, e.validate(propKeys))...); err != nil {
		return Enabler{}, fmt.Errorf("custom resource properties: %w", err)
	}
	return e, nil
}

// Summarizer is the configuration of the digest function.
type Summarizer struct {
	LogGroupName        string
	SummaryLogGroupName string
	// StateTable is the DynamoDB table holding the checkpoint; Account and
	// Region name the flow log group's account and region in its key.
	StateTable     string
	Account        string
	Region         string
	SettleLag      time.Duration
	SchedulePeriod time.Duration
	// MaxCatchUp bounds how far back one run reads: an older checkpoint
	// skips ahead, and the digest says so.
	MaxCatchUp       time.Duration
	TopicARN         string // empty: no SNS message
	TopK             int
	MetricsNamespace string
}

// SummarizerFromEnv reads the summarizer's configuration from the
// environment variables the stack sets; getenv is os.Getenv outside tests.
func SummarizerFromEnv(getenv func(string) string) (Summarizer, error) {
	r := reader{get: func(k string) (any, bool) {
		v := getenv(k)
		return v, v != ""
	}}
	s := Summarizer{
		LogGroupName:        r.str(EnvLogGroupName, ""),
		SummaryLogGroupName: r.str(EnvSummaryLogGroupName, ""),
		StateTable:          r.str(EnvStateTable, ""),
		Account:             r.str(EnvSourceAccount, ""),
		Region:              r.str(EnvSourceRegion, ""),
		SettleLag:           r.duration(EnvSettleLag, 15*time.Minute),
		SchedulePeriod:      r.duration(EnvSchedulePeriod, time.Hour),
		MaxCatchUp:          r.duration(EnvMaxCatchUp, DefaultMaxCatchUpHours*time.Hour),
		TopicARN:            r.str(EnvTopicARN, ""),
		TopK:                r.integer(EnvTopK, 10),
		MetricsNamespace:    r.str(EnvMetricsNamespace, DefaultMetricsNamespace),
	}
	errs := r.errs
	if err := ValidateLogGroupName(s.LogGroupName); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvLogGroupName, err))
	}
	if err := ValidateLogGroupName(s.SummaryLogGroupName); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvSummaryLogGroupName, err))
	}
	if err := ValidateTableName(s.StateTable); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvStateTable, err))
	}
	if err := ValidateAccountID(s.Account); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvSourceAccount, err))
	}
	if err := ValidateRegion(s.Region); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvSourceRegion, err))
	}
	if s.MaxCatchUp%time.Hour != 0 {
		errs = append(errs, fmt.Errorf("%s=%s: want whole hours", EnvMaxCatchUp, s.MaxCatchUp))
	} else if err := ValidateMaxCatchUpHours(int(s.MaxCatchUp / time.Hour)); err != nil {
		errs = append(errs, fmt.Errorf("%s=%s: %w", EnvMaxCatchUp, s.MaxCatchUp, err))
	}
	if s.SettleLag < 0 {
		errs = append(errs, fmt.Errorf("%s=%s is negative", EnvSettleLag, s.SettleLag))
	}
	if s.SchedulePeriod <= 0 {
		errs = append(errs, fmt.Errorf("%s=%s must be positive", EnvSchedulePeriod, s.SchedulePeriod))
	}
	if s.TopK < 1 || s.TopK > 100 {
		errs = append(errs, fmt.Errorf("%s=%d must be from 1 to 100", EnvTopK, s.TopK))
	}
	if err := errors.Join(errs...); err != nil {
		return Summarizer{}, fmt.Errorf("summarizer configuration from the environment: %w", err)
	}
	return s, nil
}

// reader collects typed values and every parse error, each naming its key.
type reader struct {
	get  func(key string) (any, bool)
	errs []error
}

func (r *reader) fail(key string, v any, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%v: %s", key, v, want))
}

func (r *reader) str(key, def string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(key, v, "want a string")
		return def
	}
	return s
}

func (r *reader) integer(key string, def int) int {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case float64:
		if n == float64(int(n)) {
			return int(n)
		}
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			return i
		}
	}
	r.fail(key, v, "want a whole number")
	return def
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	switch b := v.(type) {
	case bool:
		return b
	case string:
		if p, err := strconv.ParseBool(strings.TrimSpace(b)); err == nil {
			return p
		}
	}
	r.fail(key, v, "want true or false")
	return def
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	s := r.str(key, "")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		r.fail(key, s, "want a duration such as 15m")
		return def
	}
	return d
}

// list reads a list of strings: see StringList.
func (r *reader) list(key string) []string {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	l, err := StringList(v)
	if err != nil {
		r.fail(key, v, err.Error())
	}
	return l
}

// StringList reads a list of strings in the forms the stack and its users
// write it: a decoded JSON array ([]any, as CloudFormation delivers a list
// property and cdk.json a list value), a []string, or a string holding a
// JSON array (["a","b"]) or comma-separated values (a,b). nil gives nil;
// an empty array gives an empty, non-nil list.
func StringList(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, item := range l {
			s, isStr := item.(string)
			if !isStr {
				return nil, errors.New("want a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			out := []string{}
			if err := json.Unmarshal([]byte(l), &out); err != nil {
				return nil, errors.New(`want a JSON array of strings such as ["enabled"]`)
			}
			return out, nil
		}
		out := []string{}
		for _, p := range strings.Split(l, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return nil, errors.New("want a list of strings")
}
