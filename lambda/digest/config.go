package digest

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// LogsAPI is the part of CloudWatch Logs a run calls: reading the flow log
// group, and reading and writing the summary group.
type LogsAPI interface {
	DescribeLogStreams(context.Context, *cloudwatchlogs.DescribeLogStreamsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error)
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
	CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cloudwatchlogs.PutLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// EC2API is the part of EC2 a run calls: the flow logs that deliver to the
// group (for their formats) and the interfaces behind the streams.
type EC2API interface {
	DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error)
	DescribeNetworkInterfaces(context.Context, *ec2.DescribeNetworkInterfacesInput, ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// TopicAPI publishes the plain-text digest.
type TopicAPI interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Clients are the AWS clients a Summarizer uses, built once by the caller.
// State is the DynamoDB client of the run state table (see package
// runstate). Topic may be nil when no topic is configured.
type Clients struct {
	Logs  LogsAPI
	EC2   EC2API
	State runstate.API
	Topic TopicAPI
	S3    S3API // required with Config.S3, unused without
	// DigestLogs writes and reads the digest group when it is not Logs'
	// (organization mode: Logs reads a spoke account, the digests live in
	// the hub); nil means Logs.
	DigestLogs LogsAPI
}

// DigestStreamName is the log stream of the summary group that holds the
// digests, one event per run. A run creates it when it is missing.
const DigestStreamName = "digests"

// Defaults of the Config knobs that are not part of the stack's settings.
const (
	// DefaultSlice is how much event time one slice of the window covers.
	// Fewer slices mean fewer partly filled FilterLogEvents pages; more
	// slices mean finer progress when a run stops early. A one-hour window
	// is six slices.
	DefaultSlice = 10 * time.Minute
	// MinSlice is the finest slice: a run that finished no slice halves the
	// next run's slice down to this.
	MinSlice = time.Minute
	// DefaultReadConcurrency is how many slices are read at once.
	DefaultReadConcurrency = 2
	// DefaultReserve is the time kept back from the Lambda deadline for
	// writing the digest, publishing and checkpointing.
	DefaultReserve = 30 * time.Second
	// DefaultMaxNewInterfaces bounds the new interfaces listed (and
	// described) in one digest; the digest always gives the full count.
	DefaultMaxNewInterfaces = 100
	// DefaultMaxTracked bounds the keys each top list tracks, which bounds
	// memory whatever the window holds: about 3 MB an aggregator, plus up to
	// 5 MB for its detectors (lambda/flowrecord/PERFORMANCE.md), and a run
	// holds ReadConcurrency+1 of them.
	DefaultMaxTracked = flowrecord.DefaultMaxTracked
	// DefaultMalformedSamples is how many malformed lines a digest quotes.
	DefaultMalformedSamples = 5
	// DefaultMaxAttempts is the failure budget of a window: after this many
	// runs started on the same window without finishing it (a crash, a
	// timeout, an error), the next run does not read it again; it writes a
	// digest marked incomplete for it and moves on.
	DefaultMaxAttempts = 3
)

// Config is everything one run needs besides the clients.
type Config struct {
	settings.Summarizer

	Slice            time.Duration // 0: DefaultSlice
	ReadConcurrency  int           // 0: DefaultReadConcurrency
	ReadRate         float64       // FilterLogEvents calls per second; 0: settings.DefaultReadCallsPerSecond(Region), negative: unpaced
	PageLimit        int32         // FilterLogEvents limit; 0: the service's (10,000)
	Reserve          time.Duration // 0: DefaultReserve
	MaxNewInterfaces int           // 0: DefaultMaxNewInterfaces
	MaxTracked       int           // 0: DefaultMaxTracked
	MalformedSamples int           // 0: DefaultMalformedSamples
	MaxAttempts      int           // 0: DefaultMaxAttempts
	// Findings are the findings' thresholds; zero: settings.DefaultFindings.
	Findings settings.Findings

	// AWSRanges are AWS's published IP ranges, loaded once per process by
	// LoadAWSRanges; nil means the copy built into the binary.
	AWSRanges *AWSRangesDoc

	// S3, when set, makes a run read the objects the flow logs deliver to
	// a bucket instead of the log group (s3source.go).
	S3 *S3Source
	// Organization mode (org.go) sets these for one spoke account-region.
	// DigestStream is the digest group's stream of this source; "" means
	// DigestStreamName. OrgRunID, when set, labels each digest with
	// Account, Region and the organization run. OnDigest, when set, is
	// called with each digest after it is written and before the
	// checkpoint moves, and with a digest adopted from a failed run: an
	// error stops the run before its checkpoint moves.
	DigestStream string
	OrgRunID     string
	OnDigest     func(context.Context, *Digest) error

	// MetricsOutput receives the embedded metric format lines; nil means
	// os.Stdout, where Lambda sends them to CloudWatch.
	MetricsOutput io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Slice <= 0 {
		c.Slice = DefaultSlice
	}
	if c.ReadConcurrency <= 0 {
		c.ReadConcurrency = DefaultReadConcurrency
	}
	if c.ReadRate == 0 {
		// The pace of FilterLogEvents and DescribeLogStreams: a share of
		// the region's FilterLogEvents quota, the lower of the two (see
		// settings.DefaultReadCallsPerSecond), leaving the rest to people
		// at the console.
		// Throttles beyond it are retried by the SDK's retryer.
		c.ReadRate = settings.DefaultReadCallsPerSecond(c.Region)
	}
	if c.Reserve <= 0 {
		c.Reserve = DefaultReserve
	}
	if c.MaxNewInterfaces <= 0 {
		c.MaxNewInterfaces = DefaultMaxNewInterfaces
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = DefaultMaxTracked
	}
	if c.MalformedSamples <= 0 {
		c.MalformedSamples = DefaultMalformedSamples
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = settings.DefaultMaxCatchUpHours * time.Hour
	}
	if c.TopK <= 0 {
		c.TopK = settings.DefaultTopK
	}
	if c.MetricsNamespace == "" {
		c.MetricsNamespace = settings.DefaultMetricsNamespace
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.DigestStream == "" {
		c.DigestStream = DigestStreamName
	}
	if c.Findings == (settings.Findings{}) {
		c.Findings = settings.DefaultFindings()
	}
	return c
}
