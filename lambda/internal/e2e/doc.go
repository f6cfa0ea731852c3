// Package e2e runs the whole product locally, as it runs in an account, with
// no AWS account: moto's server stands in for the AWS APIs, the Lambda
// Runtime Interface Emulator runs the real linux/arm64 bootstraps, and the
// harness plays the parts of the services that moto does not: CloudFormation
// (it creates what the synthesized template declares, and sends the custom
// resource's Create and Delete requests), EventBridge (it sends the aws.tag
// and scheduled events) and the VPC Flow Logs delivery service (it writes
// generated records into one eni-...-all stream per interface).
//
// The story's records fall in the past hour, as a real hour's would, so
// the summarizer's first window holds them without waiting on the clock.
// Moto dates a log stream when it is created, now; the service creates an
// interface's stream when it first delivers its records. The story's
// functions call moto through a motoproxy whose StreamClock hook reports
// each delivered stream's creationTime as that delivery time, so that the
// digest lists the interfaces as new, described from EC2.
//
// Nothing about the deployment is written down twice: log group names and
// retention, the delivery role's trust and policy, the run state table,
// the functions' environment and the custom resource's properties are read
// from the template that the CDK app synthesizes, and its Ref, Fn::GetAtt
// and Fn::Join are resolved against what the harness created.
//
// Why the deployment and the resolver (deploy.go, template.go) stay
// hand-written rather than moto's CloudFormation: tried with moto 5.2.1,
// CreateStack of the template's plain resources (log groups, roles,
// policies, the table) completes in 0.13 s, but it fails with HTTP 500 on
// the CDK's BootstrapVersion parameter (an SSM parameter type), so the
// template has to be cut to those resources anyway; it gives roles, tables
// and unnamed log groups random physical names that the harness would read
// back; and it ignores the table's PointInTimeRecoverySpecification (the
// table comes out DISABLED). Above all it cannot create the rest: the
// functions' code is a CDK asset in a bucket that does not exist (and the
// functions run under the Lambda emulator, not moto's Lambda), and the
// custom resource is what the harness plays. The functions' environment and
// the custom resource's properties, which are what the resolver is for, refer
// to those names, so the resolver would remain; creating the four plain
// types directly is a page of code that says what it creates.
//
// The same harness serves `make demo` (package e2e/demo, which prints what
// happens; its -destination=s3 path runs a named query in DuckDB through
// the command e2e/demo/athenademo, so that only it links DuckDB) and
// `make demo-org` (e2e/demoorg; the two share their start-up in
// e2e/demokit), and the end-to-end tests of this package (which assert it),
// including the fault runs, where a motoproxy with a Faults hook sits
// between the functions and moto.
//
// # Organization mode
//
// StartOrg runs the organization mode (`make demo-org`, TestOrgStory,
// TestOrgFaults). Moto supports several accounts: credentials that its
// sts:AssumeRole returns for a role ARN in another account act in that
// account, with resources isolated per account, and it implements
// Organizations (org.go: the organization, OUs, member accounts, each with
// the OrganizationAccountAccessRole that the harness assumes to act as its
// administrator; CloseAccount makes an account SUSPENDED). The app is
// synthesized in organization mode after the organization exists, because
// the organization's id and OUs, which moto chooses, go into the hub.
//
// What moto does not do, the harness plays:
//   - the StackSet (spokes.go): moto's CreateStackSet records a StackSet and
//     deploys no instance, so the harness reads the hub's StackSet (targets,
//     regions, parameters, automatic deployment, the spoke template from its
//     TemplateBody), lists the ACTIVE accounts under its targets, recursively,
//     and deploys the spoke template into each account-region with that
//     account's own credentials, with its parameters and conditions (the
//     assumable roles once per account); PlayStackSet again after an account
//     joins is the automatic deployment;
//   - STS's refusals (motoproxy.Accounts): moto's AssumeRole succeeds for a
//     role that does not exist; the functions' proxy answers it with STS's
//     AccessDenied, as for a spoke whose instance failed, and can deny an
//     account as an SCP would;
//   - Lambda's event source mappings (queue.go, Pump): batches received
//     from the hub's work queue (created from the template, with its redrive
//     policy, which moto applies), an events.SQSEvent per invocation, the
//     succeeded messages deleted and the batch item failures left for
//     redelivery, at most MaximumConcurrency invocations at once, one per
//     emulated function process;
//   - the hub bus (bus.go, OrgBus): its policy (aws:PrincipalOrgID) admits
//     only the organization's accounts, and its rules deliver the matching
//     spoke events, with the spoke's account and region, to their targets;
//   - CloudWatch's alarms (alarms.go, AlarmPlay): moto 5.2.1 stores
//     PutMetricAlarm and PutMetricData and answers GetMetricData, but never
//     evaluates an alarm (a new alarm even starts in OK, not
//     INSUFFICIENT_DATA), and nothing turns the functions' embedded metric
//     format lines into metrics, as CloudWatch Logs does in AWS (the
//     functions print them under the emulator, not into moto). The harness
//     creates the template's alarms in moto, publishes the EMF lines the
//     functions printed (same namespace, name, dimensions, unit and
//     timestamp), Lambda's Invocations and Errors of each invocation and
//     the queues' ApproximateNumberOfMessagesVisible (read from
//     GetQueueAttributes, which SQS would publish), then evaluates each
//     alarm from moto's datapoints (the last EvaluationPeriods periods,
//     DatapointsToAlarm of them, TreatMissingData; EvaluateAlarm) and sets
//     its state in moto, where DescribeAlarms reads it. The organization
//     story dates its first part one sweep alarm range and an hour back
//     (Offset), so that the repair's sweep is the next one as the alarms
//     see it.
//
// The harness registers no stack in moto: its stack id names none, so the
// enabler's check that the stack is not being deleted gets ValidationError,
// which by its documented rule (lambda/reconcile/stackcheck.go) lets event
// and sweep runs go on, with an error line in the function's log.
package e2e
