package reconcile_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const testBucket = "arn:aws:s3:::flow-logs-123456789012"

// s3Config is testConfig delivering to testBucket/flows as Parquet with
// Hive-compatible, hourly partitions, with no log group and no role.
func s3Config() settings.Enabler {
	cfg := testConfig()
	cfg.LogGroupName, cfg.DeliveryRoleARN = "", ""
	cfg.Destination = settings.Destination{Type: settings.DestinationS3, BucketARN: testBucket, Prefix: "flows",
		FileFormat: settings.FileFormatParquet, HiveCompatible: true, PerHourPartition: true}
	return cfg
}

// s3fl is a flow log to S3 as DescribeFlowLogs reports one, delivering as
// s3Config does unless changed.
func s3fl(id, vpc string, opts ...func(*types.FlowLog)) types.FlowLog {
	base := []func(*types.FlowLog){func(f *types.FlowLog) {
		f.LogDestinationType = types.LogDestinationTypeS3
		f.LogDestination = aws.String(testBucket + "/flows")
		f.LogGroupName, f.DeliverLogsPermissionArn = nil, nil
		f.DestinationOptions = &types.DestinationOptionsResponse{
			FileFormat: types.DestinationFileFormatParquet, HiveCompatiblePartitions: aws.Bool(true), PerHourPartition: aws.Bool(true),
		}
	}}
	return fl(id, vpc, append(base, opts...)...)
}

func options(format types.DestinationFileFormat, hive, perHour bool) func(*types.FlowLog) {
	return func(f *types.FlowLog) {
		f.DestinationOptions = &types.DestinationOptionsResponse{
			FileFormat: format, HiveCompatiblePartitions: aws.Bool(hive), PerHourPartition: aws.Bool(perHour)}
	}
}

// TestNewPlanS3 is NewPlan's decision table in S3 mode: someone else's
// flow log covers a VPC only when it delivers the same way (type, bucket and
// prefix, and all three options); one of ours that differs in any of them
// is replaced.
func TestNewPlanS3(t *testing.T) {
	tests := []struct {
		name     string
		flowLogs []types.FlowLog
		want     string
	}{
		{"missing", nil, "create vpc-1 []"},
		{"covered by ours", []types.FlowLog{s3fl("fl-1", "vpc-1", owned(testOwner))}, "covered vpc-1"},
		{"covered by someone else's, same way", []types.FlowLog{s3fl("fl-x", "vpc-1")}, "covered vpc-1"},
		{"someone else's with a trailing slash", []types.FlowLog{s3fl("fl-x", "vpc-1", dest(testBucket+"/flows/"))}, "covered vpc-1"},
		{"someone else's in plain text", []types.FlowLog{s3fl("fl-x", "vpc-1", options(types.DestinationFileFormatPlainText, true, true))}, "create vpc-1 []"},
		{"someone else's without Hive prefixes", []types.FlowLog{s3fl("fl-x", "vpc-1", options(types.DestinationFileFormatParquet, false, true))}, "create vpc-1 []"},
		{"someone else's partitioned by day", []types.FlowLog{s3fl("fl-x", "vpc-1", options(types.DestinationFileFormatParquet, true, false))}, "create vpc-1 []"},
		{"someone else's with no options reported: AWS's defaults", []types.FlowLog{s3fl("fl-x", "vpc-1", func(f *types.FlowLog) { f.DestinationOptions = nil })}, "create vpc-1 []"},
		{"someone else's to another prefix", []types.FlowLog{s3fl("fl-x", "vpc-1", dest(testBucket+"/other"))}, "create vpc-1 []"},
		{"someone else's to another bucket", []types.FlowLog{s3fl("fl-x", "vpc-1", dest("arn:aws:s3:::elsewhere/flows"))}, "create vpc-1 []"},
		{"someone else's to CloudWatch Logs", []types.FlowLog{fl("fl-x", "vpc-1")}, "create vpc-1 []"},
		{"someone else's REJECT only", []types.FlowLog{s3fl("fl-x", "vpc-1", traffic(types.TrafficTypeReject))}, "create vpc-1 []"},
		{"someone else's FAILED", []types.FlowLog{s3fl("fl-x", "vpc-1", failed("Access error"))}, "create vpc-1 []"},
		{"ours in plain text: replaced", []types.FlowLog{s3fl("fl-1", "vpc-1", owned(testOwner), options(types.DestinationFileFormatPlainText, true, true))}, "replace vpc-1 [fl-1]"},
		{"ours daily: replaced", []types.FlowLog{s3fl("fl-1", "vpc-1", owned(testOwner), options(types.DestinationFileFormatParquet, true, false))}, "replace vpc-1 [fl-1]"},
		{"ours without Hive prefixes: replaced", []types.FlowLog{s3fl("fl-1", "vpc-1", owned(testOwner), options(types.DestinationFileFormatParquet, false, true))}, "replace vpc-1 [fl-1]"},
		{"ours to CloudWatch Logs, from before the switch: replaced", []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner))}, "replace vpc-1 [fl-1]"},
		{"ours stale, someone else's covers: ours removed", []types.FlowLog{
			s3fl("fl-1", "vpc-1", owned(testOwner), options(types.DestinationFileFormatPlainText, true, true)), s3fl("fl-x", "vpc-1")},
			"covered vpc-1; remove vpc-1 [fl-1]"},
		{"two others, neither the same way: blocked", []types.FlowLog{fl("fl-x", "vpc-1"), s3fl("fl-y", "vpc-1", dest("arn:aws:s3:::elsewhere"))}, "blocked vpc-1 FlowLogsLimitExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := reconcile.NewPlan(s3Config(), testHome, []string{"vpc-1"}, tt.flowLogs)
			if got := describe(p); got != tt.want {
				t.Errorf("plan %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStaleReasonS3 names every difference, including a delivery role,
// which an S3 flow log cannot have.
func TestStaleReasonS3(t *testing.T) {
	got := reconcile.StaleReason(s3fl("fl-1", "vpc-1", owned(testOwner), options(types.DestinationFileFormatPlainText, false, false),
		func(f *types.FlowLog) { f.DeliverLogsPermissionArn = aws.String(testRole) }), s3Config(), testHome)
	for _, want := range []string{`file format "plain-text", want "parquet"`, `Hive-compatible partitions "false", want "true"`,
		`per-hour partitions "false", want "true"`, `delivery role "` + testRole + `", want none`} {
		if !strings.Contains(got, want) {
			t.Errorf("reason %q lacks %q", got, want)
		}
	}
	if got := reconcile.StaleReason(s3fl("fl-1", "vpc-1", owned(testOwner)), s3Config(), testHome); got != "" {
		t.Errorf("a matching flow log is stale: %s", got)
	}
}

// TestClientTokenS3 proves that each destination option is part of the
// idempotency token: a change of any is another request.
func TestClientTokenS3(t *testing.T) {
	base := reconcile.ClientToken("run", s3Config(), []string{"vpc-1"}, nil)
	for name, change := range map[string]func(*settings.Destination){
		"format":   func(d *settings.Destination) { d.FileFormat = settings.FileFormatPlainText },
		"hive":     func(d *settings.Destination) { d.HiveCompatible = false },
		"per hour": func(d *settings.Destination) { d.PerHourPartition = false },
		"prefix":   func(d *settings.Destination) { d.Prefix = "other" },
	} {
		cfg := s3Config()
		change(&cfg.Destination)
		if reconcile.ClientToken("run", cfg, []string{"vpc-1"}, nil) == base {
			t.Errorf("a change of %s keeps the token", name)
		}
	}
}

// TestCreateS3Input proves what the enabler sends for S3 (with the
// in-memory fake: the call is about our input, not AWS's answer):
// LogDestinationType s3, the bucket and prefix, the three options, and no
// log group and no role.
func TestCreateS3Input(t *testing.T) {
	w := newFakeWorld(1)
	rec := &reconcile.Reconciler{API: w.api, Region: testRegion}
	res, err := rec.Run(context.Background(), s3Config(), reconcile.Target{})
	if err != nil || res.Created != 1 {
		t.Fatalf("run: %s, %v", counts(res), err)
	}
	checkS3Input(t, w.api.CreateFlowLogsBehavior.Inputs()[0], testBucket+"/flows")
}

// TestReconcileS3OnMoto creates flow logs to S3 through moto over HTTP,
// to a prefix of a central bucket in another account: the proxy's
// EmulateS3FlowLogs fills what moto 5.2.1 lacks there (it reports a prefix
// or another account's bucket missing, and drops DestinationOptions). It
// proves what goes on the wire (type s3, bucket and prefix, the three
// options, no log group, no role), that a second run finds the flow log
// covering (nothing created), and that a change of one option replaces it.
func TestReconcileS3OnMoto(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var sent []map[string][]string
	proxy.AddHook(func(_ http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action == "CreateFlowLogs" {
			mu.Lock()
			sent = append(sent, c.Form)
			mu.Unlock()
		}
		return false
	})
	proxy.EmulateS3FlowLogs()
	vpc := f.vpc("flowlogs", "on")
	cfg := s3Config()
	cfg.Destination.BucketARN = "arn:aws:s3:::central-flow-logs-210987654321" // another account's: moto has no such bucket
	for run, want := range []string{
		"tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0",
		"tagged=1 covered=1 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0",
	} {
		if res := f.run(cfg, reconcile.Target{}); counts(res) != want {
			t.Fatalf("run %d: %s, want %s; failures %+v", run+1, counts(res), want, res.Failures)
		}
	}
	// Read through the proxy: moto itself keeps the stand-in bucket.
	viaProxy := func() []types.FlowLog {
		out, err := f.ec2.DescribeFlowLogs(f.ctx, &ec2.DescribeFlowLogsInput{
			Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.FlowLogs
	}
	fls := viaProxy()
	if len(fls) != 1 || reconcile.StaleReason(fls[0], cfg, testHome) != "" || !reconcile.IsOwned(fls[0], testOwner) {
		t.Fatalf("moto holds %+v", fls)
	}
	mu.Lock()
	if len(sent) != 1 {
		t.Fatalf("%d CreateFlowLogs calls, want 1", len(sent))
	}
	for k, want := range map[string]string{
		"LogDestinationType": "s3", "LogDestination": cfg.Destination.BucketARN + "/flows", "DestinationOptions.FileFormat": "parquet",
		"DestinationOptions.HiveCompatiblePartitions": "true", "DestinationOptions.PerHourPartition": "true",
		"LogGroupName": "", "DeliverLogsPermissionArn": "",
	} {
		if got := strings.Join(sent[0][k], ","); got != want {
			t.Errorf("%s = %q on the wire, want %q", k, got, want)
		}
	}
	mu.Unlock()

	cfg.Destination.PerHourPartition = false
	if res := f.run(cfg, reconcile.Target{}); res.Replaced != 1 || res.Failed != 0 {
		t.Fatalf("after a change of option: %s, failures %+v", counts(res), res.Failures)
	}
	fls = viaProxy()
	if len(fls) != 1 || reconcile.StaleReason(fls[0], cfg, testHome) != "" || aws.ToBool(fls[0].DestinationOptions.PerHourPartition) {
		t.Errorf("after the replacement moto holds %+v", fls)
	}
}

func checkS3Input(t *testing.T, in *ec2.CreateFlowLogsInput, destination string) {
	t.Helper()
	if in.LogDestinationType != types.LogDestinationTypeS3 || aws.ToString(in.LogDestination) != destination {
		t.Errorf("destination %s %q, want s3 %q", in.LogDestinationType, aws.ToString(in.LogDestination), destination)
	}
	if in.LogGroupName != nil || in.DeliverLogsPermissionArn != nil {
		t.Errorf("log group %v and role %v sent for S3", in.LogGroupName, in.DeliverLogsPermissionArn)
	}
	o := in.DestinationOptions
	if o == nil || o.FileFormat != types.DestinationFileFormatParquet || !aws.ToBool(o.HiveCompatiblePartitions) || !aws.ToBool(o.PerHourPartition) {
		t.Errorf("destination options %+v", o)
	}
	if in.TrafficType != types.TrafficTypeAll || aws.ToInt32(in.MaxAggregationInterval) != 600 {
		t.Errorf("traffic %s, interval %d", in.TrafficType, aws.ToInt32(in.MaxAggregationInterval))
	}
}
