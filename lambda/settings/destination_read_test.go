package settings_test

import (
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const bucket = "arn:aws:s3:::flow-logs-123456789012"

// TestDestinationFromEnv proves the defaults (CloudWatch Logs; for S3
// Parquet, Hive and hourly), that S3 needs a bucket, and that every bad
// value is named by its variable.
func TestDestinationFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want settings.Destination
		err  string // "" for success
	}{
		{"unset is CloudWatch Logs", map[string]string{}, settings.DefaultDestinationSettings(), ""},
		{"s3 with the defaults", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: bucket},
			settings.Destination{Type: "s3", BucketARN: bucket, FileFormat: "parquet", HiveCompatible: true, PerHourPartition: true}, ""},
		{"s3 with every option", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: bucket,
			settings.EnvBucketPrefix: "org/flows", settings.EnvFileFormat: "plain-text", settings.EnvHiveCompatible: "false", settings.EnvPerHourPartition: "false"},
			settings.Destination{Type: "s3", BucketARN: bucket, Prefix: "org/flows", FileFormat: "plain-text"}, ""},
		{"s3 without a bucket", map[string]string{settings.EnvDestination: "s3"}, settings.Destination{}, "BUCKET_ARN=: the S3 destination needs a bucket ARN"},
		{"unknown destination", map[string]string{settings.EnvDestination: "firehose"}, settings.Destination{}, `DESTINATION=firehose: destination "firehose" is not valid`},
		{"bad bucket", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: "arn:aws:s3:::Bad_Bucket"}, settings.Destination{}, "BUCKET_ARN=arn:aws:s3:::Bad_Bucket"},
		{"bad format", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: bucket, settings.EnvFileFormat: "orc"}, settings.Destination{}, `FILE_FORMAT=orc: file format "orc"`},
		{"bad bool", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: bucket, settings.EnvHiveCompatible: "yes please"}, settings.Destination{}, "HIVE_COMPATIBLE=yes please: want true or false"},
		{"reserved prefix", map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: bucket, settings.EnvBucketPrefix: "a/AWSLogs"}, settings.Destination{}, "AWS reserves the folder name AWSLogs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := settings.DestinationFromEnv(env(c.env))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("DestinationFromEnv: %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("DestinationFromEnv error %v, want one containing %q", err, c.err)
			case c.err == "" && got != c.want:
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestEnablerInS3Mode proves that the enabler needs no delivery role and no
// log group in S3 mode, reads the destination from both of its sources,
// and still needs the role in CloudWatch Logs mode.
func TestEnablerInS3Mode(t *testing.T) {
	e, err := settings.EnablerFromEnv(env(map[string]string{
		settings.EnvTagKey: "FlowLogs", settings.EnvOwner: "stack", settings.EnvDestination: "s3",
		settings.EnvBucketARN: bucket, settings.EnvBucketPrefix: "flows",
	}))
	if err != nil {
		t.Fatalf("EnablerFromEnv: %v", err)
	}
	if !e.Destination.IsS3() || e.Destination.LogDestination() != bucket+"/flows" || e.DeliveryRoleARN != "" {
		t.Errorf("environment gave %+v", e)
	}
	props := map[string]any{
		settings.PropTagKey: "FlowLogs", settings.PropDestination: "s3", settings.PropBucketARN: bucket,
		settings.PropFileFormat: "plain-text", settings.PropHiveCompatible: "false", settings.PropPerHourPartition: "true",
	}
	p, err := settings.EnablerFromProperties(props, settings.Enabler{Owner: "stack"})
	if err != nil {
		t.Fatalf("EnablerFromProperties: %v", err)
	}
	want := settings.Destination{Type: "s3", BucketARN: bucket, FileFormat: "plain-text", PerHourPartition: true}
	if p.Destination != want {
		t.Errorf("properties gave %+v, want %+v", p.Destination, want)
	}
	_, err = settings.EnablerFromEnv(env(map[string]string{settings.EnvTagKey: "FlowLogs", settings.EnvOwner: "stack", settings.EnvLogGroupName: "/vpc/flow-logs"}))
	if err == nil || !strings.Contains(err.Error(), "DELIVERY_ROLE_ARN") {
		t.Errorf("CloudWatch Logs mode without a role: %v, want an error naming DELIVERY_ROLE_ARN", err)
	}
}

// TestDestinationValidators covers the edges of each validator.
func TestDestinationValidators(t *testing.T) {
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"bucket ARN", settings.ValidateBucketARN(bucket), true},
		{"bucket ARN in another partition", settings.ValidateBucketARN("arn:aws-us-gov:s3:::logs.example"), true},
		{"bucket ARN with a key", settings.ValidateBucketARN(bucket + "/prefix"), false},
		{"bucket name too short", settings.ValidateBucketARN("arn:aws:s3:::ab"), false},
		{"bucket name with two dots", settings.ValidateBucketARN("arn:aws:s3:::a..b"), false},
		{"bucket name shaped like an IP", settings.ValidateBucketARN("arn:aws:s3:::192.168.5.4"), false},
		{"not an S3 ARN", settings.ValidateBucketARN("arn:aws:sns:::bucket"), false},
		{"empty prefix", settings.ValidateBucketPrefix(""), true},
		{"nested prefix", settings.ValidateBucketPrefix("org/vpc-flow_logs.v1"), true},
		{"prefix with a leading slash", settings.ValidateBucketPrefix("/flows"), false},
		{"prefix with a trailing slash", settings.ValidateBucketPrefix("flows/"), false},
		{"prefix with a wildcard", settings.ValidateBucketPrefix("flows*"), false},
		{"prefix with ..", settings.ValidateBucketPrefix("a/../b"), false},
		{"prefix AWSLogs", settings.ValidateBucketPrefix("AWSLogs"), false},
		{"prefix too long", settings.ValidateBucketPrefix(strings.Repeat("a", settings.MaxBucketPrefix+1)), false},
		{"scan limit at the minimum", settings.ValidateAthenaBytesScannedLimit(settings.MinAthenaBytesScannedLimit), true},
		{"scan limit below the minimum", settings.ValidateAthenaBytesScannedLimit(settings.MinAthenaBytesScannedLimit - 1), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if (c.err == nil) != c.ok {
				t.Errorf("error %v, want ok=%v", c.err, c.ok)
			}
		})
	}
}

// TestAccountKeyPrefix proves the key prefix of one account's files in
// both of AWS's layouts, with and without a prefix.
func TestAccountKeyPrefix(t *testing.T) {
	cases := []struct {
		name string
		d    settings.Destination
		want string
	}{
		{"hive, prefix", settings.Destination{Prefix: "org/flows", HiveCompatible: true}, "org/flows/AWSLogs/aws-account-id=123456789012/"},
		{"hive, no prefix", settings.Destination{HiveCompatible: true}, "AWSLogs/aws-account-id=123456789012/"},
		{"plain, prefix", settings.Destination{Prefix: "flows"}, "flows/AWSLogs/123456789012/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.d.AccountKeyPrefix("123456789012"); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
