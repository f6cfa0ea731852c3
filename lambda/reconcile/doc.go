// Package reconcile keeps a flow log on every tagged VPC: the logic of the
// enabler Lambda.
//
// A run has three parts. Discover lists the VPCs carrying the configured tag
// (DescribeVpcs with tag filters, up to 200 of the configured values a
// call) and every flow log of the account and region (DescribeFlowLogs
// without a filter, 1,000 a page), which holds the tagged VPCs' flow logs
// and this deployment's own anywhere. A run for an
// event naming at most 200 VPCs instead filters DescribeVpcs and
// DescribeFlowLogs by their ids; EC2 takes at most 200 values a filter.
// NewPlan then decides per VPC:
//
//   - covered: a flow log, whoever created it, delivers the traffic type
//     (or ALL) to the log group of this account (the delivery role's) and
//     region (Reconciler.Region): left alone. A LogDestination ARN of a
//     group with the same name elsewhere covers nothing;
//   - missing: a flow log is created with the configured settings, unless the
//     VPC already has AWS's maximum of two (reported per VPC, no call made);
//   - stale: one of this deployment's flow logs differs from the settings or
//     its delivery FAILED: it is deleted and created again (flow logs are
//     immutable);
//   - untagged: this deployment's flow logs on VPCs that no longer match are
//     removed when RemoveFlowLogsOnUntag is true.
//
// With an S3 destination (settings.Destination, destination.go) a flow
// log is created with LogDestinationType s3, the bucket ARN and prefix as
// LogDestination, the DestinationOptions (file format, Hive-compatible
// prefixes, per-hour partitions) and no log group or delivery role. A flow
// log covers a VPC only when it delivers the same way: S3, the same bucket
// and prefix, and all three options (AWS reports a flow log without
// options as plain-text, false, false); one of this deployment's that
// differs in any of them, or still delivers to CloudWatch Logs, is
// replaced.
//
// Apply deletes and creates in batches of up to 1,000 with a ClientToken
// per run and batch, tagging every created flow log with the owner at creation. A
// failure of one VPC, whether reported in Unsuccessful or as an error of the
// whole call (the batch is split to isolate it), never stops the others;
// FlowLogAlreadyExists counts as covered when a re-check finds a covering
// flow log. Throttling is retried by the SDK's retryer (see awsconfig).
//
// Handler is the one entry point of the Lambda: CloudFormation custom
// resource requests (answered before the deadline, with a deterministic
// physical id and a response within 4,096 bytes, by an AnswerClient that
// limits each PUT's time and retries 429, 5xx and network errors with
// backoff, where cfn.LambdaWrap sends once with no time limit), tag
// change and CloudTrail CreateVpc events (only the VPCs they name, read
// afresh), CloudTrail DeleteFlowLogs events and the scheduled sweep
// (everything). A deleted flow log's VPC can no longer be looked up, so a
// deletion starts a full run; the enabler's own deletions (its role is
// ENABLER_ROLE_ARN) and deletions that a later full run has already seen
// start none. In a dry run the plan is logged and nothing is changed.
//
// Before an event or sweep run looks at EC2, CheckStack asks CloudFormation
// for the owner stack's status (one DescribeStacks call, by stack id): while
// the stack is being deleted, deleted, or a failed creation is rolled back,
// the run changes nothing and says why (Result.Stopped, a "the stack is
// going" log line). An event queued behind the custom resource's Delete, or
// an EventBridge retry, would otherwise recreate flow logs whose delivery
// role is deleted next. No answer fails the run with an error; an id that
// names no stack lets it go on, logged as an error. CloudFormation's own
// requests are not checked: the Delete arrives while the stack is being
// deleted.
//
// Every run logs one JSON line per action (msg "flow log action", with
// vpcId, action, flowLogId, error) and one "reconcile summary" line, and
// writes EMF metrics: TaggedVPCs, CoveredVPCs and UncoveredVPCs from runs
// that see every tagged VPC; FailedVPCs, PendingVPCs, CreatedFlowLogs,
// ReplacedFlowLogs and RemovedFlowLogs from every run that is not a dry run.
//
// # Compliance mode
//
// With COMPLIANCE_MODE=true (settings.Enabler.ComplianceMode, both modes)
// every VPC is in scope whatever its tags: a full run lists the VPCs
// without a tag filter, an event's VPCs all match, and no flow log is
// removed for a missing tag.
//
// # Organization mode
//
// With ORGANIZATION_ID set, lambda/enabler calls EnableOrganization and the
// same Handler covers the member accounts of an AWS Organization from the
// hub (OrgMode; discovery, assumed roles and ForEach are in lambda/org):
//
//   - the schedule (and the custom resource's Create and Update, which
//     answer once it is enqueued) lists the ACTIVE accounts under the
//     targets, records a sweep in the run state table (runstate.SweepStore)
//     and sends one SQS message per account naming every region, ten a
//     SendMessageBatch call;
//   - an SQS message (events.SQSEvent, batch item failures reported) is
//     validated like any input (an invalid one is logged and dropped),
//     then its regions are reconciled in parallel through the account's
//     VpcFlowLogsSpokeEnabler role, assumed once for all of them, with the
//     spoke's VpcFlowLogsDelivery-<region> role and the hub's owner tag. A
//     sweep's run lists every VPC unfiltered (Target.Inventory: as many
//     calls as the tag-filtered listing) so that its coverage can name the
//     VPCs out of scope too; each account-region's coverage, or the
//     reason it was unreachable, is counted once in the sweep, and the
//     last writes the coverage document (COVERAGE.md) and the
//     organization's metrics (FailedVPCs among them: the account-regions'
//     runs write none), without a dimension per account;
//   - an event forwarded from a spoke (its account and region fields)
//     reconciles that account-region's named VPCs (a DeleteFlowLogs
//     someone else made: the whole account-region), once the account is
//     found ACTIVE under the targets (the account set is kept five minutes
//     per warm instance) and the region covered; anything else is ignored
//     and logged;
//   - the custom resource's Delete removes this stack's flow logs from
//     every account-region directly, 50 at a time, before answering: the
//     queue and its function are deleted right after it.
//
// A failing account-region (role missing or denied, region not enabled,
// throttling) is logged and reported by account-region with its class and
// reason (org.Outcome) and never stops the others. A message that failed
// for a reason that may pass (throttling, anything unclassified, the run
// state's store) is made visible again after a jittered 30 to 120 s
// (ChangeMessageVisibility, orgretry.go with lambda/org's QuickRetry, which
// the summarizer shares) rather than the queue's 30-minute
// timeout; a sweep records such an account-region as unreachable on its
// third delivery. A permanent failure is recorded in the sweep at once;
// an event's message keeps the queue's timeout, so it is retried slowly
// and then lands in the dead-letter queue, not in a loop.
//
// With an S3 destination as well, every spoke's flow logs deliver to the
// hub's central bucket (the hub's BUCKET_ARN and prefix, the same three
// DestinationOptions) with no delivery role, and someone else's flow log
// covers a VPC only when it delivers that same way, as in single-account
// S3 mode (OrgMode.spokeConfig, destination.go).
package reconcile
