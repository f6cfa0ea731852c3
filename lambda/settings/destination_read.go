package settings

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Custom resource properties of the destination (the enabler reads them
// from CloudFormation's requests as it reads the environment variables of
// destination.go from everything else).
const (
	PropDestination      = "Destination"
	PropBucketARN        = "BucketArn"
	PropBucketPrefix     = "BucketPrefix"
	PropFileFormat       = "FileFormat"
	PropHiveCompatible   = "HiveCompatiblePartitions"
	PropPerHourPartition = "PerHourPartition"
)

// Defaults of the destination. S3 delivery defaults to the options Athena
// and the digest read best: Parquet, Hive-compatible keys and one partition
// an hour (AWS's own defaults are plain text, false and false).
const (
	DefaultDestination      = DestinationCloudWatchLogs
	DefaultFileFormat       = FileFormatParquet
	DefaultHiveCompatible   = true
	DefaultPerHourPartition = true
	// DefaultAthenaBytesScannedLimit is the workgroup's per-query cutoff:
	// 100 GB, $0.50 of scanning at $5 per TB.
	DefaultAthenaBytesScannedLimit = 100_000_000_000
	// MinAthenaBytesScannedLimit is the smallest cutoff Athena accepts
	// (BytesScannedCutoffPerQuery: 10 MB).
	MinAthenaBytesScannedLimit = 10_000_000
)

// Destinations and FileFormats list the values the settings accept.
var (
	Destinations = []string{DestinationCloudWatchLogs, DestinationS3}
	FileFormats  = []string{FileFormatParquet, FileFormatPlainText}
)

// Destination is where the enabler's flow logs deliver, and how.
type Destination struct {
	// Type is DestinationCloudWatchLogs or DestinationS3.
	Type string
	// BucketARN is arn:<partition>:s3:::<bucket>, S3 only.
	BucketARN string
	// Prefix is the key prefix before AWSLogs/, without slashes at either
	// end; empty for none.
	Prefix string
	// FileFormat, HiveCompatible and PerHourPartition are the flow log's
	// DestinationOptions, S3 only.
	FileFormat       string
	HiveCompatible   bool
	PerHourPartition bool
}

// DefaultDestinationSettings is the destination of a deployment that sets
// nothing: CloudWatch Logs, with the S3 options at their defaults.
func DefaultDestinationSettings() Destination {
	return Destination{Type: DefaultDestination, FileFormat: DefaultFileFormat,
		HiveCompatible: DefaultHiveCompatible, PerHourPartition: DefaultPerHourPartition}
}

// IsS3 reports whether flow logs deliver to S3.
func (d Destination) IsS3() bool { return d.Type == DestinationS3 }

// LogDestination is CreateFlowLogs' LogDestination in S3 mode: the bucket
// ARN, with "/<prefix>" when there is a prefix.
func (d Destination) LogDestination() string {
	if d.Prefix == "" {
		return d.BucketARN
	}
	return d.BucketARN + "/" + d.Prefix
}

// AccountKeyPrefix is the key prefix under which AWS delivers one account's
// flow log files, with a trailing slash: <prefix>/AWSLogs/<account>/ or,
// Hive-compatible, <prefix>/AWSLogs/aws-account-id=<account>/ (the layout of
// the VPC user guide's "Flow log files" page, flow-logs-s3-path). The bucket
// policy's delivery grant and the Glue table both start here.
func (d Destination) AccountKeyPrefix(account string) string {
	p := "AWSLogs/" + account + "/"
	if d.HiveCompatible {
		p = "AWSLogs/aws-account-id=" + account + "/"
	}
	if d.Prefix != "" {
		p = d.Prefix + "/" + p
	}
	return p
}

// Validate checks every field and reports all problems at once.
func (d Destination) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(ValidateDestination(d.Type))
	if !d.IsS3() {
		return errors.Join(errs...)
	}
	if d.BucketARN == "" {
		add(errors.New("the S3 destination has no bucket ARN"))
	} else {
		add(ValidateBucketARN(d.BucketARN))
	}
	add(ValidateBucketPrefix(d.Prefix))
	add(ValidateFileFormat(d.FileFormat))
	return errors.Join(errs...)
}

// ValidateDestination checks a destination type.
func ValidateDestination(t string) error {
	if !slices.Contains(Destinations, t) {
		return fmt.Errorf("destination %q is not valid: use one of %s", t, strings.Join(Destinations, ", "))
	}
	return nil
}

// ValidateFileFormat checks a flow log file format for S3.
func ValidateFileFormat(f string) error {
	if !slices.Contains(FileFormats, f) {
		return fmt.Errorf("file format %q is not valid: use one of %s", f, strings.Join(FileFormats, ", "))
	}
	return nil
}

// bucketARNRE is a general purpose bucket's ARN: 3 to 63 characters from
// a-z 0-9 . -, starting and ending with a letter or digit (S3's bucket
// naming rules). No key part: the prefix is its own setting.
var bucketARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$`)

// ValidateBucketARN checks an S3 bucket ARN: arn:<partition>:s3:::<bucket>,
// a name S3 accepts (no "..", not shaped like an IP address).
func ValidateBucketARN(arn string) error {
	m := bucketARNRE.FindStringSubmatch(arn)
	if m == nil {
		return fmt.Errorf("bucket ARN %q is not valid: expected arn:<partition>:s3:::<bucket> with a bucket name of 3 to 63 characters from a-z 0-9 . -", arn)
	}
	if strings.Contains(m[1], "..") || ipShaped.MatchString(m[1]) {
		return fmt.Errorf("bucket ARN %q is not valid: S3 rejects bucket names with two dots in a row or shaped like an IP address", arn)
	}
	return nil
}

var ipShaped = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)

// BucketName is the bucket of a valid bucket ARN, "" for anything else.
func BucketName(arn string) string {
	if m := bucketARNRE.FindStringSubmatch(arn); m != nil {
		return m[1]
	}
	return ""
}

// bucketPrefixRE allows segments of letters, digits and _ . - separated by
// single slashes. It is narrower than what S3 keys take on purpose: the
// prefix goes into IAM resource ARNs and Glue locations, where * and ? are
// wildcards and other characters need escaping.
var bucketPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)

// MaxBucketPrefix bounds the prefix, leaving room in S3's 1,024-byte keys
// for AWS's own part of the path and file name (about 200 bytes).
const MaxBucketPrefix = 512

// ValidateBucketPrefix checks the key prefix of the flow log files: empty,
// or segments of A-Z a-z 0-9 _ . - separated by single slashes, none "." or
// "..", none named AWSLogs (AWS reserves it: the flow log API rejects a
// subfolder of that name), at most 512 characters.
func ValidateBucketPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxBucketPrefix || !bucketPrefixRE.MatchString(prefix) {
		return fmt.Errorf("bucket prefix %q is not valid: use up to %d characters, segments of A-Z a-z 0-9 _ . - separated by single slashes, no slash at either end", prefix, MaxBucketPrefix)
	}
	for _, seg := range strings.Split(prefix, "/") {
		switch seg {
		case ".", "..":
			return fmt.Errorf("bucket prefix %q is not valid: segment %q", prefix, seg)
		case "AWSLogs":
			return fmt.Errorf("bucket prefix %q is not valid: AWS reserves the folder name AWSLogs", prefix)
		}
	}
	return nil
}

// ValidateAthenaBytesScannedLimit checks the workgroup's per-query cutoff in
// bytes: at least Athena's minimum of 10 MB.
func ValidateAthenaBytesScannedLimit(n int) error {
	if n < MinAthenaBytesScannedLimit {
		return fmt.Errorf("bytes scanned limit %d of the Athena workgroup is not valid: want at least %d (10 MB, Athena's minimum)", n, MinAthenaBytesScannedLimit)
	}
	return nil
}

// destinationKeys names the destination's settings in one source.
type destinationKeys struct{ destination, bucketARN, prefix, fileFormat, hive, perHour string }

var (
	envDestinationKeys = destinationKeys{EnvDestination, EnvBucketARN, EnvBucketPrefix, EnvFileFormat,
		EnvHiveCompatible, EnvPerHourPartition}
	propDestinationKeys = destinationKeys{PropDestination, PropBucketARN, PropBucketPrefix, PropFileFormat,
		PropHiveCompatible, PropPerHourPartition}
)

// readDestination reads the destination through r under the names k gives.
// An S3 destination without a bucket is an error naming the bucket's key.
func readDestination(r *Reader, k destinationKeys) Destination {
	d := Destination{
		Type:             r.String(k.destination, DefaultDestination, ValidateDestination),
		BucketARN:        r.String(k.bucketARN, "", ValidateBucketARN),
		Prefix:           r.String(k.prefix, "", ValidateBucketPrefix),
		FileFormat:       r.String(k.fileFormat, DefaultFileFormat, ValidateFileFormat),
		HiveCompatible:   r.Bool(k.hive, DefaultHiveCompatible),
		PerHourPartition: r.Bool(k.perHour, DefaultPerHourPartition),
	}
	if d.IsS3() && d.BucketARN == "" {
		r.Fail(k.bucketARN, "", "the S3 destination needs a bucket ARN (arn:<partition>:s3:::<bucket>)")
	}
	return d
}

// DestinationFromEnv reads the destination from the environment variables
// the stack sets on both functions; getenv is os.Getenv outside tests.
func DestinationFromEnv(getenv func(string) string) (Destination, error) {
	r := NewReader("", Getenv(getenv))
	d := readDestination(r, envDestinationKeys)
	if err := r.Err(); err != nil {
		return Destination{}, fmt.Errorf("destination from the environment: %w", err)
	}
	return d, nil
}

// DestinationFromProperties reads the destination from the custom
// resource's properties.
func DestinationFromProperties(props map[string]any) (Destination, error) {
	r := NewReader("", Map(props))
	d := readDestination(r, propDestinationKeys)
	if err := r.Err(); err != nil {
		return Destination{}, fmt.Errorf("custom resource properties: %w", err)
	}
	return d, nil
}
