package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Organization mode delivering to S3 (TestOrgS3Story): the hub synthesized
// with destination s3 owns one central bucket, every spoke's flow logs
// deliver there, and the hub's summarizer reads each account-region's
// folder of it. Beyond what the organization harness plays (orgharness.go),
// the harness plays here:
//   - the central bucket: created in moto's default account (the hub's)
//     under the name the template's resolution gives it. Its policy is not
//     evaluated: moto evaluates no bucket policy, and delivery is AWS's side;
//     the CDK tests hold the policy's statements;
//   - flow logs to that bucket: the proxy's EmulateS3FlowLogs, since moto
//     refuses a bucket of another account (the spokes' flow logs are
//     created in their accounts), refuses a prefix and drops the
//     DestinationOptions;
//   - the delivery service: each spoke account-region's objects, in AWS's
//     layout with the spoke's account and region in the keys, written by
//     flowrecordtest into the central bucket.

// OrgS3 is the central bucket as the hub's template declares it.
type OrgS3 struct {
	Bucket string
	// Layout is the key layout of every spoke's files, without the
	// account and region: the summarizer's destination settings.
	Layout flowrecordtest.S3Layout
}

// PrepareOrgS3 creates the hub's central bucket in moto and turns on the
// proxy's S3 flow log emulation for the functions' calls.
func (oh *OrgHarness) PrepareOrgS3(ctx context.Context) (OrgS3, error) {
	bucket, layout, err := oh.Stack.S3Destination()
	if err != nil {
		return OrgS3{}, err
	}
	s := OrgS3{Bucket: bucket, Layout: layout}
	if _, err := oh.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)}); err != nil {
		return OrgS3{}, fmt.Errorf("creating the central bucket %s: %w", s.Bucket, err)
	}
	oh.Proxy.EmulateS3FlowLogs()
	return s, nil
}

// S3Destination is the stack's flow log bucket and the key layout of its
// files without the account and region, as the template gives the
// summarizer (checked to name that bucket).
func (s *Stack) S3Destination() (string, flowrecordtest.S3Layout, error) {
	r, err := s.Template.ByPath("/FlowLogBucket/Resource")
	if err != nil {
		return "", flowrecordtest.S3Layout{}, fmt.Errorf("the stack has no flow log bucket: %w", err)
	}
	bucket := s.Names.Ref[r.LogicalID]
	env := envLookup(s.Names, s.Summarizer)
	if want := "arn:aws:s3:::" + bucket; env(settings.EnvDestination) != settings.DestinationS3 || env(settings.EnvBucketARN) != want {
		return "", flowrecordtest.S3Layout{}, fmt.Errorf("the summarizer's destination is %q %q, want s3 %q", env(settings.EnvDestination), env(settings.EnvBucketARN), want)
	}
	hive, err1 := strconv.ParseBool(env(settings.EnvHiveCompatible))
	perHour, err2 := strconv.ParseBool(env(settings.EnvPerHourPartition))
	if err := errors.Join(err1, err2); err != nil {
		return "", flowrecordtest.S3Layout{}, fmt.Errorf("the summarizer's destination options: %w", err)
	}
	return bucket, flowrecordtest.S3Layout{Prefix: env(settings.EnvBucketPrefix), FileFormat: env(settings.EnvFileFormat), HiveCompatible: hive, PerHour: perHour}, nil
}

// DeliverOrgS3 plays the delivery service of one spoke account-region's
// flow log: objects of the past hour in the central bucket, under the
// account's and region's folders, named for the flow log. The result's
// Expected is the generator's own tally.
func (oh *OrgHarness) DeliverOrgS3(ctx context.Context, s OrgS3, account, region, flowLogID string, seed int64, records int) (S3Delivery, error) {
	l := s.Layout
	l.Account, l.Region, l.FlowLogID = account, region, flowLogID
	opts := flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples}
	return DeliverS3To(ctx, oh.S3Client(), s.Bucket, l, seed, records, opts)
}

// S3FlowLogs lists the flow logs of a spoke account-region through the
// functions' proxy, whose emulation reports each destination and its
// options as they were given (moto itself holds a stand-in bucket).
func (oh *OrgHarness) S3FlowLogs(ctx context.Context, account, region string) ([]types.FlowLog, error) {
	oh.Org.Admin(account, region) // caches the account's credentials
	oh.Org.mu.Lock()
	creds := oh.Org.creds[account]
	oh.Org.mu.Unlock()
	var out []types.FlowLog
	p := ec2.NewDescribeFlowLogsPaginator(ClientsFor(oh.Proxy.URL, region, creds).EC2, &ec2.DescribeFlowLogsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the flow logs of %s %s: %w", account, region, err)
		}
		out = append(out, page.FlowLogs...)
	}
	return out, nil
}
