// Package digest summarizes the VPC flow log records of one time window into
// a digest a person reads: which network interfaces appeared and what they
// are, whom the traffic went to, what was rejected, and whether AWS lost
// records (SKIPDATA).
//
// One Run covers the half-open window [from, to) that starts at the
// checkpoint (an SSM parameter) and ends the settle lag before now. It lists
// the flow log group's streams (DescribeLogStreams) to find the ones created
// in the window, describes their interfaces (DescribeNetworkInterfaces),
// reads the window's events (FilterLogEvents, all pages), parses each line
// with the format of the flow log that wrote it (DescribeFlowLogs) and
// aggregates the records with package flowrecord. It then writes the digest
// as one JSON event to the summary log group, emits embedded metrics,
// advances the checkpoint, and last publishes a plain-text rendering to SNS
// when a topic is configured: a failed publish leaves the window counted
// once and is reported as the run's error.
//
// Exactly once: a record belongs to the window holding its event timestamp.
// The window is read in time slices, finished in order; when the Lambda
// deadline nears, the run stops at the last finished slice, writes a digest
// marked partial with the range it covered, and checkpoints that range's end.
// A run that wrote its digest but failed to advance the checkpoint is not
// redone: the newest digest in the summary group is the source of truth, and
// a digest that starts at the checkpoint moves the checkpoint to its end.
// The run finds it by reading the digest stream forward from shortly before
// the checkpoint to the stream's end (a repeated nextForwardToken); empty
// pages on the way are not the end.
//
// Records, stream names and interface descriptions are written by others:
// the plain text escapes and caps every string it did not make itself
// (sanitize.go), and an interface id is taken only from a stream name of
// the delivery service's form (streamInterface). DIGEST.md lists the rules.
//
// The AWS clients are narrow interfaces declared here (LogsAPI, EC2API,
// ParameterAPI, TopicAPI), satisfied by the SDK's clients.
package digest
