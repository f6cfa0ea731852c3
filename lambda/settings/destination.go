package settings

// Where flow logs are delivered. DestinationCloudWatchLogs is the default;
// DestinationS3 delivers to a bucket, with no delivery role.
const (
	DestinationCloudWatchLogs = "cloud-watch-logs"
	DestinationS3             = "s3"

	FileFormatParquet   = "parquet"
	FileFormatPlainText = "plain-text"
)

// Environment variables of both functions in S3 mode (the enabler creates
// flow logs with them; the summarizer reads the objects).
const (
	EnvDestination        = "DESTINATION"           // cloud-watch-logs (default) or s3
	EnvBucketARN          = "BUCKET_ARN"            // arn:<partition>:s3:::<bucket>
	EnvBucketPrefix       = "BUCKET_PREFIX"         // key prefix, may be empty
	EnvFileFormat         = "FILE_FORMAT"           // parquet (default) or plain-text
	EnvHiveCompatible     = "HIVE_COMPATIBLE"       // "true" (default)
	EnvPerHourPartition   = "PER_HOUR_PARTITION"    // "true" (default)
	EnvReadCallsPerSecond = "READ_CALLS_PER_SECOND" // CloudWatch Logs read pacing; 0 or unset: the region's quota less headroom
)
