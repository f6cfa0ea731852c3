package vpcflowlogs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Organization mode delivering to S3: one central bucket in the hub
// account for every account of the organization, the pattern of AWS's
// multi-account guidance (a log archive bucket).
//
//   - The hub creates the bucket with the single-account bucket's hardening
//     (defineBucket: public access blocked, TLS only, bucket owner
//     enforced, SSE-S3 or the KMS key, expiry after RetentionDays, server
//     access logs), or takes S3.BucketARN. Its delivery policy
//     (DeliveryPolicyStatements with the organization's id) admits
//     delivery.logs.amazonaws.com from any account of the organization
//     (aws:SourceOrgID, for PutObject under <prefix>/AWSLogs/ and for
//     GetBucketAcl and ListBucket on the bucket), from a logs ARN of any
//     region and account (aws:SourceArn arn:<partition>:logs:*:*:*).
//   - With a customer managed key, its key policy must admit the delivery
//     service from the organization: the statement of defineBucket's
//     comment with "aws:SourceOrgID": "<o-…>" in place of aws:SourceAccount
//     and the source ARN arn:<partition>:logs:*:*:*.
//   - The spokes get no log group and no delivery role (spoke.go); their
//     enabler role may create the log delivery instead, and their reader
//     role only describes interfaces and flow logs.
//   - The hub's enabler creates each spoke's flow logs to the bucket: its
//     environment carries the bucket's ARN and the destination options,
//     so the spoke template needs no parameter for them.
//   - The hub's summarizer reads each account-region's folder of the
//     bucket in the hub account (grantSummarizerS3) and describes the
//     spoke's interfaces through the reader role.
//   - The Glue table's account partition is injected (athenaquery.Table
//     with no Accounts), not an enum: the organization's accounts are not
//     known at synthesis and change after it, and an enum would need a
//     deployment for every account that joins. The cost is that every
//     query must name its accounts with equality (aws_account_id = '…' or
//     IN (…)): the named queries take the account as their first
//     parameter (athenaquery.ForAccount), and a query over many accounts
//     lists them. Athena then reads only those accounts' folders.

// defineHubBucket defines the central bucket (or imports S3.BucketARN)
// before the hub's functions, whose settings name it.
func (c *VPCFlowLogs) defineHubBucket(p Props, key awskms.IKey) {
	if p.isS3() {
		c.defineBucket(p, key)
	}
}

// hubSummarizerS3 gives the hub's summarizer the destination's settings
// and the bucket's reads.
func (c *VPCFlowLogs) hubSummarizerS3(p Props, key awskms.IKey) {
	if !p.isS3() {
		return
	}
	env := map[string]*string{}
	for _, s := range destinationSettings(p.destination(*c.FlowLogBucket.BucketArn())) {
		env[s.env] = s.value
	}
	addEnvironment(c.Summarizer, env)
	grantSummarizerS3(c, p, key)
}

// defineHubAthena defines the Glue table, workgroup and named queries over
// the central bucket, and records why the S3 parts' wildcards are needed.
func (c *VPCFlowLogs) defineHubAthena(p Props) {
	if !p.isS3() {
		return
	}
	c.Athena = newAthena(c, p)
	if c.AccessLogBucket != nil {
		cdknag.NagSuppressions_AddResourceSuppressions(c.AccessLogBucket, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-S1"),
			Reason: jsii.String("This is the bucket of the other buckets' server access logs; logging it into itself would log its own log deliveries without end."),
		}}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c.Summarizer.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("The flow log files' keys are chosen by the delivery service (account, region, date, hour, flow log id, hash): " +
			"reading every account's needs a wildcard under <prefix>/AWSLogs/, and nothing outside it."),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*\/AWSLogs\/\*$/`)}},
	}}, jsii.Bool(true))
}

// tableRegions are the regions the Glue table projects: the covered
// regions in organization mode, the stack's own otherwise.
func tableRegions(stack awscdk.Stack, p Props) []string {
	if p.Organization.ID == "" {
		return []string{*stack.Region()}
	}
	var out []string
	for _, r := range *hubRegions(stack, p) {
		out = append(out, *r)
	}
	return out
}
