// Package vpcflowlogs is a CDK construct that keeps a flow log on every VPC
// carrying a tag, delivers the records to one CloudWatch Logs group, and
// summarizes new log streams into a digest a person reads.
//
// It defines:
//   - the delivery role the VPC Flow Logs service assumes, trusted by
//     vpc-flow-logs.amazonaws.com for this account only, allowed to write to
//     the flow log group and nothing else;
//   - the flow log group (retained when the stack is deleted) and, beside it,
//     the digest group;
//   - the enabler function and the custom resource backed directly by it,
//     which reconciles on every stack create and update, on EC2 tag changes,
//     on CloudTrail CreateVpc and DeleteFlowLogs calls and on a periodic
//     sweep; every rule depends on the custom resource, so a stack deletion
//     removes the rules before the custom resource removes the flow logs,
//     and an event still queued after that finds the stack being deleted
//     (the enabler may describe this stack and no other) and changes nothing;
//   - the summarizer function, its schedule and its run state table
//     (DynamoDB, written only by the summarizer);
//   - alarms on either function's errors, digest staleness, uncovered and
//     failed VPCs and lost records (SKIPDATA), optionally notifying an SNS
//     topic, and a dashboard that shows them beside the functions' metrics;
//   - saved Logs Insights queries over the flow log group.
//
// With Props.Destination "s3" (S3Options, bucket.go and athena.go) the
// flow logs deliver to a bucket instead, and there is neither delivery role
// nor flow log group:
//   - the bucket (or an existing one, whose policy the stack cannot set):
//     public access blocked, TLS only, ACLs disabled (bucket owner
//     enforced), SSE-S3 or the configured KMS key, objects expiring after
//     RetentionDays, server access logs into a bucket of their own,
//     retained with the stack; its policy admits delivery.logs.amazonaws.com
//     to write under this account's prefix only (DeliveryPolicyStatements:
//     aws:SourceAccount, or aws:SourceOrgID, and aws:SourceArn);
//   - the enabler creates the flow logs with the bucket as destination and
//     the file format, Hive-compatible and per-hour options; the summarizer
//     may list and read under <prefix>/AWSLogs/ and nothing else;
//   - a Glue database and table with partition projection over AWS's key
//     layout, an Athena workgroup with enforced settings, a per-query
//     scan cutoff and its own results bucket (a week's expiry), and the
//     named queries of package athenaquery instead of the saved Logs
//     Insights queries.
//
// It is a library: vpcflowlogs.New(stack, id, Props{...}) works from any
// CDK Go app whose go.mod requires this module. Props are validated with the
// functions' own rules (package settings) before anything is defined, and
// every zero field takes the settings default. Left unset, EnablerCode and
// SummarizerCode are built from this module's lambda/enabler and
// lambda/summarizer (BuildBootstrap: linux/arm64, the Makefile's flags) into
// the app's output directory; the app in cdk/ passes make build's output
// instead. Two instances in one account and region need their own
// LogGroupName and MetricsNamespace; the dashboard is named after the stack,
// the construct id and the region.
//
// Every role has only inline permissions scoped to the resources above; the
// few wildcards that remain are EC2 Describe calls, which have no
// resource-level permissions.
//
// # Organization mode
//
// With Props.Organization.ID set, New defines the hub of an AWS
// Organization instead (hub.go), deployed once, from the management account
// or a delegated administrator of CloudFormation StackSets:
//   - the same two functions, with the fixed role names the spokes trust
//     (settings.HubEnablerRoleName, HubSummarizerRoleName), allowed to
//     assume only their spoke role and only in the organization's accounts
//     (sts:AssumeRole on arn:…:iam::*:role/<spoke role> with
//     aws:ResourceOrgID: the account wildcard is unavoidable, accounts join
//     after deployment), and to list the organization;
//   - one SQS work queue per function with its dead-letter queue
//     (queues.go): one message per account-region, retried on its own,
//     at most 20 at once;
//   - the bus VpcFlowLogsHub, whose policy admits only the organization,
//     with the enabler's event rules; the sweep and digest schedules;
//   - the digest group and the run state table (no flow log group or
//     delivery role: each spoke has its own);
//   - today's alarms plus unreachable account-regions and dead letters;
//   - a service-managed StackSet (stackset.go) that deploys the spoke
//     template (spoke.go, NewSpoke, SpokeTemplate) to the target OUs in the
//     covered regions and to accounts that join them later. It is
//     CloudFormation's own CfnStackSet with the spoke inline, not the
//     experimental cdk-stacksets library, whose asset-based template would
//     tie the spokes to a bootstrapped hub and a shared bucket; stackset.go
//     says which operation preferences and why. Service-managed StackSets
//     never deploy to the management account.
//
// The spoke holds no code and no asset: the flow log group and delivery
// role as in single-account mode, and, in one region only (the first
// covered region, or the hub's), the two
// roles the hub assumes, each trusting exactly one hub role ARN with
// aws:PrincipalOrgID; rules forward the account-region's VPC events to the
// hub's bus. ComplianceMode covers every VPC whatever its tags, in both
// modes.
//
// With Destination "s3" as well (orgbucket.go), the hub creates one central
// bucket for the organization (or takes S3.BucketARN) with the
// single-account bucket's hardening and a delivery policy admitting
// delivery.logs.amazonaws.com from the organization's accounts
// (aws:SourceOrgID), and the Glue table, workgroup and named queries over
// it, the account partition injected (each query names its account). The
// spokes then have no flow log group and no delivery role; their enabler
// role may create the log delivery (logs:CreateLogDelivery,
// DeleteLogDelivery) and their reader role only describes interfaces and
// flow logs: the hub's summarizer reads the bucket in its own account.
package vpcflowlogs
