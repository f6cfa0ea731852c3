package settings

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Traffic types a flow log can capture.
const (
	TrafficAll    = "ALL"
	TrafficAccept = "ACCEPT"
	TrafficReject = "REJECT"
)

// TrafficTypes lists the values CreateFlowLogs accepts for TrafficType.
var TrafficTypes = []string{TrafficAll, TrafficAccept, TrafficReject}

// AggregationIntervals lists the values CreateFlowLogs accepts for
// MaxAggregationInterval, in seconds.
var AggregationIntervals = []int{60, 600}

// RetentionDays lists the retention periods CloudWatch Logs accepts
// (PutRetentionPolicy), in days.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ValidateTagKey checks an EC2 tag key: 1 to 128 characters, not in the
// reserved aws: namespace.
func ValidateTagKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("tag key is empty: give 1 to 128 characters")
	case len([]rune(key)) > 128:
		return fmt.Errorf("tag key %q has %d characters: at most 128 are allowed", key, len([]rune(key)))
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return fmt.Errorf("tag key %q starts with aws:, which AWS reserves", key)
	}
	return nil
}

// ValidateTagValues checks EC2 tag values: each at most 256 characters. An
// empty list means any value of the key.
func ValidateTagValues(values []string) error {
	for _, v := range values {
		if len([]rune(v)) > 256 {
			return fmt.Errorf("tag value %q has %d characters: at most 256 are allowed", v, len([]rune(v)))
		}
	}
	return nil
}

var logGroupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// ValidateLogGroupName checks a CloudWatch Logs group name: 1 to 512
// characters from a-z, A-Z, 0-9, '_', '-', '/', '.', '#', not starting with
// aws/ (reserved for AWS services).
func ValidateLogGroupName(name string) error {
	if !logGroupNameRE.MatchString(name) {
		return fmt.Errorf("log group name %q is not valid: use 1 to 512 characters from a-z A-Z 0-9 _ - / . #", name)
	}
	if strings.HasPrefix(name, "aws/") {
		return fmt.Errorf("log group name %q starts with aws/, which AWS reserves", name)
	}
	return nil
}

// ValidateRetentionDays checks a log group retention period.
func ValidateRetentionDays(days int) error {
	if !slices.Contains(RetentionDays, days) {
		return fmt.Errorf("retention of %d days is not one CloudWatch Logs accepts: use one of %v", days, RetentionDays)
	}
	return nil
}

// ValidateTrafficType checks a flow log traffic type.
func ValidateTrafficType(t string) error {
	if !slices.Contains(TrafficTypes, t) {
		return fmt.Errorf("traffic type %q is not valid: use one of %s", t, strings.Join(TrafficTypes, ", "))
	}
	return nil
}

// ValidateMaxAggregationInterval checks a flow log aggregation interval in
// seconds.
func ValidateMaxAggregationInterval(seconds int) error {
	if !slices.Contains(AggregationIntervals, seconds) {
		return fmt.Errorf("maximum aggregation interval %d is not valid: use 60 or 600 (seconds)", seconds)
	}
	return nil
}

var kmsKeyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)

// ValidateKMSKeyARN checks a KMS key ARN (a key, not an alias: CloudWatch Logs
// takes only key ARNs).
func ValidateKMSKeyARN(arn string) error {
	if !kmsKeyARNRE.MatchString(arn) {
		return fmt.Errorf("KMS key ARN %q is not valid: expected arn:<partition>:kms:<region>:<account>:key/<key-id>", arn)
	}
	return nil
}

var (
	rateRE = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
)

// ValidateSchedule checks an EventBridge schedule expression: rate(N unit)
// with a singular unit for 1 and a plural one otherwise, or cron() with six
// fields.
func ValidateSchedule(expr string) error {
	if cronRE.MatchString(expr) {
		return nil
	}
	if _, err := ScheduleRate(expr); err != nil {
		return err
	}
	return nil
}

// ScheduleRate is the period of a rate() expression. A cron() expression or
// anything else is an error.
func ScheduleRate(expr string) (time.Duration, error) {
	m := rateRE.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("schedule %q is not valid: use rate(N minutes|hours|days) or cron(six fields)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q is not valid: the rate must be a positive whole number", expr)
	}
	unit := strings.TrimSuffix(m[2], "s")
	if (n == 1) != (unit == m[2]) {
		return 0, fmt.Errorf("schedule %q is not valid: EventBridge wants the singular unit for 1 and the plural otherwise", expr)
	}
	d := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[unit]
	return time.Duration(n) * d, nil
}

// ValidateLogFormat checks a flow log format string with the record parser's
// own format rules, so a format the stack accepts is one the digest can read.
func ValidateLogFormat(format string) error {
	if _, err := flowrecord.ParseFormat(format); err != nil {
		return fmt.Errorf("log format %q: %w", format, err)
	}
	return nil
}

var topicARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// ValidateTopicARN checks an SNS topic ARN: a topic in a region of an
// account, named with letters, digits, hyphens and underscores (up to 256,
// .fifo allowed), the names SNS accepts.
func ValidateTopicARN(arn string) error {
	if !topicARNRE.MatchString(arn) {
		return fmt.Errorf("SNS topic ARN %q is not valid: expected arn:<partition>:sns:<region>:<account>:<name>", arn)
	}
	return nil
}

// ValidateTopicKey checks the KMS key of an encrypted SNS topic: a key ARN
// (not an alias, so that IAM can name it as a resource) in the topic's
// region, where SNS requires it to be.
func ValidateTopicKey(topicARN, keyARN string) error {
	if err := ValidateKMSKeyARN(keyARN); err != nil {
		return err
	}
	if topicARN == "" {
		return fmt.Errorf("KMS key ARN %q is set for no SNS topic: set the topic ARN too, or leave the key empty", keyARN)
	}
	if err := ValidateTopicARN(topicARN); err != nil {
		return err
	}
	if kr, tr := strings.Split(keyARN, ":")[3], TopicRegion(topicARN); kr != tr {
		return fmt.Errorf("KMS key ARN %q is in region %s, the SNS topic %q in %s: SNS needs the key in the topic's region", keyARN, kr, topicARN, tr)
	}
	return nil
}

// TopicRegion is the region of a valid SNS topic ARN, or "" for anything
// else.
func TopicRegion(arn string) string {
	if m := topicARNRE.FindStringSubmatch(arn); m != nil {
		return m[1]
	}
	return ""
}

// MaxCatchUpHoursLimit is the largest catch-up: 31 days.
const MaxCatchUpHoursLimit = 744

// ValidateMaxCatchUpHours checks the catch-up bound: 1 to 744 hours.
func ValidateMaxCatchUpHours(hours int) error {
	if hours < 1 || hours > MaxCatchUpHoursLimit {
		return fmt.Errorf("maximum catch-up of %d hours is not valid: use 1 to %d", hours, MaxCatchUpHoursLimit)
	}
	return nil
}

var (
	tableNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	accountRE   = regexp.MustCompile(`^\d{12}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
)

// ValidateTableName checks a DynamoDB table name: 3 to 255 characters from
// a-z, A-Z, 0-9, '_', '-', '.'.
func ValidateTableName(name string) error {
	if !tableNameRE.MatchString(name) {
		return fmt.Errorf("table name %q is not valid: use 3 to 255 characters from a-z A-Z 0-9 and _ - . (dot)", name)
	}
	return nil
}

// ValidateAccountID checks an AWS account id: twelve digits.
func ValidateAccountID(id string) error {
	if !accountRE.MatchString(id) {
		return fmt.Errorf("account id %q is not valid: want twelve digits", id)
	}
	return nil
}

// ValidateRegion checks the shape of an AWS region name, such as us-east-1 or
// us-gov-west-1.
func ValidateRegion(region string) error {
	if !regionRE.MatchString(region) {
		return fmt.Errorf("region %q is not valid: want a region name such as us-east-1", region)
	}
	return nil
}

// MaxSettleLag is the longest settle lag: a day.
const MaxSettleLag = 24 * time.Hour

// ValidateSettleLag checks how long the digest waits for late delivery: 0 to
// 1440 minutes.
func ValidateSettleLag(d time.Duration) error {
	if d < 0 || d > MaxSettleLag {
		return fmt.Errorf("settle lag of %s is not valid: want 0 to 1440 minutes (24h)", d)
	}
	return nil
}

// MaxTopK is the longest top-N list of a digest.
const MaxTopK = 100

// ValidateTopK checks the length of each top-N list in the digest.
func ValidateTopK(k int) error {
	if k < 1 || k > MaxTopK {
		return fmt.Errorf("top-N length %d is not valid: want 1 to %d", k, MaxTopK)
	}
	return nil
}

var namespaceRE = regexp.MustCompile(`^[0-9A-Za-z._/#: -]{1,255}$`)

// ValidateMetricsNamespace checks a CloudWatch metric namespace: 1 to 255
// characters from 0-9 A-Z a-z and . - _ / # : and space, with at least one
// that is not a space, not starting with ':' (the API's pattern [^:].*) and
// not with AWS/, which AWS reserves for its services (CloudWatch's
// PutMetricData and Metric API references).
func ValidateMetricsNamespace(ns string) error {
	switch {
	case !namespaceRE.MatchString(ns) || strings.TrimSpace(ns) == "":
		return fmt.Errorf("metrics namespace %q is not valid: use 1 to 255 characters from 0-9 A-Z a-z . - _ / # : and space", ns)
	case strings.HasPrefix(ns, ":"):
		return fmt.Errorf("metrics namespace %q starts with a colon, which CloudWatch does not accept", ns)
	case strings.HasPrefix(ns, "AWS/"):
		return fmt.Errorf("metrics namespace %q starts with AWS/, which AWS reserves", ns)
	}
	return nil
}
