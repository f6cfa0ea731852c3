package settings

import (
	"errors"
	"fmt"
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
	EnvTagValues              = "TAG_VALUES" // a JSON array of strings (see StringList); unset: DefaultTagValues; [] means any value
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

// Enabler is the configuration of one reconcile run.
type Enabler struct {
	TagKey string
	// TagValues: empty means any value of TagKey. The readers give
	// DefaultTagValues when the setting is unset, as Props does for nil.
	TagValues              []string
	LogGroupName           string
	DeliveryRoleARN        string
	TrafficType            string
	MaxAggregationInterval int
	LogFormat              string // empty: the AWS default format (DefaultLogFormat)
	RemoveOnDelete         bool
	RemoveOnUntag          bool
	Owner                  string
	DryRun                 bool
	MetricsNamespace       string
	RoleARN                string // the enabler's own role; empty: unknown
	// ComplianceMode covers every VPC whatever its tags (COMPLIANCE_MODE,
	// read by ComplianceModeFromEnv): TagKey and TagValues then decide
	// nothing, and no flow log is removed for a missing tag.
	ComplianceMode bool
}

// Validate checks every field and reports all problems at once.
func (e Enabler) Validate() error { return e.validate(keys{}) }

// keys names each field's source (an environment variable or a property),
// so that an error says where the bad value came from.
type keys struct {
	tagKey, tagValues, logGroupName, deliveryRoleARN, trafficType, interval, logFormat string
	removeOnDelete, removeOnUntag, owner, dryRun                                       string
}

var (
	envKeys = keys{EnvTagKey, EnvTagValues, EnvLogGroupName, EnvDeliveryRoleARN, EnvTrafficType,
		EnvMaxAggregationInterval, EnvLogFormat, EnvRemoveOnDelete, EnvRemoveOnUntag, EnvOwner, EnvDryRun}
	propKeys = keys{PropTagKey, PropTagValues, PropLogGroupName, PropDeliveryRoleARN, PropTrafficType,
		PropMaxAggregationInterval, PropLogFormat, PropRemoveOnDelete, PropRemoveOnUntag, PropOwner, PropDryRun}
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
	if !isRoleARN(e.DeliveryRoleARN) {
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

func isRoleARN(s string) bool { return strings.HasPrefix(s, "arn:") && strings.Contains(s, ":role/") }

// readEnabler reads the settings that the environment and the properties
// share, under the names k gives them. Owner and DryRun fall back to base's,
// and the metrics namespace is base's.
func readEnabler(r *Reader, k keys, base Enabler) Enabler {
	return Enabler{
		TagKey:                 r.String(k.tagKey, ""),
		TagValues:              r.List(k.tagValues, DefaultTagValues()),
		LogGroupName:           r.String(k.logGroupName, ""),
		DeliveryRoleARN:        r.String(k.deliveryRoleARN, ""),
		TrafficType:            r.String(k.trafficType, DefaultTrafficType),
		MaxAggregationInterval: r.Int(k.interval, DefaultMaxAggregationInterval),
		LogFormat:              r.String(k.logFormat, ""),
		RemoveOnDelete:         r.Bool(k.removeOnDelete, DefaultRemoveOnDelete),
		RemoveOnUntag:          r.Bool(k.removeOnUntag, DefaultRemoveOnUntag),
		Owner:                  r.String(k.owner, base.Owner),
		DryRun:                 r.Bool(k.dryRun, base.DryRun),
		MetricsNamespace:       base.MetricsNamespace,
	}
}

// EnablerFromEnv reads the enabler's configuration from the environment
// variables the stack sets; getenv is os.Getenv outside tests.
func EnablerFromEnv(getenv func(string) string) (Enabler, error) {
	r := NewReader("", Getenv(getenv))
	e := readEnabler(r, envKeys, Enabler{})
	e.MetricsNamespace = r.String(EnvMetricsNamespace, DefaultMetricsNamespace, ValidateMetricsNamespace)
	e.RoleARN = r.String(EnvEnablerRoleARN, "")
	if e.RoleARN != "" && !isRoleARN(e.RoleARN) {
		r.Fail(EnvEnablerRoleARN, e.RoleARN, "want an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)")
	}
	if err := errors.Join(r.Err(), e.validate(envKeys)); err != nil {
		return Enabler{}, fmt.Errorf("enabler configuration from the environment: %w", err)
	}
	return e, nil
}

// EnablerFromProperties reads the enabler's configuration from custom
// resource properties. Owner falls back to the event's stack id, and the
// metrics namespace to base's, so CloudFormation and the other entry points
// agree.
func EnablerFromProperties(props map[string]any, base Enabler) (Enabler, error) {
	if base.MetricsNamespace == "" {
		base.MetricsNamespace = DefaultMetricsNamespace
	}
	r := NewReader("", Map(props))
	e := readEnabler(r, propKeys, base)
	if err := errors.Join(r.Err(), e.validate(propKeys)); err != nil {
		return Enabler{}, fmt.Errorf("custom resource properties: %w", err)
	}
	return e, nil
}

// TeardownFromProperties is what a Delete needs (the owner, whether to
// remove, dry run), read leniently: a Delete must work with the properties
// of a Create that failed because they were malformed, so a bad value takes
// its default instead of failing.
func TeardownFromProperties(props map[string]any, base Enabler) Enabler {
	if e, err := EnablerFromProperties(props, base); err == nil {
		return e
	}
	r := NewReader("", Map(props))
	return Enabler{
		Owner:            r.String(PropOwner, base.Owner),
		RemoveOnDelete:   r.Bool(PropRemoveOnDelete, DefaultRemoveOnDelete),
		DryRun:           r.Bool(PropDryRun, base.DryRun),
		MetricsNamespace: base.MetricsNamespace,
	}
}

// EnablerBaseFromEnv is what a custom resource request takes from an
// environment that is not valid as a whole: the owner, dry run and the
// metrics namespace, read leniently like TeardownFromProperties.
func EnablerBaseFromEnv(getenv func(string) string) Enabler {
	r := NewReader("", Getenv(getenv))
	return Enabler{
		Owner:            r.String(EnvOwner, ""),
		DryRun:           r.Bool(EnvDryRun, false),
		MetricsNamespace: r.String(EnvMetricsNamespace, DefaultMetricsNamespace),
	}
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
	r := NewReader("", Getenv(getenv))
	s := Summarizer{
		LogGroupName:        r.String(EnvLogGroupName, ""),
		SummaryLogGroupName: r.String(EnvSummaryLogGroupName, ""),
		StateTable:          r.String(EnvStateTable, ""),
		Account:             r.String(EnvSourceAccount, ""),
		Region:              r.String(EnvSourceRegion, ""),
		SettleLag:           r.Duration(EnvSettleLag, DefaultSettleLag, ValidateSettleLag),
		SchedulePeriod:      r.Duration(EnvSchedulePeriod, DefaultSchedulePeriod),
		MaxCatchUp:          r.Duration(EnvMaxCatchUp, DefaultMaxCatchUpHours*time.Hour),
		TopicARN:            r.String(EnvTopicARN, "", ValidateTopicARN),
		TopK:                r.Int(EnvTopK, DefaultTopK, ValidateTopK),
		MetricsNamespace:    r.String(EnvMetricsNamespace, DefaultMetricsNamespace, ValidateMetricsNamespace),
	}
	if err := errors.Join(r.Err(), s.validate()); err != nil {
		return Summarizer{}, fmt.Errorf("summarizer configuration from the environment: %w", err)
	}
	return s, nil
}

// validate checks what the reader's validators do not: the names, and the
// durations against each other's rules.
func (s Summarizer) validate() error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	check(EnvLogGroupName, ValidateLogGroupName(s.LogGroupName))
	check(EnvSummaryLogGroupName, ValidateLogGroupName(s.SummaryLogGroupName))
	check(EnvStateTable, ValidateTableName(s.StateTable))
	check(EnvSourceAccount, ValidateAccountID(s.Account))
	check(EnvSourceRegion, ValidateRegion(s.Region))
	if s.MaxCatchUp%time.Hour != 0 {
		errs = append(errs, fmt.Errorf("%s=%s: want whole hours", EnvMaxCatchUp, s.MaxCatchUp))
	} else if err := ValidateMaxCatchUpHours(int(s.MaxCatchUp / time.Hour)); err != nil {
		errs = append(errs, fmt.Errorf("%s=%s: %w", EnvMaxCatchUp, s.MaxCatchUp, err))
	}
	if s.SchedulePeriod <= 0 {
		errs = append(errs, fmt.Errorf("%s=%s must be positive", EnvSchedulePeriod, s.SchedulePeriod))
	}
	return errors.Join(errs...)
}
