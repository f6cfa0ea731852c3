package vpcflowlogs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// S3Options configures delivery to S3 (Props.Destination "s3"). A zero
// field takes its default.
type S3Options struct {
	// BucketARN is an existing bucket to deliver to. Default: a bucket the
	// stack creates, retained when the stack is deleted. The stack cannot
	// change an existing bucket's policy or encryption: give it the policy
	// DeliveryPolicyStatements describes (see README).
	BucketARN string
	// Prefix is the key prefix before AWSLogs/. Default: none.
	Prefix string
	// FileFormat is "parquet" (default) or "plain-text".
	FileFormat string
	// HiveCompatiblePartitions and PerHourPartition are the flow logs'
	// destination options. Default true for both: Athena's partition
	// projection and the digest read the hour partitions.
	HiveCompatiblePartitions *bool
	PerHourPartition         *bool
	// AthenaBytesScannedLimit is the Athena workgroup's cutoff per query,
	// in bytes. Default 100 GB ($0.50 at $5 per TB).
	AthenaBytesScannedLimit int
	// SourceOrganizationID, when set (o-…), admits delivery into the
	// created bucket from every account of that organization
	// (aws:SourceOrgID) instead of this account only (aws:SourceAccount).
	SourceOrganizationID string
}

func (o S3Options) withDefaults() S3Options {
	o.FileFormat = or(o.FileFormat, settings.DefaultFileFormat)
	o.HiveCompatiblePartitions = or(o.HiveCompatiblePartitions, ptr(settings.DefaultHiveCompatible))
	o.PerHourPartition = or(o.PerHourPartition, ptr(settings.DefaultPerHourPartition))
	o.AthenaBytesScannedLimit = or(o.AthenaBytesScannedLimit, settings.DefaultAthenaBytesScannedLimit)
	return o
}

// organizationIDRE is the shape of an AWS Organizations id.
var organizationIDRE = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)

func (o S3Options) checks() []struct {
	field string
	err   error
} {
	org := func(id string) error {
		if !organizationIDRE.MatchString(id) {
			return fmt.Errorf("organization id %q is not valid: want o- and 10 to 32 lower-case letters or digits", id)
		}
		return nil
	}
	return []struct {
		field string
		err   error
	}{
		{"S3.BucketARN", ifSet(o.BucketARN, settings.ValidateBucketARN)},
		{"S3.Prefix", settings.ValidateBucketPrefix(o.Prefix)},
		{"S3.FileFormat", settings.ValidateFileFormat(o.FileFormat)},
		{"S3.AthenaBytesScannedLimit", settings.ValidateAthenaBytesScannedLimit(o.AthenaBytesScannedLimit)},
		{"S3.SourceOrganizationID", ifSet(o.SourceOrganizationID, org)},
	}
}

func (p Props) isS3() bool { return p.Destination == settings.DestinationS3 }

// destination is the settings value of p's S3 delivery, with bucketARN the
// ARN of the bucket (a token when the stack creates it).
func (p Props) destination(bucketARN string) settings.Destination {
	return settings.Destination{
		Type: settings.DestinationS3, BucketARN: bucketARN, Prefix: p.S3.Prefix, FileFormat: p.S3.FileFormat,
		HiveCompatible: *p.S3.HiveCompatiblePartitions, PerHourPartition: *p.S3.PerHourPartition,
	}
}

// destinationSettings are the destination's environment variables and
// custom resource properties, for both functions.
func destinationSettings(d settings.Destination) []enablerSetting {
	str, boolean := jsii.String, func(b bool) *string { return jsii.String(strconv.FormatBool(b)) }
	return []enablerSetting{
		{env: settings.EnvDestination, prop: settings.PropDestination, value: str(d.Type)},
		{env: settings.EnvBucketARN, prop: settings.PropBucketARN, value: str(d.BucketARN)},
		{env: settings.EnvBucketPrefix, prop: settings.PropBucketPrefix, value: str(d.Prefix)},
		{env: settings.EnvFileFormat, prop: settings.PropFileFormat, value: str(d.FileFormat)},
		{env: settings.EnvHiveCompatible, prop: settings.PropHiveCompatible, value: boolean(d.HiveCompatible)},
		{env: settings.EnvPerHourPartition, prop: settings.PropPerHourPartition, value: boolean(d.PerHourPartition)},
	}
}

// Lifetimes of the buckets that are not evidence.
const (
	// athenaResultsExpiryDays: query results are kept a week, long enough
	// to download, short enough that they do not pile up.
	athenaResultsExpiryDays = 7
)

// defineBucket defines, in S3 mode, the bucket flow logs deliver to (or
// imports the configured one) with the policy the delivery service needs,
// and the bucket of its server access logs.
//
// With a customer managed key (Props.KMSKeyARN), the key's policy must let
// the delivery service use it, which the stack cannot add to a key it does
// not own. The statement AWS documents for vended logs to S3 with SSE-KMS
// (CloudWatch Logs user guide, "Logs sent to Amazon S3"):
//
//	{"Sid": "AllowVPCFlowLogsToUseTheKey", "Effect": "Allow",
//	 "Principal": {"Service": "delivery.logs.amazonaws.com"},
//	 "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
//	 "Resource": "*",
//	 "Condition": {"StringEquals": {"aws:SourceAccount": "<account>"},
//	               "ArnLike": {"aws:SourceArn": "arn:<partition>:logs:<region>:<account>:*"}}}
func (c *VPCFlowLogs) defineBucket(p Props, key awskms.IKey) {
	if p.S3.BucketARN != "" {
		c.FlowLogBucket = awss3.Bucket_FromBucketArn(c.Construct, jsii.String("FlowLogBucket"), jsii.String(p.S3.BucketARN))
		return
	}
	c.AccessLogBucket = newAccessLogBucket(c.Construct, p.RetentionDays)
	props := secureBucketProps(p.RetentionDays)
	// Flow logs are evidence, as the log group is in the default mode.
	props.RemovalPolicy = awscdk.RemovalPolicy_RETAIN
	if key != nil {
		props.Encryption, props.EncryptionKey = awss3.BucketEncryption_KMS, key
		// One data key per bucket and time window instead of one KMS call
		// per object: AWS delivers a file every five minutes per flow log.
		props.BucketKeyEnabled = jsii.Bool(true)
	}
	bucket := awss3.NewBucket(c.Construct, jsii.String("FlowLogBucket"), props)
	logAccess(bucket, c.AccessLogBucket, "flow-logs/")
	for _, s := range DeliveryPolicyStatements(awscdk.Stack_Of(c.Construct), *bucket.BucketArn(), p.destination(""), p.S3.SourceOrganizationID) {
		bucket.AddToResourcePolicy(s)
	}
	c.FlowLogBucket = bucket
}

// secureBucketProps are the settings every bucket of the stack shares:
// public access blocked, TLS only, ACLs disabled (bucket owner enforced),
// SSE-S3, objects expiring after expiryDays. Server access logging is set
// by logAccess.
func secureBucketProps(expiryDays int) *awss3.BucketProps {
	return &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("Expire"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(float64(expiryDays))),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	}
}

// newAccessLogBucket is the bucket of the other buckets' server access
// logs (cdk-nag's AwsSolutions-S1). It cannot log into itself; its own
// suppression says so. SSE-S3 only: S3 does not deliver server access logs
// to a bucket whose default encryption is SSE-KMS.
func newAccessLogBucket(scope constructs.Construct, expiryDays int) awss3.Bucket {
	return awss3.NewBucket(scope, jsii.String("AccessLogBucket"), secureBucketProps(expiryDays))
}

// logAccess turns on bucket's server access logging into accessLogs under
// prefix, and lets the logging service write there: with ACLs disabled S3
// takes the bucket policy AWS documents for it (S3 user guide, "Permissions
// for log delivery"): logging.s3.amazonaws.com, s3:PutObject under the
// prefix, from this bucket (aws:SourceArn) of this account. It is set on the
// CloudFormation resource because the L2 property falls back to an ACL that
// bucket owner enforced rejects unless the app sets a feature flag, and a
// library cannot rely on its app's flags.
func logAccess(bucket awss3.Bucket, accessLogs awss3.Bucket, prefix string) {
	cfn := bucket.Node().DefaultChild().(awss3.CfnBucket)
	cfn.SetLoggingConfiguration(&awss3.CfnBucket_LoggingConfigurationProperty{
		DestinationBucketName: accessLogs.BucketName(),
		LogFilePrefix:         jsii.String(prefix),
	})
	accessLogs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("S3ServerAccessLogs" + strings.NewReplacer("/", "", "-", "").Replace(prefix)),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logging.s3.amazonaws.com"), nil)},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  jsii.Strings(*accessLogs.ArnForObjects(jsii.String(prefix + "*"))),
		Conditions: &map[string]any{
			"ArnLike":      map[string]any{"aws:SourceArn": bucket.BucketArn()},
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Stack_Of(bucket).Account()},
		},
	}))
}

// DeliveryPolicyStatements are the bucket policy statements VPC flow log
// delivery needs, as the VPC user guide ("Amazon S3 bucket permissions for
// flow logs") and the CloudWatch Logs user guide ("Logs sent to Amazon S3")
// give them, narrowed to this deployment's keys:
//
//   - AWSLogDeliveryWrite: delivery.logs.amazonaws.com may s3:PutObject
//     under the prefix of this account's files only (d.AccountKeyPrefix:
//     AWSLogs/aws-account-id=<account>/ in the Hive layout, AWSLogs/<account>/
//     otherwise), with the bucket-owner-full-control ACL. With ACLs disabled
//     (bucket owner enforced) S3 accepts that one canned ACL and ignores it;
//     the condition stays because the delivery service sends the header and
//     AWS documents the statement with it.
//   - AWSLogDeliveryAclCheck: s3:GetBucketAcl and s3:ListBucket on the
//     bucket; without ListBucket the service logs AccessDenied in CloudTrail.
//
// Both carry the confused-deputy conditions: aws:SourceAccount = this
// account and aws:SourceArn = arn:<partition>:logs:<region>:<account>:*. With
// organizationID set, aws:SourceOrgID admits every account of the
// organization, the write grant covers every account's prefix
// (<prefix>/AWSLogs/*) and the source ARN any region and account.
func DeliveryPolicyStatements(stack awscdk.Stack, bucketARN string, d settings.Destination, organizationID string) []awsiam.PolicyStatement {
	principal := awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)
	source := map[string]any{"aws:SourceAccount": stack.Account()}
	sourceARN := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("*"), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME})
	objects := bucketARN + "/" + d.AccountKeyPrefix(*stack.Account()) + "*"
	if organizationID != "" {
		source = map[string]any{"aws:SourceOrgID": organizationID}
		sourceARN = jsii.String("arn:" + *stack.Partition() + ":logs:*:*:*")
		objects = bucketARN + "/" + logsRoot(d) + "*"
	}
	write := map[string]any{"s3:x-amz-acl": "bucket-owner-full-control"}
	for k, v := range source {
		write[k] = v
	}
	arnLike := map[string]any{"aws:SourceArn": sourceARN}
	return []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AWSLogDeliveryWrite"),
			Principals: &[]awsiam.IPrincipal{principal},
			Actions:    jsii.Strings("s3:PutObject"),
			Resources:  jsii.Strings(objects),
			Conditions: &map[string]any{"StringEquals": write, "ArnLike": arnLike},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AWSLogDeliveryAclCheck"),
			Principals: &[]awsiam.IPrincipal{principal},
			Actions:    jsii.Strings("s3:GetBucketAcl", "s3:ListBucket"),
			Resources:  jsii.Strings(bucketARN),
			Conditions: &map[string]any{"StringEquals": source, "ArnLike": arnLike},
		}),
	}
}

// logsRoot is "<prefix>/AWSLogs/", or "AWSLogs/" without a prefix: where
// every account's files are.
func logsRoot(d settings.Destination) string {
	if d.Prefix == "" {
		return "AWSLogs/"
	}
	return d.Prefix + "/AWSLogs/"
}

// grantSummarizerS3 lets the summarizer list and read the flow log files
// and nothing else of the bucket: ListBucket only with a prefix under
// <prefix>/AWSLogs/, GetObject only on keys there, and with a customer
// managed key kms:Decrypt through S3 only.
func grantSummarizerS3(c *VPCFlowLogs, p Props, key awskms.IKey) {
	d := p.destination("")
	bucketARN := *c.FlowLogBucket.BucketArn()
	c.Summarizer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ListFlowLogFiles"),
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  jsii.Strings(bucketARN),
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": logsRoot(d) + "*"}},
	}))
	c.Summarizer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadFlowLogFiles"),
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(bucketARN + "/" + logsRoot(d) + "*"),
	}))
	if key == nil {
		return
	}
	c.Summarizer.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DecryptFlowLogFiles"),
		Actions:    jsii.Strings("kms:Decrypt"),
		Resources:  &[]*string{key.KeyArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + *awscdk.Stack_Of(c.Construct).Region() + ".amazonaws.com"}},
	}))
}

// grantEnablerS3 adds what CreateFlowLogs and DeleteFlowLogs need for a
// flow log to S3 beyond the EC2 permissions: the log delivery that EC2
// sets up on the caller's behalf (the VPC user guide, "Create a flow log
// that publishes to Amazon S3", and "IAM policy for IAM principals that
// publish flow logs to Amazon S3").
func grantEnablerS3(fn awslambda.Function) {
	fn.AddToRolePolicy(logDeliveryStatement())
}

// logDeliveryStatement allows the log delivery EC2 sets up for a flow log
// to S3: the enabler's in single-account mode, the spoke enabler role's in
// organization mode.
func logDeliveryStatement() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:     jsii.String("LogDeliveryForS3FlowLogs"),
		Actions: jsii.Strings("logs:CreateLogDelivery", "logs:DeleteLogDelivery"),
		// These two actions have no resource types in IAM's service
		// authorization reference: "*" is the only resource they take.
		Resources: jsii.Strings("*"),
	})
}

// suppressS3Nag records why the S3 mode's remaining cdk-nag findings are
// accepted, each on the one resource it concerns.
func suppressS3Nag(c *VPCFlowLogs) {
	suppress := func(scope constructs.IConstruct, id, reason string, appliesTo ...any) {
		s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			s.AppliesTo = &appliesTo
		}
		cdknag.NagSuppressions_AddResourceSuppressions(scope, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
	}
	if c.AccessLogBucket != nil {
		suppress(c.AccessLogBucket, "AwsSolutions-S1",
			"This is the bucket of the other buckets' server access logs; logging it into itself would log its own log deliveries without end.")
	}
	suppress(c.Enabler.Role(), "AwsSolutions-IAM5",
		"logs:CreateLogDelivery and logs:DeleteLogDelivery, which creating and deleting a flow log to S3 needs, take no resource but *.",
		"Resource::*")
	suppress(c.Summarizer.Role(), "AwsSolutions-IAM5",
		"The flow log files' keys are chosen by the delivery service (date, hour, flow log id, hash): reading them needs a wildcard under <prefix>/AWSLogs/, and nothing outside it.",
		&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*\/AWSLogs\/\*$/`)})
}
