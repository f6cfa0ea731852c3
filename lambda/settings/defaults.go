package settings

import (
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// Defaults of the settings: the one place each is written. The construct's
// Props, the CDK app's context, the functions' environment and the custom
// resource's properties all fall back to these, and cdk.json's values are
// tested against them.
const (
	DefaultTagKey                 = "FlowLogs"
	DefaultTagValue               = "enabled" // see DefaultTagValues
	DefaultLogGroupName           = "/vpc/flow-logs"
	DefaultRetentionDays          = 365
	DefaultTrafficType            = TrafficAll
	DefaultMaxAggregationInterval = 600
	DefaultRemoveOnDelete         = true
	DefaultRemoveOnUntag          = true
	DefaultSweepSchedule          = "rate(6 hours)"
	DefaultSummarySchedule        = "rate(1 hour)"
	// DefaultSchedulePeriod is the period of DefaultSummarySchedule: the
	// window of the first digest.
	DefaultSchedulePeriod = time.Hour
	DefaultSettleLag      = 15 * time.Minute
	// DefaultMaxCatchUpHours is how far back one digest run reads by
	// default: a day. A checkpoint older than that (a summarizer stopped
	// for a week, or a restored table) skips ahead instead of reading, and
	// holding in a Lambda run, everything since.
	DefaultMaxCatchUpHours = 24
	DefaultTopK            = 10
	// DefaultMetricsNamespace is the CloudWatch namespace of both
	// functions' embedded metrics.
	DefaultMetricsNamespace = "VPCFlowLogs"
	// DefaultLogFormat is the format AWS gives a flow log created without
	// one (version 2). An empty LogFormat setting means it: the stack then
	// passes no format, and DescribeFlowLogs reports this one.
	DefaultLogFormat = flowrecord.DefaultFormatString
)

// DefaultTagValues is the default of the TagValues setting: VPCs whose tag
// has the value "enabled". A fresh slice each call, so no caller can change
// another's default. An unset TagValues (nil in Props, no variable, no
// property) means this; an explicit empty list means any value of the key.
func DefaultTagValues() []string { return []string{DefaultTagValue} }
