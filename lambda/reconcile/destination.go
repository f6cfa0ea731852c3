package reconcile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// This file is the S3 destination (settings.DestinationS3): how a flow log
// to S3 is created, what covers a VPC, and what makes one of ours stale.
// A flow log to S3 delivers the same way as the configuration only when
// all of these match: the destination type, the destination (bucket ARN and
// prefix), and the three DestinationOptions (file format, Hive-compatible
// prefixes, per-hour partitions). The options decide the key layout and the
// file format the summarizer and the Athena table read: a flow log of
// someone else's that differs in any of them delivers files we would not
// read, so it covers nothing; one of ours that differs is replaced, since
// flow logs are immutable.

// destinationName names where cfg's flow logs deliver, for messages: the
// log group, or the bucket ARN with its prefix.
func destinationName(cfg settings.Enabler) string {
	if cfg.Destination.IsS3() {
		return cfg.Destination.LogDestination()
	}
	return cfg.LogGroupName
}

// s3Options are a flow log's DestinationOptions as DescribeFlowLogs
// reports them, with AWS's defaults (plain-text, false, false) for a flow
// log that reports none.
func s3Options(fl types.FlowLog) (format string, hive, perHour bool) {
	o := fl.DestinationOptions
	if o == nil {
		return settings.FileFormatPlainText, false, false
	}
	format = string(o.FileFormat)
	if format == "" {
		format = settings.FileFormatPlainText
	}
	return format, aws.ToBool(o.HiveCompatiblePartitions), aws.ToBool(o.PerHourPartition)
}

// s3Differences lists how fl does not deliver the way d does: the
// destination type, the bucket and prefix, and each destination option.
// Empty when fl delivers the same way.
func s3Differences(fl types.FlowLog, d settings.Destination) []string {
	var why []string
	differs := func(what, got, want string) {
		if got != want {
			why = append(why, fmt.Sprintf("%s %q, want %q", what, got, want))
		}
	}
	differs("destination type", string(fl.LogDestinationType), string(types.LogDestinationTypeS3))
	// AWS keeps the destination as it was given; a trailing slash names
	// the same folder.
	differs("log destination", strings.TrimSuffix(aws.ToString(fl.LogDestination), "/"), d.LogDestination())
	format, hive, perHour := s3Options(fl)
	differs("file format", format, d.FileFormat)
	differs("Hive-compatible partitions", strconv.FormatBool(hive), strconv.FormatBool(d.HiveCompatible))
	differs("per-hour partitions", strconv.FormatBool(perHour), strconv.FormatBool(d.PerHourPartition))
	return why
}

// coversS3 is Covers in S3 mode: fl delivers the configured traffic (ALL
// covers every type) the way d does, and its delivery has not FAILED.
func coversS3(fl types.FlowLog, cfg settings.Enabler) bool {
	if aws.ToString(fl.DeliverLogsStatus) == deliveryFailed || len(s3Differences(fl, cfg.Destination)) > 0 {
		return false
	}
	tt := string(fl.TrafficType)
	return tt == cfg.TrafficType || tt == settings.TrafficAll
}

// staleReasonS3 is StaleReason in S3 mode: every difference from cfg,
// including a delivery role (an S3 flow log has none) and a FAILED status.
func staleReasonS3(fl types.FlowLog, cfg settings.Enabler) string {
	why := s3Differences(fl, cfg.Destination)
	if role := aws.ToString(fl.DeliverLogsPermissionArn); role != "" {
		why = append(why, fmt.Sprintf("delivery role %q, want none", role))
	}
	why = append(why, settingsDifferences(fl, cfg)...)
	if aws.ToString(fl.DeliverLogsStatus) == deliveryFailed {
		why = append(why, "delivery FAILED: "+aws.ToString(fl.DeliverLogsErrorMessage))
	}
	return strings.Join(why, ", ")
}

// settingsDifferences lists the differences in what is captured: traffic
// type, aggregation interval and log format.
func settingsDifferences(fl types.FlowLog, cfg settings.Enabler) []string {
	var why []string
	differs := func(what, got, want string) {
		if got != want {
			why = append(why, fmt.Sprintf("%s %q, want %q", what, got, want))
		}
	}
	differs("traffic type", string(fl.TrafficType), cfg.TrafficType)
	differs("aggregation interval", fmt.Sprint(aws.ToInt32(fl.MaxAggregationInterval)), fmt.Sprint(cfg.MaxAggregationInterval))
	differs("log format", formatOrDefault(aws.ToString(fl.LogFormat)), formatOrDefault(cfg.LogFormat))
	return why
}

// setS3Destination makes in deliver to cfg's bucket with its options: no
// log group, and no delivery role, which CreateFlowLogs rejects for S3.
func setS3Destination(in *ec2.CreateFlowLogsInput, d settings.Destination) {
	in.LogDestinationType = types.LogDestinationTypeS3
	in.LogDestination = aws.String(d.LogDestination())
	in.LogGroupName, in.DeliverLogsPermissionArn = nil, nil
	in.DestinationOptions = &types.DestinationOptionsRequest{
		FileFormat:               types.DestinationFileFormat(d.FileFormat),
		HiveCompatiblePartitions: aws.Bool(d.HiveCompatible),
		PerHourPartition:         aws.Bool(d.PerHourPartition),
	}
}

// destinationTokenParts are the destination's parts of ClientToken: a
// change of any option is another request.
func destinationTokenParts(d settings.Destination) []string {
	if !d.IsS3() {
		return nil
	}
	return []string{d.Type, d.LogDestination(), d.FileFormat, strconv.FormatBool(d.HiveCompatible), strconv.FormatBool(d.PerHourPartition)}
}
