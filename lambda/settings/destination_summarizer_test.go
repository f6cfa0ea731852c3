package settings_test

import (
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestReadPaceByRegion proves the default FilterLogEvents pace follows each
// region's documented quota (25 in us-east-1, 5 in the low regions, 10
// elsewhere) less the console's share, and that READ_CALLS_PER_SECOND wins
// when set.
func TestReadPaceByRegion(t *testing.T) {
	cases := []struct {
		name, region, set string
		want              float64
	}{
		{"us-east-1", "us-east-1", "", 15},
		{"most regions", "eu-west-1", "", 6},
		{"another usual region", "ap-southeast-2", "", 6},
		{"eu-central-1 is low", "eu-central-1", "", 3},
		{"ap-northeast-3 is low", "ap-northeast-3", "", 3},
		{"ap-southeast-3 is low", "ap-southeast-3", "", 3},
		{"ca-west-1 is low", "ca-west-1", "", 3},
		{"il-central-1 is low", "il-central-1", "", 3},
		{"set explicitly", "us-east-1", "2.5", 2.5},
		{"0 means the default", "us-west-2", "0", 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{}
			if c.set != "" {
				m[settings.EnvReadCallsPerSecond] = c.set
			}
			s, err := settings.SummarizerSourceFromEnv(env(m), c.region)
			if err != nil {
				t.Fatal(err)
			}
			if s.ReadCallsPerSecond != c.want {
				t.Errorf("pace = %v, want %v", s.ReadCallsPerSecond, c.want)
			}
			if s.Destination != settings.DestinationCloudWatchLogs {
				t.Errorf("destination = %q, want the default", s.Destination)
			}
		})
	}
}

// TestSummarizerSourceFromEnv proves S3 mode's settings are read with
// their defaults (Parquet, Hive, per hour) and every bad value is refused
// naming its variable.
func TestSummarizerSourceFromEnv(t *testing.T) {
	s, err := settings.SummarizerSourceFromEnv(env(map[string]string{
		settings.EnvDestination: "s3", settings.EnvBucketARN: "arn:aws:s3:::my-flow-logs", settings.EnvBucketPrefix: "central/vpc",
	}), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Bucket != "my-flow-logs" || s.Prefix != "central/vpc" || s.FileFormat != settings.FileFormatParquet || !s.HiveCompatible || !s.PerHour {
		t.Errorf("got %+v, want bucket my-flow-logs, prefix central/vpc, parquet, hive, per hour", s)
	}
	bad := []struct {
		name, key string
		m         map[string]string
	}{
		{"unknown destination", settings.EnvDestination, map[string]string{settings.EnvDestination: "kinesis"}},
		{"s3 without a bucket", settings.EnvBucketARN, map[string]string{settings.EnvDestination: "s3"}},
		{"not an S3 ARN", settings.EnvBucketARN, map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: "arn:aws:sns:us-east-1:123456789012:t"}},
		{"bad bucket name", settings.EnvBucketARN, map[string]string{settings.EnvDestination: "s3", settings.EnvBucketARN: "arn:aws:s3:::Bad_Bucket"}},
		{"prefix with a slash at the end", settings.EnvBucketPrefix, map[string]string{settings.EnvBucketPrefix: "logs/"}},
		{"AWSLogs prefix", settings.EnvBucketPrefix, map[string]string{settings.EnvBucketPrefix: "AWSLogs"}},
		{"unknown file format", settings.EnvFileFormat, map[string]string{settings.EnvFileFormat: "csv"}},
		{"not a boolean", settings.EnvHiveCompatible, map[string]string{settings.EnvHiveCompatible: "maybe"}},
		{"pace above every quota", settings.EnvReadCallsPerSecond, map[string]string{settings.EnvReadCallsPerSecond: "50"}},
		{"pace not a number", settings.EnvReadCallsPerSecond, map[string]string{settings.EnvReadCallsPerSecond: "fast"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := settings.SummarizerSourceFromEnv(env(c.m), "us-east-1")
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Errorf("err = %v, want one naming %s", err, c.key)
			}
		})
	}
}
