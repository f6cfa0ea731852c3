package vpcflowlogs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// orgS3Props is organization mode delivering to S3 in two regions.
func orgS3Props() vpcflowlogs.Props {
	p := orgProps("eu-west-1", "us-east-1")
	p.Destination = settings.DestinationS3
	p.RetentionDays = 90
	return p
}

// TestOrgS3HubBucket proves the hub's central bucket has the single-account
// bucket's hardening and a delivery policy admitting the organization's
// accounts only: aws:SourceOrgID (never aws:SourceAccount, which would
// admit the hub alone), every account's prefix under AWSLogs/, a logs
// source ARN of any region and account.
func TestOrgS3HubBucket(t *testing.T) {
	stack, doc := synthHub(t, orgS3Props())
	_, bucket := idLike(t, doc, "AWS::S3::Bucket", "FlowLogsFlowLogBucket")
	raw := fmtJSON(bucket)
	for _, want := range []string{
		`"DeletionPolicy":"Retain"`,
		`"BlockPublicAcls":true`, `"BlockPublicPolicy":true`, `"IgnorePublicAcls":true`, `"RestrictPublicBuckets":true`,
		`"ObjectOwnership":"BucketOwnerEnforced"`, `"SSEAlgorithm":"AES256"`, `"ExpirationInDays":90`, `"LogFilePrefix":"flow-logs/"`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("the central bucket lacks %s: %s", want, raw)
		}
	}
	_, policy := idLike(t, doc, "AWS::S3::BucketPolicy", "FlowLogsFlowLogBucketPolicy")
	sids := map[string]map[string]any{}
	for _, s := range props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		sid, _ := st["Sid"].(string)
		sids[sid+fmt.Sprint(st["Effect"])] = st
	}
	write, acl, deny := sids["AWSLogDeliveryWriteAllow"], sids["AWSLogDeliveryAclCheckAllow"], sids["Deny"]
	cases := []struct{ name, got, want string }{
		{"write principal", fmtJSON(write["Principal"]), `{"Service":"delivery.logs.amazonaws.com"}`},
		{"write action", fmtJSON(write["Action"]), `"s3:PutObject"`},
		{"write condition", fmtJSON(write["Condition"]), `{"ArnLike":{"aws:SourceArn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":logs:*:*:*"]]}},` +
			`"StringEquals":{"aws:SourceOrgID":"` + testOrg + `","s3:x-amz-acl":"bucket-owner-full-control"}}`},
		{"acl check actions", fmtJSON(acl["Action"]), `["s3:GetBucketAcl","s3:ListBucket"]`},
		{"acl check condition", fmtJSON(acl["Condition"]), `{"ArnLike":{"aws:SourceArn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":logs:*:*:*"]]}},` +
			`"StringEquals":{"aws:SourceOrgID":"` + testOrg + `"}}`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %s, want %s", c.name, c.got, c.want)
		}
	}
	if res := fmtJSON(write["Resource"]); !strings.HasSuffix(res, `"/AWSLogs/*"]]}`) {
		t.Errorf("write resource %s, want every account's prefix under AWSLogs/", res)
	}
	if d := fmtJSON(deny); !strings.Contains(d, `"aws:SecureTransport":"false"`) {
		t.Errorf("no TLS-only deny: %s", d)
	}
	assertNoNag(t, stack)
}

// TestOrgS3HubFunctions proves the hub's enabler gets the bucket and the
// destination options (and no delivery role: the spokes have none), the
// summarizer the same destination and reads of the bucket's AWSLogs/
// folder only, and neither reads a log group in a spoke.
func TestOrgS3HubFunctions(t *testing.T) {
	_, doc := synthHub(t, orgS3Props())
	for _, fn := range []string{"Enabler", "Summarizer"} {
		_, f := idLike(t, doc, "AWS::Lambda::Function", "FlowLogs"+fn)
		env := props(f)["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, want := range map[string]string{
			settings.EnvDestination: `"s3"`, settings.EnvFileFormat: `"parquet"`, settings.EnvHiveCompatible: `"true"`, settings.EnvPerHourPartition: `"true"`,
			settings.EnvBucketARN: `{"Fn::GetAtt":["FlowLogsFlowLogBucket`, settings.EnvOrganizationID: `"` + testOrg + `"`,
		} {
			if got := fmtJSON(env[k]); !strings.HasPrefix(got, want) {
				t.Errorf("%s %s = %s, want %s…", fn, k, got, want)
			}
		}
		if _, ok := env[settings.EnvDeliveryRoleARN]; ok {
			t.Errorf("%s has %s in S3 mode", fn, settings.EnvDeliveryRoleARN)
		}
	}
	_, fn := idLike(t, doc, "AWS::Lambda::Function", "FlowLogsSummarizer")
	stmts := policyOf(t, doc, props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string))
	list, read := statementBySid(t, stmts, "ListFlowLogFiles"), statementBySid(t, stmts, "ReadFlowLogFiles")
	if got := fmtJSON(list["Condition"]); got != `{"StringLike":{"s3:prefix":"AWSLogs/*"}}` {
		t.Errorf("listing condition %s", got)
	}
	if got := fmtJSON(read["Resource"]); !strings.HasSuffix(got, `"/AWSLogs/*"]]}`) {
		t.Errorf("reading %s, want the AWSLogs/ folder only", got)
	}
}

// TestOrgS3Athena proves the hub's Glue table projects the covered regions
// and injects the account (the organization's accounts are not known at
// synthesis), and that every named query names its account, which Athena
// requires of an injected partition.
func TestOrgS3Athena(t *testing.T) {
	_, doc := synthHub(t, orgS3Props())
	_, table := one(t, doc, "AWS::Glue::Table")
	params := props(table)["TableInput"].(map[string]any)["Parameters"].(map[string]any)
	if params["projection.aws_account_id.type"] != "injected" || params["projection.aws_account_id.values"] != nil {
		t.Errorf("account projection %v %v, want injected", params["projection.aws_account_id.type"], params["projection.aws_account_id.values"])
	}
	if got := params["projection.aws_region.values"]; got != "eu-west-1,us-east-1" {
		t.Errorf("region projection %v, want the covered regions", got)
	}
	queries := byType(doc, "AWS::Athena::NamedQuery")
	if len(queries) == 0 {
		t.Fatal("no named query")
	}
	for id, q := range queries {
		sql := props(q)["QueryString"].(string)
		if !strings.Contains(sql, "\nWHERE aws_account_id = ? AND ") {
			t.Errorf("%s does not name its account: %s", id, sql)
		}
		if d := props(q)["Description"].(string); !strings.Contains(d, "Parameters: account: the account id") {
			t.Errorf("%s: description %q does not give the account as the first parameter", id, d)
		}
	}
}

// TestOrgS3Spoke proves the spoke in S3 mode creates no flow log group and
// no delivery role; that its enabler role may create the log delivery a
// flow log to S3 needs and pass no role; and that its reader role reads no
// log group, only describes interfaces and flow logs.
func TestOrgS3Spoke(t *testing.T) {
	stack, doc := synthSpoke(t, orgS3Props())
	if groups := byType(doc, "AWS::Logs::LogGroup"); len(groups) != 0 {
		t.Errorf("the spoke has %d log groups in S3 mode", len(groups))
	}
	for id, r := range byType(doc, "AWS::IAM::Role") {
		if raw := fmtJSON(r); strings.Contains(raw, settings.SpokeDeliveryRolePrefix) || strings.Contains(raw, "vpc-flow-logs.amazonaws.com") {
			t.Errorf("the spoke has a delivery role in S3 mode: %s", id)
		}
	}
	var enabler []string
	for _, s := range statements(roleNamed(t, doc, settings.SpokeEnablerRoleName)) {
		s := s.(map[string]any)
		enabler = append(enabler, fmtAction(s))
		if s["Sid"] == "LogDeliveryForS3FlowLogs" && fmtJSON(s["Resource"]) != `"*"` {
			t.Errorf("log delivery on %s", fmtJSON(s["Resource"]))
		}
	}
	if !slices.Contains(enabler, `logs:CreateLogDelivery","logs:DeleteLogDelivery`) || slices.ContainsFunc(enabler, func(a string) bool { return strings.Contains(a, "iam:PassRole") }) {
		t.Errorf("spoke enabler actions %q: want the log delivery and no PassRole", enabler)
	}
	var reader []string
	for _, s := range statements(roleNamed(t, doc, settings.SpokeReaderRoleName)) {
		reader = append(reader, fmtAction(s))
	}
	if want := []string{`ec2:DescribeNetworkInterfaces","ec2:DescribeFlowLogs`}; !slices.Equal(reader, want) {
		t.Errorf("spoke reader actions %q, want %q", reader, want)
	}
	assertNoNag(t, stack)
}

// TestOrgS3Variants proves the other two forms of the central bucket pass
// cdk-nag: an existing bucket (the stack creates none and hands its ARN to
// both functions) and the stack's bucket under a customer managed key
// (SSE-KMS with a bucket key; the summarizer may decrypt through S3 only).
func TestOrgS3Variants(t *testing.T) {
	const existing = "arn:aws:s3:::org-log-archive-flow-logs"
	cases := []struct {
		name  string
		edit  func(*vpcflowlogs.Props)
		check func(t *testing.T, doc map[string]any)
	}{
		{"existing bucket", func(p *vpcflowlogs.Props) { p.S3.BucketARN = existing }, func(t *testing.T, doc map[string]any) {
			for id := range byType(doc, "AWS::S3::Bucket") {
				if strings.Contains(id, "FlowLogBucket") {
					t.Errorf("the stack creates %s although a bucket was given", id)
				}
			}
			_, fn := idLike(t, doc, "AWS::Lambda::Function", "FlowLogsEnabler")
			env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
			if env[settings.EnvBucketARN] != existing {
				t.Errorf("enabler %s = %v, want %s", settings.EnvBucketARN, env[settings.EnvBucketARN], existing)
			}
		}},
		{"KMS key", func(p *vpcflowlogs.Props) { p.KMSKeyARN = testKey }, func(t *testing.T, doc map[string]any) {
			_, bucket := idLike(t, doc, "AWS::S3::Bucket", "FlowLogsFlowLogBucket")
			if raw := fmtJSON(bucket); !strings.Contains(raw, `"SSEAlgorithm":"aws:kms"`) || !strings.Contains(raw, `"BucketKeyEnabled":true`) {
				t.Errorf("the central bucket is not under the key: %s", raw)
			}
			_, fn := idLike(t, doc, "AWS::Lambda::Function", "FlowLogsSummarizer")
			stmts := policyOf(t, doc, props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string))
			if d := fmtJSON(statementBySid(t, stmts, "DecryptFlowLogFiles")); !strings.Contains(d, "kms:ViaService") {
				t.Errorf("decrypt statement %s, want it through S3 only", d)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := orgS3Props()
			c.edit(&p)
			stack, doc := synthHub(t, p)
			c.check(t, doc)
			assertNoNag(t, stack)
		})
	}
}
