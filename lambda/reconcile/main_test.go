package reconcile_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Every test that needs AWS talks to one moto server through one motoproxy:
// moto does not paginate and never reports partial failures, the proxy adds
// both. They start on first use (see emulator), so that the pure tests run
// without moto. Tests reset both before they start, so they do not run in
// parallel.
var (
	shared testenv.Shared
	// dynamoShared is a second moto, for the organization tests' DynamoDB.
	dynamoShared testenv.Shared
	moto         *testenv.Moto
	proxy        *motoproxy.Proxy
	proxyErr     error
	cleanups     []func() // run after every test
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if proxy != nil {
		proxy.Close()
	}
	shared.Close()
	dynamoShared.Close()
	os.Exit(code)
}

// emulator starts moto and the proxy in front of it on first use.
func emulator(t testing.TB) {
	t.Helper()
	m := shared.Moto(t)
	if moto == nil && proxyErr == nil {
		moto = m
		proxy, proxyErr = motoproxy.New(m.URL)
	}
	if proxyErr != nil {
		t.Fatalf("starting the proxy in front of moto: %v", proxyErr)
	}
}

func clientConfig(url string) aws.Config {
	cfg := testenv.AWSConfig(url)
	cfg.Retryer = awsconfig.NewRetryer
	return cfg
}

// fixture is one test's view of a fresh moto.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	ec2     *ec2.Client // through the proxy
	direct  *ec2.Client // straight to moto, uncounted
	metrics *syncBuffer
	rec     *reconcile.Reconciler
	cidr    int
}

// newFixture resets moto and the proxy and creates the log group, so that
// moto reports delivery SUCCESS. The reconciler pages by 5 and batches by
// 4, so a few VPCs already take several pages and batches.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	emulator(t)
	ctx := context.Background()
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	f := &fixture{
		t:       t,
		ctx:     ctx,
		ec2:     ec2.NewFromConfig(clientConfig(proxy.URL)),
		direct:  ec2.NewFromConfig(clientConfig(moto.URL)),
		metrics: &syncBuffer{},
	}
	f.rec = &reconcile.Reconciler{API: f.ec2, Region: testenv.Region, Metrics: f.metrics, PageSize: 5, BatchSize: 4}
	f.logGroup(testGroup)
	return f
}

func (f *fixture) logGroup(name string) {
	f.t.Helper()
	logs := cloudwatchlogs.NewFromConfig(clientConfig(moto.URL))
	if _, err := logs.CreateLogGroup(f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		f.t.Fatal(err)
	}
}

// vpc creates a VPC with the given tags (key, value, key, value, ...).
func (f *fixture) vpc(kv ...string) string {
	f.t.Helper()
	in := &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", f.cidr%250))}
	f.cidr++
	if len(kv) > 0 {
		spec := types.TagSpecification{ResourceType: types.ResourceTypeVpc}
		for i := 0; i+1 < len(kv); i += 2 {
			spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		in.TagSpecifications = []types.TagSpecification{spec}
	}
	out, err := f.direct.CreateVpc(f.ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return aws.ToString(out.Vpc.VpcId)
}

// vpcQuiet creates a VPC tagged flowlogs=on; safe from several goroutines.
func (f *fixture) vpcQuiet() {
	_, err := f.direct.CreateVpc(f.ctx, &ec2.CreateVpcInput{
		CidrBlock: aws.String("10.0.0.0/16"),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeVpc,
			Tags:         []types.Tag{{Key: aws.String("flowlogs"), Value: aws.String("on")}},
		}},
	})
	if err != nil {
		f.t.Error(err)
	}
}

// foreign creates a flow log as someone else would: without this
// deployment's tag, or with the tags given (key, value, ...).
func (f *fixture) foreign(vpc, logGroup string, tt types.TrafficType, kv ...string) string {
	f.t.Helper()
	in := &ec2.CreateFlowLogsInput{
		ResourceIds:              []string{vpc},
		ResourceType:             types.FlowLogsResourceTypeVpc,
		TrafficType:              tt,
		LogGroupName:             aws.String(logGroup),
		DeliverLogsPermissionArn: aws.String(testRole),
	}
	if len(kv) > 0 {
		spec := types.TagSpecification{ResourceType: types.ResourceTypeVpcFlowLog}
		for i := 0; i+1 < len(kv); i += 2 {
			spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		in.TagSpecifications = []types.TagSpecification{spec}
	}
	out, err := f.direct.CreateFlowLogs(f.ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	return out.FlowLogIds[0]
}

// flowLogs lists the flow logs of a VPC.
func (f *fixture) flowLogs(vpc string) []types.FlowLog {
	f.t.Helper()
	out, err := f.direct.DescribeFlowLogs(f.ctx, &ec2.DescribeFlowLogsInput{
		Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out.FlowLogs
}

// ours lists the ids of this deployment's flow logs on a VPC.
func (f *fixture) ours(vpc string) []string {
	var ids []string
	for _, fl := range f.flowLogs(vpc) {
		if reconcile.IsOwned(fl, testOwner) {
			ids = append(ids, aws.ToString(fl.FlowLogId))
		}
	}
	return ids
}

func (f *fixture) ids(vpc string) []string {
	var ids []string
	for _, fl := range f.flowLogs(vpc) {
		ids = append(ids, aws.ToString(fl.FlowLogId))
	}
	sort.Strings(ids)
	return ids
}

func (f *fixture) run(cfg settings.Enabler, t reconcile.Target) reconcile.Result {
	f.t.Helper()
	res, err := f.rec.Run(f.ctx, cfg, t)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return res
}

// counts renders the counts a test compares.
func counts(r reconcile.Result) string {
	return fmt.Sprintf("tagged=%d covered=%d created=%d replaced=%d removed=%d failed=%d pending=%d notFound=%d",
		r.Tagged, r.Covered, r.Created, r.Replaced, r.Removed, r.Failed, r.Pending, r.NotFound)
}

func failedVPCs(r reconcile.Result) []string {
	var out []string
	for _, f := range r.Failures {
		out = append(out, f.VPCID+" "+f.Code)
	}
	slices.Sort(out)
	return out
}

// syncBuffer is a bytes.Buffer safe for the writers of one run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
