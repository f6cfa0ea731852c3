// Package digest summarizes the VPC flow log records of one time window into
// a digest a person reads: which network interfaces appeared and what they
// are, whom the traffic went to, what was rejected, and whether AWS lost
// records (SKIPDATA).
//
// One Run covers the half-open window [from, to) that starts at the
// checkpoint and ends the settle lag before now. It lists the flow log
// group's streams (DescribeLogStreams) to find the ones created in the
// window, describes their interfaces (DescribeNetworkInterfaces), reads the
// window's events (FilterLogEvents, all pages), parses each line with the
// format of the flow log that wrote it (DescribeFlowLogs) and aggregates the
// records with package flowrecord. It then writes the digest as one JSON
// event to the summary log group, emits embedded metrics, advances the
// checkpoint, and last publishes a plain-text rendering to SNS when a topic
// is configured: a failed publish leaves the window counted once and is
// reported as the run's error.
//
// The run's state lives in a DynamoDB table only the functions can write
// (package runstate), never in the digest group, which other roles can
// write: before reading, a run records an intent (a random nonce, its
// window, the attempts on the window) with a write conditional on the
// item's version, and its digest carries the nonce. A run that wrote its
// digest but failed to advance the checkpoint is not redone: the next run
// finds, at the intent's start time, the digest carrying exactly that nonce
// and window and moves the checkpoint to its end; nothing else found in the
// group moves it. No window, planned or from an intent, ends after now
// minus the settle lag.
//
// Exactly once: a record belongs to the window holding its event timestamp.
// The window is read in time slices, produced one at a time and finished in
// order; when the Lambda deadline nears, the run stops at the last finished
// slice, writes a digest marked partial with the range it covered, and
// checkpoints that range's end. The stack reserves a concurrency of 1, so
// runs do not overlap. Were two to race on one checkpoint version, the later
// write fails its condition and that run advances nothing; a digest it had
// already written stays in the group, so that window would have two
// digests, each carrying its own run's nonce.
//
// Bounded catch-up and failure: a checkpoint older than the catch-up limit
// (MaxCatchUp) skips to it and the digest reports the gap; a window on which
// MaxAttempts runs started without finishing gets a digest marked
// incomplete, and the checkpoint moves past it. Every run that finds a
// checkpoint emits its age (CheckpointAgeSeconds).
//
// Findings come first in every digest: port scans and sweeps from the
// aggregator's detectors, what is new since a baseline of the last days
// (public destinations, inbound service ports, interfaces), and bytes
// leaving to public addresses against the same window a week before, with
// AWS's ranges told apart by AWS's ip-ranges.json, fetched once per
// process at cold start, or the copy built into the binary when the fetch
// is off or fails (awsranges.go); the digest says which. The baseline is a fixed ring of daily Bloom
// filters and an hourly history in the run state table (baseline.go),
// read while the window is read and written once the checkpoint advanced.
// DIGEST.md gives the schema, the thresholds and the error rates.
//
// Records, stream names and interface descriptions are written by others:
// the plain text escapes and caps every string it did not make itself
// (sanitize.go), and an interface id is taken only from a stream name of
// the delivery service's form (streamInterface). DIGEST.md lists the rules.
//
// S3 mode (Config.S3): the records come from the objects the flow logs
// deliver to a bucket instead of the log group; everything after the read
// (aggregation, digest, rendering, metrics, run state) is the same, through
// the source interface (source.go). The unit of exactly-once is the object:
// an object belongs to the window holding the delivery time in its file
// name (<account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>),
// whatever times its records carry, and each slice lists only the hour (or
// day) folders of its own times (ListObjectsV2 with the folder's prefix),
// never the bucket. An object re-delivered under the same key is one key; an
// object delivered more than the settle lag after the time in its name is
// not counted, like a late record in the log group. Parquet objects are
// read column-wise, a row group and one page of each column at a time (the
// footer through parquet-go once checked, the pages by the decoder's own
// reader, each gzip page inflated once and bounded, levels and values by
// parquet-go's encodings once their counts are checked), each row's typed values read straight from the pages' buffers by
// flowrecord's Parser.ReadColumns, which validates them as the text parser
// validates the row's text form, without rendering it (a row it does not
// take at once goes through a Row and Parser.ParseRow); a string
// dictionary page's values are checked once (flowrecord.Dict, at most 4 MiB
// held a decoder) and rows take them by index, and so are the distinct
// values of a plain string page, through an interner (parquetintern.go:
// at most 1,024 values a column and row group, past which the chunk is
// read per row); gzip text line by line
// through the same parser as an event. Both go to the same
// aggregator.
// New interfaces: objects have no per-interface streams, so an interface
// is new when the window's records name it and the run state's bounded set
// of interfaces already seen does not hold it; the set is written before
// the digest with the window's ids pending until the checkpoint reaches
// the window's end, so a failed run marks none seen (s3interfaces.go).
// Keys and contents are hostile: keys are checked against AWS's layout,
// objects are bounded in size and in what their footers, pages and runs
// may declare, and an object that cannot be read is named in the
// digest's warnings while the others count (s3source.go, parquet.go,
// parquetfooter.go, parquetpages.go, parquetvalues.go, parquetintern.go).
//
// The log group's reads are paced at a share of the region's
// FilterLogEvents quota (settings.DefaultReadCallsPerSecond; 25 calls a
// second in us-east-1, 5 in a few regions, 10 elsewhere), leaving the rest
// to people at the console.
// Organization mode (Org, org.go): the schedule's tick records a run and
// enqueues one SQS message per ACTIVE account × region of the
// organization; each message runs the digest above for that account-region
// with clients acting as the spoke's reader role, its checkpoint keyed by
// the spoke's account and region, its digest in the hub's digest group
// (stream <account>/<region>); each finished account-region stores a
// compact summary in the run (package runstate), counted once, and the
// last to finish writes the organization roll-up (stream organization):
// totals by account and region, merged top lists (approximate, with error
// bounds), new interfaces and lost records by account, and the
// account-regions that could not be read and why. DIGEST.md describes both.
//
// The AWS clients are narrow interfaces declared here (LogsAPI, EC2API,
// TopicAPI, S3API) and in package runstate (runstate.API), satisfied by the SDK's
// clients.
package digest
