package vpcflowlogs_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/athenaquery"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const testKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// bucketStatements returns the bucket policy statements of the bucket whose
// logical id contains bucket, by Sid ("" Sids are keyed by their effect).
func bucketStatements(t *testing.T, tmpl assertions.Template, bucket string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, p := range resources(tmpl, "AWS::S3::BucketPolicy") {
		if !strings.Contains(id, bucket) {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := s.(map[string]any)
			sid, _ := st["Sid"].(string)
			out[sid+fmt.Sprint(st["Effect"])] = st
		}
	}
	if len(out) == 0 {
		t.Fatalf("no bucket policy for %s", bucket)
	}
	return out
}

// TestS3Bucket proves the flow log bucket's settings: public access
// blocked, ACLs disabled, SSE-S3, expiry after the retention, server access
// logs, retained with the stack, TLS only, and the delivery policy of the
// VPC user guide with its confused-deputy conditions and a write grant
// under this account's Hive prefix only.
func TestS3Bucket(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3", RetentionDays: 90, S3: vpcflowlogs.S3Options{Prefix: "org/flows"}})
	assert(t, "the flow log bucket", func() {
		tmpl.HasResource(jsii.String("AWS::S3::Bucket"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"OwnershipControls":              map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
				"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
					"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}}},
				"LifecycleConfiguration": map[string]any{"Rules": []any{assertions.Match_ObjectLike(&map[string]any{"ExpirationInDays": 90, "Status": "Enabled"})}},
				"LoggingConfiguration": map[string]any{
					"DestinationBucketName": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("AccessLogBucket"))},
					"LogFilePrefix":         "flow-logs/",
				},
			},
		})
	})
	sids := bucketStatements(t, tmpl, "FlowLogBucketPolicy")
	deny := fmt.Sprint(sids["Deny"])
	if !strings.Contains(deny, "aws:SecureTransport:false") || !strings.Contains(deny, "s3:*") {
		t.Errorf("no TLS-only deny: %s", deny)
	}
	write, acl := sids["AWSLogDeliveryWriteAllow"], sids["AWSLogDeliveryAclCheckAllow"]
	for name, w := range map[string]struct{ got, want string }{
		"write principal":      {fmt.Sprint(write["Principal"]), "map[Service:delivery.logs.amazonaws.com]"},
		"write action":         {fmt.Sprint(write["Action"]), "s3:PutObject"},
		"write resource":       {fmt.Sprint(write["Resource"]), "/org/flows/AWSLogs/aws-account-id= map[Ref:AWS::AccountId] /*"},
		"write acl":            {fmt.Sprint(write["Condition"]), "s3:x-amz-acl:bucket-owner-full-control"},
		"write source account": {fmt.Sprint(write["Condition"]), "aws:SourceAccount:map[Ref:AWS::AccountId]"},
		"write source arn":     {fmt.Sprint(write["Condition"]), ":logs: map[Ref:AWS::Region] : map[Ref:AWS::AccountId] :*"},
		"acl check actions":    {fmt.Sprint(acl["Action"]), "[s3:GetBucketAcl s3:ListBucket]"},
		"acl check condition":  {fmt.Sprint(acl["Condition"]), "aws:SourceAccount:map[Ref:AWS::AccountId]"},
	} {
		if !strings.Contains(w.got, w.want) {
			t.Errorf("%s: %s, want it to contain %s", name, w.got, w.want)
		}
	}
	if strings.Contains(fmt.Sprint(acl["Resource"]), "/") {
		t.Errorf("the ACL check is on objects: %v", acl["Resource"])
	}
}

// TestS3NoDeliveryRoleNoGroup proves that S3 mode creates no delivery role
// and no flow log group (the digest group stays), and that the enabler can
// pass no role.
func TestS3NoDeliveryRoleNoGroup(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3"})
	assert(t, "no role trusted by vpc-flow-logs.amazonaws.com", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Role"), map[string]any{
			"AssumeRolePolicyDocument": map[string]any{"Statement": []any{assertions.Match_ObjectLike(&map[string]any{
				"Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"}})}},
		}, jsii.Number(0))
	})
	assert(t, "only the functions' roles", func() { tmpl.ResourceCountIs(jsii.String("AWS::IAM::Role"), jsii.Number(2)) })
	assert(t, "no flow log group", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), map[string]any{"LogGroupName": "/vpc/flow-logs"}, jsii.Number(0))
	})
	assert(t, "the digest group", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), map[string]any{"LogGroupName": "/vpc/flow-logs/digests"}, jsii.Number(1))
	})
	sids := bySid(policyStatements(t, tmpl, "EnablerRole"))
	if _, ok := sids["PassOnlyTheDeliveryRole"]; ok {
		t.Error("the enabler may pass a role in S3 mode")
	}
	if got := fmt.Sprint(sids["LogDeliveryForS3FlowLogs"]["Action"]); got != "[logs:CreateLogDelivery logs:DeleteLogDelivery]" {
		t.Errorf("log delivery actions %s", got)
	}
	if _, ok := bySid(policyStatements(t, tmpl, "SummarizerRole"))["ReadFlowLogGroup"]; ok {
		t.Error("the summarizer reads a flow log group in S3 mode")
	}
}

// TestS3Settings reads the destination back from the synthesized custom
// resource properties with the enabler's own reader, and checks both
// functions' environment.
func TestS3Settings(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{
		BucketARN: "arn:aws:s3:::central-flow-logs", Prefix: "team", FileFormat: "plain-text", PerHourPartition: jsii.Bool(false)}})
	for _, cr := range resources(tmpl, "Custom::VpcFlowLogs") {
		cfg, err := settings.EnablerFromProperties(cr, settings.Enabler{Owner: "stack"})
		if err != nil {
			t.Fatalf("the enabler rejects the properties: %v", err)
		}
		want := settings.Destination{Type: "s3", BucketARN: "arn:aws:s3:::central-flow-logs", Prefix: "team", FileFormat: "plain-text", HiveCompatible: true}
		if cfg.Destination != want || cfg.DeliveryRoleARN != "" {
			t.Errorf("properties give %+v, role %q; want %+v and no role", cfg.Destination, cfg.DeliveryRoleARN, want)
		}
	}
	vars := map[string]any{
		settings.EnvDestination: "s3", settings.EnvBucketARN: "arn:aws:s3:::central-flow-logs", settings.EnvBucketPrefix: "team",
		settings.EnvFileFormat: "plain-text", settings.EnvHiveCompatible: "true", settings.EnvPerHourPartition: "false",
	}
	assert(t, "both functions get the destination", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&vars)},
		}, jsii.Number(2))
	})
	assert(t, "no delivery role variable", func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{settings.EnvDeliveryRoleARN: assertions.Match_AnyValue()})},
		}, jsii.Number(0))
	})
	assert(t, "an existing bucket: only the access log and results buckets are created", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2))
	})
}

// TestS3SummarizerGrants proves the summarizer's S3 permissions: list only
// under the prefix, read only there, decrypt only through S3.
func TestS3SummarizerGrants(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3", KMSKeyARN: testKey, S3: vpcflowlogs.S3Options{Prefix: "flows"}})
	sids := bySid(policyStatements(t, tmpl, "SummarizerRole"))
	for sid, w := range map[string]struct{ actions, resource, condition string }{
		"ListFlowLogFiles":    {"s3:ListBucket", "FlowLogBucket", "s3:prefix:flows/AWSLogs/*"},
		"ReadFlowLogFiles":    {"s3:GetObject", "/flows/AWSLogs/*", ""},
		"DecryptFlowLogFiles": {"kms:Decrypt", testKey, "kms:ViaService:map[Fn::Join:[ [s3. map[Ref:AWS::Region] .amazonaws.com]]"},
	} {
		s := sids[sid]
		if got := fmt.Sprint(s["Action"]); got != w.actions {
			t.Errorf("%s: actions %s, want %s", sid, got, w.actions)
		}
		if got := fmt.Sprint(s["Resource"]); !strings.Contains(got, w.resource) {
			t.Errorf("%s: resource %s, want %s", sid, got, w.resource)
		}
		if got := fmt.Sprint(s["Condition"]); !strings.Contains(got, w.condition) {
			t.Errorf("%s: condition %s, want %s", sid, got, w.condition)
		}
	}
	assert(t, "the bucket is encrypted with the key, with a bucket key", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{map[string]any{
				"BucketKeyEnabled":              true,
				"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": testKey}}}},
		})
	})
}

// TestS3Organization proves the organization form of the delivery policy:
// aws:SourceOrgID instead of the account, every account's prefix.
func TestS3Organization(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{SourceOrganizationID: "o-a1b2c3d4e5", HiveCompatiblePartitions: jsii.Bool(false)}})
	write := bucketStatements(t, tmpl, "FlowLogBucketPolicy")["AWSLogDeliveryWriteAllow"]
	cond, res := fmt.Sprint(write["Condition"]), fmt.Sprint(write["Resource"])
	if !strings.Contains(cond, "aws:SourceOrgID:o-a1b2c3d4e5") || strings.Contains(cond, "aws:SourceAccount") {
		t.Errorf("condition %s, want aws:SourceOrgID only", cond)
	}
	if !strings.Contains(res, "/AWSLogs/*") {
		t.Errorf("resource %s, want every account under AWSLogs/", res)
	}
	assert(t, "the account partition is injected", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Glue::Table"), map[string]any{
			"TableInput": assertions.Match_ObjectLike(&map[string]any{"Parameters": assertions.Match_ObjectLike(&map[string]any{
				"projection.aws_account_id.type": "injected"})}),
		})
	})
}

// TestAthena proves the Glue table (external, Parquet, projection over the
// Hive hourly layout), the enforced workgroup with its cutoff and results
// bucket, and one named query per athenaquery query, with its SQL.
func TestAthena(t *testing.T) {
	_, tmpl := synth(t, vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{AthenaBytesScannedLimit: 50_000_000_000}})
	assert(t, "the table", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Glue::Table"), map[string]any{
			"TableInput": assertions.Match_ObjectLike(&map[string]any{
				"Name": "flow_logs", "TableType": "EXTERNAL_TABLE",
				"Parameters": assertions.Match_ObjectLike(&map[string]any{
					"projection.enabled": "true", "projection.hour.range": "0,23",
					"storage.location.template": map[string]any{"Fn::Join": []any{"", []any{"s3://", assertions.Match_AnyValue(),
						"/AWSLogs/aws-account-id=${aws_account_id}/aws-service=vpcflowlogs/aws-region=${aws_region}/year=${year}/month=${month}/day=${day}/hour=${hour}/"}}},
				}),
				"StorageDescriptor": assertions.Match_ObjectLike(&map[string]any{
					"SerdeInfo": assertions.Match_ObjectLike(&map[string]any{"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}),
				}),
			}),
		})
	})
	assert(t, "the workgroup", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Athena::WorkGroup"), map[string]any{
			"WorkGroupConfiguration": assertions.Match_ObjectLike(&map[string]any{
				"EnforceWorkGroupConfiguration": true, "BytesScannedCutoffPerQuery": 50_000_000_000,
				"ResultConfiguration": map[string]any{
					"OutputLocation":          map[string]any{"Fn::Join": []any{"", []any{"s3://", map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("Results"))}, "/results/"}}},
					"EncryptionConfiguration": map[string]any{"EncryptionOption": "SSE_S3"},
				},
			}),
		})
	})
	assert(t, "results expire after a week", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": []any{assertions.Match_ObjectLike(&map[string]any{"ExpirationInDays": 7})}},
		})
	})
	queries := athenaquery.Queries(true)
	assert(t, "one named query each", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::Athena::NamedQuery"), jsii.Number(float64(len(queries))))
	})
	for _, q := range queries {
		assert(t, q.Name, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Athena::NamedQuery"), map[string]any{"Name": q.Name, "QueryString": q.SQL})
		})
	}
	assert(t, "no Logs Insights queries in S3 mode", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::Logs::QueryDefinition"), jsii.Number(0))
	})
}

// TestS3NagFindsNothingUnsuppressed runs cdk-nag's AWS Solutions checks
// over the S3 mode with every option that adds resources.
func TestS3NagFindsNothingUnsuppressed(t *testing.T) {
	stack, _ := synth(t, vpcflowlogs.Props{Destination: "s3", KMSKeyARN: testKey, SummaryTopicARN: "arn:aws:sns:us-east-1:123456789012:t"})
	ann := assertions.Annotations_FromStack(stack)
	errs := ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	warns := ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, m := range append(*errs, *warns...) {
		t.Errorf("cdk-nag: %s: %v", *m.Id, m.Entry.Data) //nolint:staticcheck // Annotations returns only this deprecated type in this CDK version
	}
}

func TestS3PropsValidation(t *testing.T) {
	cases := []struct {
		name  string
		props vpcflowlogs.Props
		want  string
	}{
		{"unknown destination", vpcflowlogs.Props{Destination: "kinesis"}, "Destination"},
		{"bad bucket", vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{BucketARN: "arn:aws:s3:::x"}}, "S3.BucketARN"},
		{"reserved prefix", vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{Prefix: "AWSLogs"}}, "S3.Prefix"},
		{"bad format", vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{FileFormat: "csv"}}, "S3.FileFormat"},
		{"cutoff under Athena's minimum", vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{AthenaBytesScannedLimit: 1000}}, "S3.AthenaBytesScannedLimit"},
		{"bad organization", vpcflowlogs.Props{Destination: "s3", S3: vpcflowlogs.S3Options{SourceOrganizationID: "org-1"}}, "S3.SourceOrganizationID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.props
			p.EnablerCode, p.SummarizerCode = fakeCode(t), fakeCode(t)
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
			_, err := vpcflowlogs.New(stack, "FlowLogs", p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New = %v, want an error naming %s", err, c.want)
			}
		})
	}
}
