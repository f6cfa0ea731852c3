package settings

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// SummarizerSource is where the summarizer reads the records: the flow log
// group (DestinationCloudWatchLogs, the default) or the objects the flow
// logs deliver to a bucket (DestinationS3), and how fast it may call
// FilterLogEvents in the first case.
type SummarizerSource struct {
	Destination string
	// S3 mode only.
	Bucket         string // the bucket's name, from BUCKET_ARN
	Prefix         string // the key prefix, without slashes at the ends; may be empty
	FileFormat     string // FileFormatParquet or FileFormatPlainText
	HiveCompatible bool
	PerHour        bool
	// ReadCallsPerSecond paces FilterLogEvents (and DescribeLogStreams):
	// READ_CALLS_PER_SECOND when set, else ReadQuotaShare of the region's
	// quota (FilterLogEventsQuota).
	ReadCallsPerSecond float64
}

// SummarizerSourceFromEnv reads the summarizer's source settings; region
// is the flow log group's (SOURCE_REGION), whose quota sets the default
// pace. A bad or missing value is an error naming the variable.
func SummarizerSourceFromEnv(getenv func(string) string, region string) (SummarizerSource, error) {
	r := NewReader("", Getenv(getenv))
	s := SummarizerSource{
		Destination:    r.String(EnvDestination, DestinationCloudWatchLogs, validateDestination),
		FileFormat:     r.String(EnvFileFormat, FileFormatParquet, validateFileFormat),
		HiveCompatible: r.Bool(EnvHiveCompatible, true),
		PerHour:        r.Bool(EnvPerHourPartition, true),
	}
	s.Prefix = r.String(EnvBucketPrefix, "", validateBucketPrefix)
	s.ReadCallsPerSecond = readCallsPerSecond(r, region)
	if s.Destination == DestinationS3 {
		arn, ok := r.lookup(EnvBucketARN)
		if !ok {
			r.Fail(EnvBucketARN, "", "required when "+EnvDestination+"="+DestinationS3)
		} else if b, err := bucketFromARN(arn); err != nil {
			r.check(EnvBucketARN, arn, err)
		} else {
			s.Bucket = b
		}
	}
	if err := r.Err(); err != nil {
		return SummarizerSource{}, fmt.Errorf("summarizer source from the environment: %w", err)
	}
	return s, nil
}

func readCallsPerSecond(r *Reader, region string) float64 {
	v, ok := r.lookup(EnvReadCallsPerSecond)
	if !ok {
		return DefaultReadCallsPerSecond(region)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	switch {
	case err != nil:
		r.Fail(EnvReadCallsPerSecond, v, "want a number of calls a second")
	case n == 0:
		return DefaultReadCallsPerSecond(region)
	case n < 0.1 || n > 25:
		r.Fail(EnvReadCallsPerSecond, v, "want 0 (the region's quota less headroom) or 0.1 to 25, the highest FilterLogEvents quota")
	default:
		return n
	}
	return DefaultReadCallsPerSecond(region)
}

// FilterLogEvents quotas, per account and region, not adjustable (the
// "CloudWatch Logs quotas" page of the CloudWatch Logs User Guide): 25
// calls a second in us-east-1, 5 in the regions of lowFilterQuotaRegions,
// 10 elsewhere.
const (
	filterQuotaUSEast1 = 25
	filterQuotaLow     = 5
	filterQuotaDefault = 10
	// ReadQuotaShare is the share of the quota the summarizer takes. The
	// quota is per account and region and shared with every person using
	// the console or the CLI, for whom AWS designed these APIs: 40% is
	// left to them (4 calls a second in most regions, 2 in the lowest).
	ReadQuotaShare = 0.6
)

var lowFilterQuotaRegions = map[string]bool{
	"ap-northeast-3": true, "ap-southeast-3": true, "ca-west-1": true, "eu-central-1": true, "il-central-1": true,
}

// FilterLogEventsQuota returns the documented FilterLogEvents quota of a
// region, in calls a second.
func FilterLogEventsQuota(region string) float64 {
	switch {
	case region == "us-east-1":
		return filterQuotaUSEast1
	case lowFilterQuotaRegions[region]:
		return filterQuotaLow
	}
	return filterQuotaDefault
}

// DefaultReadCallsPerSecond is the summarizer's pace in a region when
// READ_CALLS_PER_SECOND is unset: ReadQuotaShare of its quota.
func DefaultReadCallsPerSecond(region string) float64 {
	return FilterLogEventsQuota(region) * ReadQuotaShare
}

func validateDestination(v string) error {
	if v != DestinationCloudWatchLogs && v != DestinationS3 {
		return fmt.Errorf("want %s or %s", DestinationCloudWatchLogs, DestinationS3)
	}
	return nil
}

func validateFileFormat(v string) error {
	if v != FileFormatParquet && v != FileFormatPlainText {
		return fmt.Errorf("want %s or %s", FileFormatParquet, FileFormatPlainText)
	}
	return nil
}

// validateBucketPrefix checks a destination's key prefix: AWS refuses
// "AWSLogs" as one, and the summarizer builds folder names under it.
func validateBucketPrefix(p string) error {
	switch {
	case len(p) > 512:
		return errors.New("want at most 512 characters")
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return errors.New("want no slash at either end")
	case p == "AWSLogs" || strings.HasPrefix(p, "AWSLogs/"):
		return errors.New("AWS reserves AWSLogs as a prefix")
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("want no control characters")
	}
	return nil
}

// bucketName is S3's rule for general purpose bucket names.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// bucketFromARN returns the bucket of arn:<partition>:s3:::<bucket>.
func bucketFromARN(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" || parts[3] != "" || parts[4] != "" {
		return "", errors.New("want arn:<partition>:s3:::<bucket>")
	}
	if !bucketName.MatchString(parts[5]) {
		return "", fmt.Errorf("bucket %q is not a valid bucket name", parts[5])
	}
	return parts[5], nil
}
