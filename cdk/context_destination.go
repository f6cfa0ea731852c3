package main

import (
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Context keys of the destination, with their defaults in cdk.json.
const (
	keyDestination              = "destination"
	keyBucketARN                = "bucketArn"
	keyBucketPrefix             = "bucketPrefix"
	keyFileFormat               = "fileFormat"
	keyHiveCompatiblePartitions = "hiveCompatiblePartitions"
	keyPerHourPartition         = "perHourPartition"
	keyAthenaBytesScannedLimit  = "athenaBytesScannedLimit"
)

// Kept in a file of their own, beside contextKeys, so that other settings
// can be added to context.go without touching these.
func init() {
	contextKeys = append(contextKeys, keyDestination, keyBucketARN, keyBucketPrefix, keyFileFormat,
		keyHiveCompatiblePartitions, keyPerHourPartition, keyAthenaBytesScannedLimit)
}

// destinationFromContext reads the destination keys with the settings
// package's validators. The S3 keys are read, and checked, whatever the
// destination, so that a typo shows before someone switches to S3.
func destinationFromContext(r *settings.Reader) (string, vpcflowlogs.S3Options) {
	dest := r.String(keyDestination, settings.DefaultDestination, settings.ValidateDestination)
	return dest, vpcflowlogs.S3Options{
		BucketARN:                r.String(keyBucketARN, "", settings.ValidateBucketARN),
		Prefix:                   r.String(keyBucketPrefix, "", settings.ValidateBucketPrefix),
		FileFormat:               r.String(keyFileFormat, settings.DefaultFileFormat, settings.ValidateFileFormat),
		HiveCompatiblePartitions: ptr(r.Bool(keyHiveCompatiblePartitions, settings.DefaultHiveCompatible)),
		PerHourPartition:         ptr(r.Bool(keyPerHourPartition, settings.DefaultPerHourPartition)),
		AthenaBytesScannedLimit:  r.Int(keyAthenaBytesScannedLimit, settings.DefaultAthenaBytesScannedLimit, settings.ValidateAthenaBytesScannedLimit),
	}
}
