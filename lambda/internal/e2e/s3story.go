package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// S3StoryResult is what the S3 story observed.
type S3StoryResult struct {
	Bucket     string
	Layout     flowrecordtest.S3Layout
	VPCs       []VPC
	FlowLog    types.FlowLog // the enabler's, on the tagged VPC
	Delivery   S3Delivery
	Summarize  digest.Result
	Digest     StoredDigest
	DigestFile string
	Diffs      []string
}

// S3Story is the demo's S3 path (`make demo DEMO_ARGS=-destination=s3`) on
// a harness synthesized with destination s3, steps 3 to 7 after the
// harness's two: the stack's bucket in moto and VPCs with interfaces; the
// enabler's Create, after which the tagged VPC's flow log delivers to the
// bucket with the stack's destination options and no delivery role;
// objects of the past hour in AWS's layout for the tagged VPC's
// interfaces; the summarizer's bootstrap reading them; and its digest,
// checked against the generator's tally, each interface described from
// EC2. The demo then answers a named query over the same objects (step 8,
// lambda/internal/e2e/demo).
func (h *Harness) S3Story(ctx context.Context, r Reporter, o StoryOptions) (*S3StoryResult, error) {
	res := &S3StoryResult{}
	var err error
	if res.Bucket, res.Layout, err = h.Stack.S3Destination(); err != nil {
		return nil, err
	}
	env := envLookup(h.Stack.Names, h.Stack.Summarizer)
	res.Layout.Account, res.Layout.Region = env(settings.EnvSourceAccount), env(settings.EnvSourceRegion)
	if err := h.s3Network(ctx, r, res); err != nil {
		return nil, err
	}
	if err := h.s3Create(ctx, r, res); err != nil {
		return nil, err
	}
	l := res.Layout
	r.Step(5, "Playing the delivery service for S3: objects of the past hour in AWS's layout")
	r.Info("moto delivers no flow logs, so the harness writes them as the service would, for the tagged VPC's interfaces")
	opts := flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples}
	l.FlowLogID = aws.ToString(res.FlowLog.FlowLogId)
	if res.Delivery, err = DeliverS3ENIs(ctx, h.S3Client(), res.Bucket, l, o.Seed, o.Records, res.VPCs[0].ENIs, opts); err != nil {
		return nil, err
	}
	size := 0
	for _, obj := range res.Delivery.Objects {
		size += len(obj.Body)
	}
	r.Info("%d records in %d %s objects (%d bytes) in s3://%s, Hive-compatible %v, per hour %v, one per 5-minute period:",
		o.Records, len(res.Delivery.Objects), l.FileFormat, size, res.Bucket, l.HiveCompatible, l.PerHour)
	for i, obj := range res.Delivery.Objects {
		if i == 3 && len(res.Delivery.Objects) > 4 {
			r.Info("  ... %d more", len(res.Delivery.Objects)-4)
			obj = res.Delivery.Objects[len(res.Delivery.Objects)-1]
			r.Info("  %s (%d bytes, %d records)", obj.Key, len(obj.Body), obj.Lines)
			break
		}
		r.Info("  %s (%d bytes, %d records)", obj.Key, len(obj.Body), obj.Lines)
	}
	if err := h.s3Summarize(ctx, r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// s3Network is step 3: the stack's bucket, and VPCs with interfaces.
func (h *Harness) s3Network(ctx context.Context, r Reporter, res *S3StoryResult) error {
	r.Step(3, "Creating the stack's bucket in moto, and VPCs with network interfaces")
	if _, err := h.S3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(res.Bucket)}); err != nil {
		return fmt.Errorf("creating the bucket %s: %w", res.Bucket, err)
	}
	// moto refuses a prefix and drops the destination options: the proxy
	// plays them as EC2 keeps them.
	h.Proxy.EmulateS3FlowLogs()
	l := res.Layout
	r.Info("bucket %s (the template's; moto evaluates no bucket policy): prefix %q, %s, Hive-compatible %v, per hour %v",
		res.Bucket, l.Prefix, l.FileFormat, l.HiveCompatible, l.PerHour)
	key := envLookup(h.Stack.Names, h.Stack.Enabler)(settings.EnvTagKey)
	var err error
	if res.VPCs, err = CreateVPCs(ctx, h.Clients, []VPCSpec{
		{Name: "prod", Tags: map[string]string{key: tagOn}, Subnets: 2, ENIsPerSubnet: 2},
		{Name: "dev", Subnets: 1, ENIsPerSubnet: 1},
	}); err != nil {
		return err
	}
	for _, v := range res.VPCs {
		r.Info("%-5s %s  tags %v  %d interfaces", v.Name, v.ID, v.Tags, len(v.ENIs))
	}
	return nil
}

// s3Create is step 4: the enabler's Create, and the tagged VPC's flow log
// to the bucket.
func (h *Harness) s3Create(ctx context.Context, r Reporter, res *S3StoryResult) error {
	r.Step(4, "Running the enabler's bootstrap with a CloudFormation Create request: a flow log to the bucket")
	fn, err := h.StartEnabler(h.Proxy.URL)
	if err != nil {
		return err
	}
	defer fn.Close()
	req, err := h.Stack.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		return err
	}
	answers, err := SendCustomResource(ctx, fn, h.CFN, req)
	if err != nil {
		return fmt.Errorf("the Create: %w\n%s", err, fn.Log())
	}
	if len(answers) != 1 || answers[0].Body.Status != "SUCCESS" {
		return fmt.Errorf("the Create got %+v, want one SUCCESS\n%s", answers, fn.Log())
	}
	r.Info("CloudFormation answer: %s, data %v", answers[0].Body.Status, answers[0].Body.Data)
	// Through the proxy, which reports each destination and its options
	// as they were given.
	out, err := NewClients(h.Proxy.URL).EC2.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil {
		return fmt.Errorf("describing the flow logs: %w", err)
	}
	want := "arn:aws:s3:::" + res.Bucket
	if p := res.Layout.Prefix; p != "" {
		want += "/" + p
	}
	byVPC := map[string][]types.FlowLog{}
	for _, f := range out.FlowLogs {
		byVPC[aws.ToString(f.ResourceId)] = append(byVPC[aws.ToString(f.ResourceId)], f)
	}
	tagged, untagged := res.VPCs[0].ID, res.VPCs[1].ID
	if n := len(byVPC[untagged]); n != 0 {
		return fmt.Errorf("the untagged VPC %s has %d flow logs, want none", untagged, n)
	}
	fls := byVPC[tagged]
	if len(fls) != 1 {
		return fmt.Errorf("the tagged VPC %s has %d flow logs, want 1", tagged, len(fls))
	}
	f, o, l := fls[0], fls[0].DestinationOptions, res.Layout
	if f.LogDestinationType != types.LogDestinationTypeS3 || aws.ToString(f.LogDestination) != want || aws.ToString(f.DeliverLogsPermissionArn) != "" ||
		o == nil || string(o.FileFormat) != l.FileFormat || aws.ToBool(o.HiveCompatiblePartitions) != l.HiveCompatible || aws.ToBool(o.PerHourPartition) != l.PerHour {
		return fmt.Errorf("the flow log %s", describeS3FlowLog(f, want, l))
	}
	res.FlowLog = f
	r.Info("%s on %s (prod) to %s: %s, Hive-compatible %v, per hour %v, traffic %s, aggregation %ds, no delivery role; dev has none",
		aws.ToString(f.FlowLogId), tagged, want, o.FileFormat, aws.ToBool(o.HiveCompatiblePartitions), aws.ToBool(o.PerHourPartition),
		f.TrafficType, aws.ToInt32(f.MaxAggregationInterval))
	return nil
}

// s3Summarize is steps 6 and 7: the summarizer's bootstrap in S3 mode,
// and its digest against the generator's tally.
func (h *Harness) s3Summarize(ctx context.Context, r Reporter, res *S3StoryResult) error {
	r.Step(6, "Running the summarizer's bootstrap in S3 mode")
	env := envLookup(h.Stack.Names, h.Stack.Summarizer)
	var kv []string
	for _, k := range []string{settings.EnvDestination, settings.EnvBucketARN, settings.EnvBucketPrefix, settings.EnvFileFormat, settings.EnvHiveCompatible, settings.EnvPerHourPartition} {
		kv = append(kv, k+"="+env(k))
	}
	r.Info("its environment from the template: %s", strings.Join(kv, " "))
	r.Info("settle lag 0 here (no late delivery locally)")
	fn, err := h.StartSummarizer(h.Proxy.URL, settings.EnvSettleLag+"=0s", settings.EnvSchedulePeriod+"=1h")
	if err != nil {
		return err
	}
	defer fn.Close()
	if err := fn.InvokeInto(ctx, h.Stack.SummaryEvent(), &res.Summarize); err != nil {
		return fmt.Errorf("%w\n%s", err, fn.Log())
	}
	digests, err := ReadDigests(ctx, h.Clients, h.Stack.DigestLogGroup)
	if err != nil {
		return err
	}
	if len(digests) != 1 {
		return fmt.Errorf("%d digests in %s, want 1\n%s", len(digests), h.Stack.DigestLogGroup, fn.Log())
	}
	res.Digest = digests[0]
	res.DigestFile = filepath.Join(h.WorkDir, "digest-s3.json")
	if err := os.WriteFile(res.DigestFile, res.Digest.JSON, 0o644); err != nil {
		return err
	}
	r.Step(7, "The digest")
	d := res.Digest.Digest
	r.Info("window %s to %s UTC: %d objects read (ListObjectsV2 on the hour folders of the window, one GetObject each), %d records",
		d.Window.From.Format("15:04"), d.Window.To.Format("15:04"), d.Read.Objects, d.Totals.Records)
	if res.Diffs = DiffDigest(d, res.Delivery.Expected); len(res.Diffs) > 0 {
		return fmt.Errorf("the digest differs from what was delivered:\n  %s", strings.Join(res.Diffs, "\n  "))
	}
	// Each interface with records is new, and described from EC2 (a small
	// -records may leave one of the tagged VPC's interfaces without any).
	if n := d.NewInterfaces; n.Count == 0 || n.Count > len(res.VPCs[0].ENIs) || n.Gone != 0 {
		return fmt.Errorf("the digest lists %d new interfaces, %d gone; want up to the tagged VPC's %d, each described from EC2", n.Count, n.Gone, len(res.VPCs[0].ENIs))
	}
	r.Info("the digest's totals, protocols and top lists equal the generator's own tally exactly (copy: %s); as text:", res.DigestFile)
	r.Info("")
	for _, line := range strings.Split(strings.TrimRight(d.Text(), "\n"), "\n") {
		r.Info("  | %s", line)
	}
	return nil
}

// describeS3FlowLog tells how f delivers, against the destination want
// with the options of l and no role.
func describeS3FlowLog(f types.FlowLog, want string, l flowrecordtest.S3Layout) string {
	got := fmt.Sprintf("%s to %s %s, role %q", aws.ToString(f.FlowLogId), f.LogDestinationType, aws.ToString(f.LogDestination), aws.ToString(f.DeliverLogsPermissionArn))
	if o := f.DestinationOptions; o != nil {
		got += fmt.Sprintf(", %s, Hive-compatible %v, per hour %v", o.FileFormat, aws.ToBool(o.HiveCompatiblePartitions), aws.ToBool(o.PerHourPartition))
	}
	return fmt.Sprintf("%s; want s3 %s, %s, Hive-compatible %v, per hour %v, no role", got, want, l.FileFormat, l.HiveCompatible, l.PerHour)
}
