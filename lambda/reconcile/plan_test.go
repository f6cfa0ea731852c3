package reconcile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const (
	testOwner = "arn:aws:cloudformation:us-east-1:123456789012:stack/flowlogs/1"
	testRole  = "arn:aws:iam::123456789012:role/delivery"
	testGroup = "/vpc/flowlogs"
)

// testHome is where testConfig's log group is: moto's region, the
// delivery role's account.
var testHome = reconcile.Home{Partition: "aws", Region: testRegion, Account: "123456789012"}

// testRegion is moto's region (testenv.Region).
const testRegion = "us-east-1"

func testConfig() settings.Enabler {
	return settings.Enabler{
		TagKey:                 "flowlogs",
		LogGroupName:           testGroup,
		DeliveryRoleARN:        testRole,
		TrafficType:            settings.TrafficAll,
		MaxAggregationInterval: 600,
		RemoveOnDelete:         true,
		RemoveOnUntag:          true,
		Owner:                  testOwner,
		MetricsNamespace:       settings.DefaultMetricsNamespace,
	}
}

// fl is a flow log as DescribeFlowLogs reports one, with this package's
// settings unless changed.
func fl(id, vpc string, opts ...func(*types.FlowLog)) types.FlowLog {
	f := types.FlowLog{
		FlowLogId:                aws.String(id),
		ResourceId:               aws.String(vpc),
		LogDestinationType:       types.LogDestinationTypeCloudWatchLogs,
		LogGroupName:             aws.String(testGroup),
		DeliverLogsPermissionArn: aws.String(testRole),
		TrafficType:              types.TrafficTypeAll,
		MaxAggregationInterval:   aws.Int32(600),
		LogFormat:                aws.String(settings.DefaultLogFormat),
		DeliverLogsStatus:        aws.String("SUCCESS"),
	}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func owned(owner string) func(*types.FlowLog) {
	return func(f *types.FlowLog) {
		f.Tags = append(f.Tags, types.Tag{Key: aws.String(settings.OwnerTagKey), Value: aws.String(owner)})
	}
}

func traffic(t types.TrafficType) func(*types.FlowLog) {
	return func(f *types.FlowLog) { f.TrafficType = t }
}

func failed(msg string) func(*types.FlowLog) {
	return func(f *types.FlowLog) {
		f.DeliverLogsStatus = aws.String("FAILED")
		f.DeliverLogsErrorMessage = aws.String(msg)
	}
}

func group(g string) func(*types.FlowLog) {
	return func(f *types.FlowLog) { f.LogGroupName = aws.String(g) }
}

// dest sets LogDestination, as AWS reports it for a flow log created with
// a log group ARN (and, in AWS, for every CloudWatch Logs flow log).
func dest(arn string) func(*types.FlowLog) {
	return func(f *types.FlowLog) { f.LogDestination = aws.String(arn) }
}

// describe renders a plan compactly: covered VPCs, steps, blocked VPCs.
func describe(p reconcile.Plan) string {
	var parts []string
	for _, v := range p.Covered {
		parts = append(parts, "covered "+v)
	}
	for _, s := range p.Steps {
		parts = append(parts, fmt.Sprintf("%s %s %v", s.Action, s.VPCID, s.Delete))
	}
	for _, b := range p.Blocked {
		parts = append(parts, fmt.Sprintf("blocked %s %s", b.VPCID, b.Code))
	}
	return strings.Join(parts, "; ")
}

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*settings.Enabler)
		tagged   []string
		flowLogs []types.FlowLog
		want     string
	}{
		{
			name:   "missing",
			tagged: []string{"vpc-1"},
			want:   "create vpc-1 []",
		},
		{
			name:     "covered by ours",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner))},
			want:     "covered vpc-1",
		},
		{
			name:     "covered by someone else's flow log to our group",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1")},
			want:     "covered vpc-1",
		},
		{
			name:     "ALL covers REJECT",
			cfg:      func(c *settings.Enabler) { c.TrafficType = settings.TrafficReject },
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1")},
			want:     "covered vpc-1",
		},
		{
			name:     "REJECT does not cover ALL",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", traffic(types.TrafficTypeReject))},
			want:     "create vpc-1 []",
		},
		{
			name:     "someone else's flow log elsewhere does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", group("/elsewhere"))},
			want:     "create vpc-1 []",
		},
		// A flow log's LogDestination may be a log group ARN of any account
		// and region; only this account's and region's group of that name
		// is the configured one. Before, the name alone decided.
		{
			name:   "a flow log to this account's and region's group given by ARN covers",
			tagged: []string{"vpc-1", "vpc-2"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flowlogs")),
				fl("fl-2", "vpc-2", dest("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flowlogs:*"))},
			want: "covered vpc-1; covered vpc-2",
		},
		{
			name:     "a group of the same name in another account does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws:logs:us-east-1:999999999999:log-group:/vpc/flowlogs"))},
			want:     "create vpc-1 []",
		},
		{
			name:     "a group of the same name in another region does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flowlogs"))},
			want:     "create vpc-1 []",
		},
		{
			name:     "a group of the same name in another partition does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws-cn:logs:us-east-1:123456789012:log-group:/vpc/flowlogs"))},
			want:     "create vpc-1 []",
		},
		{
			name:     "a destination ARN naming another group does not cover, whatever LogGroupName says",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws:logs:us-east-1:123456789012:log-group:/other"))},
			want:     "create vpc-1 []",
		},
		{
			name:   "a destination that is no log group ARN does not cover",
			tagged: []string{"vpc-1", "vpc-2", "vpc-3"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", dest("arn:aws:s3:::bucket/log-group:/vpc/flowlogs")),
				fl("fl-2", "vpc-2", dest("/vpc/flowlogs")),
				fl("fl-3", "vpc-3", dest("arn:aws:logs:us-east-1:123456789012:destination:/vpc/flowlogs"))},
			want: "create vpc-1 []; create vpc-2 []; create vpc-3 []",
		},
		{
			name:     "a flow log with neither group name nor destination does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", func(f *types.FlowLog) { f.LogGroupName = nil })},
			want:     "create vpc-1 []",
		},
		{
			name:     "ours delivering to another account's group of that name is replaced",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner), dest("arn:aws:logs:us-east-1:999999999999:log-group:/vpc/flowlogs"))},
			want:     "replace vpc-1 [fl-1]",
		},
		{
			name:     "another deployment's flow log counts as someone else's",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned("other-stack"), traffic(types.TrafficTypeAccept))},
			want:     "create vpc-1 []",
		},
		{
			name:     "stale traffic type is replaced",
			cfg:      func(c *settings.Enabler) { c.TrafficType = settings.TrafficReject },
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner), traffic(types.TrafficTypeAccept))},
			want:     "replace vpc-1 [fl-1]",
		},
		{
			name:     "ours with ALL is stale once REJECT is configured",
			cfg:      func(c *settings.Enabler) { c.TrafficType = settings.TrafficReject },
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner))},
			want:     "replace vpc-1 [fl-1]",
		},
		{
			name:   "failed delivery is replaced",
			tagged: []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner), func(f *types.FlowLog) {
				f.DeliverLogsStatus = aws.String("FAILED")
				f.DeliverLogsErrorMessage = aws.String("Access error")
			})},
			want: "replace vpc-1 [fl-1]",
		},
		{
			name:     "someone else's flow log to our group whose delivery FAILED does not cover",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", failed("Access error"))},
			want:     "create vpc-1 []",
		},
		{
			name:     "ours FAILED next to someone else's FAILED is replaced, not covered",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner), failed("Access error")), fl("fl-2", "vpc-1", failed("Rate limited"))},
			want:     "replace vpc-1 [fl-1]",
		},
		{
			name:   "changed format is replaced",
			cfg:    func(c *settings.Enabler) { c.LogFormat = "${version} ${vpc-id} ${action}" },
			tagged: []string{"vpc-1", "vpc-2"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner)),
				fl("fl-2", "vpc-2", owned(testOwner), func(f *types.FlowLog) { f.LogFormat = aws.String("${version} ${vpc-id} ${action}") })},
			want: "covered vpc-2; replace vpc-1 [fl-1]",
		},
		{
			name:     "stale ours next to someone else's covering flow log is removed",
			cfg:      func(c *settings.Enabler) { c.MaxAggregationInterval = 60 },
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner)), fl("fl-2", "vpc-1", func(f *types.FlowLog) { f.MaxAggregationInterval = aws.Int32(60) })},
			want:     "covered vpc-1; remove vpc-1 [fl-1]",
		},
		{
			name:     "ours on an untagged VPC is removed",
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", owned(testOwner)), fl("fl-2", "vpc-2", owned(testOwner))},
			want:     "covered vpc-1; remove vpc-2 [fl-2]",
		},
		{
			name:     "ours on an untagged VPC is kept when RemoveOnUntag is false",
			cfg:      func(c *settings.Enabler) { c.RemoveOnUntag = false },
			flowLogs: []types.FlowLog{fl("fl-2", "vpc-2", owned(testOwner))},
			want:     "",
		},
		{
			name:     "someone else's on an untagged VPC is left alone",
			flowLogs: []types.FlowLog{fl("fl-2", "vpc-2"), fl("fl-3", "vpc-2", owned("other-stack"))},
			want:     "",
		},
		{
			name:   "limit: two flow logs elsewhere block a third",
			tagged: []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", group("/a")),
				fl("fl-2", "vpc-1", group("/b"))},
			want: "blocked vpc-1 FlowLogsLimitExceeded",
		},
		{
			name:     "limit: replacing ours frees its place",
			cfg:      func(c *settings.Enabler) { c.TrafficType = settings.TrafficReject },
			tagged:   []string{"vpc-1"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1", group("/a")), fl("fl-2", "vpc-1", owned(testOwner), traffic(types.TrafficTypeAccept))},
			want:     "replace vpc-1 [fl-2]",
		},
		{
			name:     "repeated VPCs and flow logs count once, steps sorted",
			tagged:   []string{"vpc-3", "vpc-1", "vpc-3"},
			flowLogs: []types.FlowLog{fl("fl-1", "vpc-1"), fl("fl-1", "vpc-1")},
			want:     "covered vpc-1; create vpc-3 []",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			if got := describe(reconcile.NewPlan(cfg, testHome, tt.tagged, tt.flowLogs)); got != tt.want {
				t.Errorf("plan = %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestNewTeardownPlan(t *testing.T) {
	p := reconcile.NewTeardownPlan(testOwner, []types.FlowLog{
		fl("fl-1", "vpc-1", owned(testOwner)),
		fl("fl-2", "vpc-1"),
		fl("fl-3", "vpc-2", owned("other-stack")),
		fl("fl-4", "vpc-3", owned(testOwner)),
	})
	if got, want := describe(p), "remove vpc-1 [fl-1]; remove vpc-3 [fl-4]"; got != want {
		t.Errorf("plan = %q, want %q", got, want)
	}
}

func TestClientToken(t *testing.T) {
	cfg := testConfig()
	const run = "req-1/NONCE1"
	tok := reconcile.ClientToken(run, cfg, []string{"vpc-2", "vpc-1"}, nil)
	if len(tok) > 64 {
		t.Errorf("token %q has %d characters, EC2 takes at most 64", tok, len(tok))
	}
	// What an SDK retry resends: the same run and batch.
	if again := reconcile.ClientToken(run, cfg, []string{"vpc-1", "vpc-2"}, nil); again != tok {
		t.Errorf("the same run and batch gave another token")
	}
	other := cfg
	other.TrafficType = settings.TrafficReject
	for name, got := range map[string]string{
		// A tag removed and added again within the hour: a new invocation.
		"another invocation":               reconcile.ClientToken("req-2/NONCE2", cfg, []string{"vpc-1", "vpc-2"}, nil),
		"a Lambda retry of the invocation": reconcile.ClientToken("req-1/NONCE3", cfg, []string{"vpc-1", "vpc-2"}, nil),
		"other settings":                   reconcile.ClientToken(run, other, []string{"vpc-1", "vpc-2"}, nil),
		"other VPCs":                       reconcile.ClientToken(run, cfg, []string{"vpc-1"}, nil),
		"a replacement":                    reconcile.ClientToken(run, cfg, []string{"vpc-1", "vpc-2"}, []string{"fl-1"}),
	} {
		if got == tok {
			t.Errorf("%s gave the same token", name)
		}
	}
}

func TestPhysicalID(t *testing.T) {
	id := reconcile.PhysicalID(testOwner, "Enabler")
	if id != reconcile.PhysicalID(testOwner, "Enabler") || id == reconcile.PhysicalID(testOwner+"2", "Enabler") {
		t.Errorf("physical id %q is not deterministic per stack and logical id", id)
	}
	if long := reconcile.PhysicalID(testOwner, strings.Repeat("x", 5000)); len(long) > 1024 {
		t.Errorf("physical id has %d bytes, CloudFormation takes at most 1 KB", len(long))
	}
}
