package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestReconcile runs the reconciler against moto over HTTP, through
// motoproxy (which pages every Describe call by the reconciler's page size
// of 5).
func TestReconcile(t *testing.T) {
	type vpcs map[string]string // name -> VPC id
	tests := []struct {
		name string
		// setup builds the world and returns the configuration and target
		// of the run under test.
		setup func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target)
		want  string // counts
		check func(t *testing.T, f *fixture, v vpcs, res reconcile.Result)
	}{
		{
			name: "tagged and untagged VPCs, any value",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["on"], v["off"], v["none"], v["other"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "off"), f.vpc(), f.vpc("team", "a")
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=2 covered=2 created=2 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				for name, want := range map[string]int{"on": 1, "off": 1, "none": 0, "other": 0} {
					if got := len(f.ours(v[name])); got != want {
						t.Errorf("VPC %s has %d of our flow logs, want %d", name, got, want)
					}
				}
				fl := f.flowLogs(v["on"])[0]
				if reconcile.StaleReason(fl, testConfig(), testHome) != "" || aws.ToString(fl.LogGroupName) != testGroup {
					t.Errorf("created flow log does not match the settings: %s", reconcile.StaleReason(fl, testConfig(), testHome))
				}
			},
		},
		{
			name: "a value list",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["on"], v["yes"], v["off"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "yes"), f.vpc("flowlogs", "off")
				cfg := testConfig()
				cfg.TagValues = []string{"on", "yes"}
				return cfg, reconcile.Target{}
			},
			want: "tagged=2 covered=2 created=2 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if len(f.ours(v["off"])) != 0 || len(f.ours(v["on"])) != 1 || len(f.ours(v["yes"])) != 1 {
					t.Errorf("flow logs: on %v, yes %v, off %v", f.ours(v["on"]), f.ours(v["yes"]), f.ours(v["off"]))
				}
			},
		},
		{
			name: "a re-run creates nothing",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				for i := range 9 {
					v[fmt.Sprint(i)] = f.vpc("flowlogs", "on")
				}
				f.run(testConfig(), reconcile.Target{})
				proxy.ResetCalls()
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=9 covered=9 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, res reconcile.Result) {
				calls := proxy.Calls()
				if calls["CreateFlowLogs"] != 0 || calls["DeleteFlowLogs"] != 0 {
					t.Errorf("a run with nothing to do called %v", calls)
				}
				// 9 VPCs by pages of 5; every flow log (9) by pages of 5.
				if calls["DescribeVpcs"] != 2 || calls["DescribeFlowLogs"] != 2 {
					t.Errorf("calls = %v, want 2 DescribeVpcs and 2 DescribeFlowLogs", calls)
				}
				if fmt.Sprint(res.Calls) != fmt.Sprint(calls) {
					t.Errorf("the run counted %v, the proxy %v", res.Calls, calls)
				}
			},
		},
		{
			name: "someone else's flow log to our group is left alone",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"] = f.vpc("flowlogs", "on")
				v["fl"] = f.foreign(v["a"], testGroup, types.TrafficTypeAll)
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=1 covered=1 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if got := f.ids(v["a"]); fmt.Sprint(got) != fmt.Sprint([]string{v["fl"]}) {
					t.Errorf("flow logs = %v, want only %s", got, v["fl"])
				}
			},
		},
		{
			name: "someone else's flow log elsewhere gets ours too",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"] = f.vpc("flowlogs", "on")
				f.logGroup("/elsewhere")
				v["fl"] = f.foreign(v["a"], "/elsewhere", types.TrafficTypeAll)
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if len(f.ours(v["a"])) != 1 || !slices.Contains(f.ids(v["a"]), v["fl"]) {
					t.Errorf("flow logs = %v, want %s and ours", f.ids(v["a"]), v["fl"])
				}
			},
		},
		{
			name: "changed traffic type replaces only ours",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["ours"], v["theirs"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				v["theirs-fl"] = f.foreign(v["theirs"], testGroup, types.TrafficTypeAll)
				f.run(testConfig(), reconcile.Target{})
				v["old"] = f.ours(v["ours"])[0]
				cfg := testConfig()
				cfg.TrafficType = settings.TrafficReject
				return cfg, reconcile.Target{}
			},
			want: "tagged=2 covered=2 created=0 replaced=1 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				fls := f.flowLogs(v["ours"])
				if len(fls) != 1 || aws.ToString(fls[0].FlowLogId) == v["old"] || fls[0].TrafficType != types.TrafficTypeReject || !reconcile.IsOwned(fls[0], testOwner) {
					t.Errorf("our VPC's flow logs = %+v, want one new REJECT flow log of ours", fls)
				}
				if got := f.ids(v["theirs"]); fmt.Sprint(got) != fmt.Sprint([]string{v["theirs-fl"]}) {
					t.Errorf("their VPC's flow logs = %v, want only theirs %s", got, v["theirs-fl"])
				}
			},
		},
		{
			name: "failed delivery replaces ours",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				// moto marks delivery FAILED when the log group is missing.
				v["a"] = f.vpc("flowlogs", "on")
				cfg := testConfig()
				cfg.LogGroupName = "/not/yet"
				f.run(cfg, reconcile.Target{})
				v["old"] = f.ours(v["a"])[0]
				f.logGroup("/not/yet")
				return cfg, reconcile.Target{}
			},
			want: "tagged=1 covered=1 created=0 replaced=1 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				fls := f.flowLogs(v["a"])
				if len(fls) != 1 || aws.ToString(fls[0].FlowLogId) == v["old"] || aws.ToString(fls[0].DeliverLogsStatus) != "SUCCESS" {
					t.Errorf("flow logs = %+v, want one new delivering flow log", fls)
				}
			},
		},
		{
			name: "untag removes only ours",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["kept"], v["untagged"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				f.logGroup("/elsewhere")
				v["theirs"] = f.foreign(v["untagged"], "/elsewhere", types.TrafficTypeReject)
				f.run(testConfig(), reconcile.Target{})
				if _, err := f.direct.DeleteTags(f.ctx, &ec2.DeleteTagsInput{Resources: []string{v["untagged"]}, Tags: []types.Tag{{Key: aws.String("flowlogs")}}}); err != nil {
					f.t.Fatal(err)
				}
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=1 covered=1 created=0 replaced=0 removed=1 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if got := f.ids(v["untagged"]); fmt.Sprint(got) != fmt.Sprint([]string{v["theirs"]}) {
					t.Errorf("untagged VPC's flow logs = %v, want only theirs %s", got, v["theirs"])
				}
				if len(f.ours(v["kept"])) != 1 {
					t.Errorf("tagged VPC lost its flow log")
				}
			},
		},
		{
			name: "untag keeps ours when RemoveFlowLogsOnUntag is false",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"] = f.vpc("flowlogs", "on")
				f.run(testConfig(), reconcile.Target{})
				if _, err := f.direct.DeleteTags(f.ctx, &ec2.DeleteTagsInput{Resources: []string{v["a"]}, Tags: []types.Tag{{Key: aws.String("flowlogs")}}}); err != nil {
					f.t.Fatal(err)
				}
				cfg := testConfig()
				cfg.RemoveOnUntag = false
				return cfg, reconcile.Target{}
			},
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if len(f.ours(v["a"])) != 1 {
					t.Errorf("flow log removed although RemoveFlowLogsOnUntag is false")
				}
			},
		},
		{
			name: "stack delete removes only ours",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"], v["b"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				f.run(testConfig(), reconcile.Target{})
				// Another deployment, to another group, on the same VPCs.
				f.logGroup("/other/stack")
				other := testConfig()
				other.Owner, other.LogGroupName = "other-stack", "/other/stack"
				f.run(other, reconcile.Target{})
				v["someone"] = f.foreign(v["a"], testGroup+"-x", types.TrafficTypeAll)
				return testConfig(), reconcile.Target{Teardown: true}
			},
			want: "tagged=0 covered=0 created=0 replaced=0 removed=2 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				for _, vpc := range []string{v["a"], v["b"]} {
					if len(f.ours(vpc)) != 0 {
						t.Errorf("VPC %s still has our flow logs", vpc)
					}
					var others int
					for _, fl := range f.flowLogs(vpc) {
						if reconcile.IsOwned(fl, "other-stack") {
							others++
						}
					}
					if others != 1 {
						t.Errorf("VPC %s has %d of the other deployment's flow logs, want 1", vpc, others)
					}
				}
				if !slices.Contains(f.ids(v["a"]), v["someone"]) {
					t.Errorf("someone else's flow log was removed")
				}
			},
		},
		{
			name: "stack delete keeps ours when RemoveFlowLogsOnDelete is false",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"] = f.vpc("flowlogs", "on")
				f.run(testConfig(), reconcile.Target{})
				cfg := testConfig()
				cfg.RemoveOnDelete = false
				return cfg, reconcile.Target{Teardown: true}
			},
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if len(f.ours(v["a"])) != 1 {
					t.Errorf("flow log removed although RemoveFlowLogsOnDelete is false")
				}
			},
		},
		{
			name: "a nonexistent VPC in an event is reported, not fatal",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"] = f.vpc("flowlogs", "on")
				return testConfig(), reconcile.Target{VPCIDs: []string{"vpc-0000000000000dead", v["a"]}}
			},
			want: "tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=1",
		},
		{
			name: "an event reconciles only the VPCs it names, by their current tags",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["named"], v["other"], v["untagged"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on"), f.vpc()
				return testConfig(), reconcile.Target{VPCIDs: []string{v["named"], v["untagged"]}}
			},
			want: "tagged=1 covered=1 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if len(f.ours(v["named"])) != 1 || len(f.ours(v["other"])) != 0 || len(f.ours(v["untagged"])) != 0 {
					t.Errorf("flow logs: named %v, other %v, untagged %v", f.ours(v["named"]), f.ours(v["other"]), f.ours(v["untagged"]))
				}
			},
		},
		{
			name: "dry run plans and changes nothing",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["a"], v["b"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				cfg := testConfig()
				cfg.DryRun = true
				return cfg, reconcile.Target{}
			},
			want: "tagged=2 covered=0 created=2 replaced=0 removed=0 failed=0 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, _ reconcile.Result) {
				if n := proxy.Count("CreateFlowLogs") + proxy.Count("DeleteFlowLogs"); n != 0 {
					t.Errorf("a dry run made %d changing calls", n)
				}
				if len(f.flowLogs(v["a"])) != 0 {
					t.Errorf("a dry run created a flow log")
				}
			},
		},
		{
			name: "the flow log limit is checked before creating and reported by VPC",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["full"], v["free"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				f.logGroup("/a")
				f.logGroup("/b")
				f.foreign(v["full"], "/a", types.TrafficTypeAll)
				f.foreign(v["full"], "/b", types.TrafficTypeAll)
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=2 covered=1 created=1 replaced=0 removed=0 failed=1 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, res reconcile.Result) {
				if got := failedVPCs(res); fmt.Sprint(got) != fmt.Sprint([]string{v["full"] + " FlowLogsLimitExceeded"}) {
					t.Errorf("failures = %v", got)
				}
				if proxy.Count("CreateFlowLogs") != 1 {
					t.Errorf("CreateFlowLogs calls = %d, want 1 (without the full VPC)", proxy.Count("CreateFlowLogs"))
				}
			},
		},
		{
			name: "FlowLogAlreadyExists in Unsuccessful is covered after a re-check",
			setup: func(f *fixture, v vpcs) (settings.Enabler, reconcile.Target) {
				v["raced"], v["lost"] = f.vpc("flowlogs", "on"), f.vpc("flowlogs", "on")
				proxy.FailItem("CreateFlowLogs", v["raced"], "FlowLogAlreadyExists", "exists")
				proxy.FailItem("CreateFlowLogs", v["lost"], "FlowLogAlreadyExists", "exists")
				// Someone creates a covering flow log for "raced" while the run is creating.
				proxy.AddHook(func(_ http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
					if c.Action == "CreateFlowLogs" && c.Seq == 1 {
						// Not f.foreign: this runs on the proxy's goroutine.
						if _, err := f.direct.CreateFlowLogs(f.ctx, &ec2.CreateFlowLogsInput{
							ResourceIds: []string{v["raced"]}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
							LogGroupName: aws.String(testGroup), DeliverLogsPermissionArn: aws.String(testRole),
						}); err != nil {
							f.t.Error(err)
						}
					}
					return false
				})
				return testConfig(), reconcile.Target{}
			},
			want: "tagged=2 covered=1 created=0 replaced=0 removed=0 failed=1 pending=0 notFound=0",
			check: func(t *testing.T, f *fixture, v vpcs, res reconcile.Result) {
				if got := failedVPCs(res); fmt.Sprint(got) != fmt.Sprint([]string{v["lost"] + " FlowLogAlreadyExists"}) {
					t.Errorf("failures = %v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			v := vpcs{}
			cfg, target := tt.setup(f, v)
			res := f.run(cfg, target)
			if got := counts(res); got != tt.want {
				t.Errorf("counts = %s\n      want %s\nfailures: %+v", got, tt.want, res.Failures)
			}
			if tt.check != nil {
				tt.check(t, f, v, res)
			}
		})
	}
}

// TestFilterValues checks that the production-sized reconciler never sends
// EC2 more than 200 values in a filter (motoproxy refuses more, as EC2
// does): a sweep and an event naming more than 200 VPCs list every flow
// log without a filter; an event naming a few filters by resource-id.
func TestFilterValues(t *testing.T) {
	tests := []struct {
		name   string
		vpcs   int
		target func(ids []string) reconcile.Target
		// wantDescribeFlowLogs are the DescribeFlowLogs calls: their
		// filter names, "" for none.
		wantDescribeFlowLogs []string
	}{
		{"a sweep of 250 VPCs lists every flow log", 250,
			func([]string) reconcile.Target { return reconcile.Target{Trigger: "schedule"} }, []string{""}},
		{"an event naming 250 VPCs lists every flow log", 250,
			func(ids []string) reconcile.Target { return reconcile.Target{Trigger: "tag-change", VPCIDs: ids} }, []string{""}},
		{"an event naming 3 VPCs filters by resource-id", 3,
			func(ids []string) reconcile.Target { return reconcile.Target{Trigger: "tag-change", VPCIDs: ids} }, []string{"resource-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.rec = &reconcile.Reconciler{API: f.ec2, Region: testRegion}
			createTagged(t, f, tt.vpcs)
			out, err := f.direct.DescribeVpcs(f.ctx, &ec2.DescribeVpcsInput{})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range out.Vpcs {
				ids = append(ids, aws.ToString(v.VpcId))
			}
			// A tagged VPC outside the event, with this deployment's flow
			// log: an event's run must leave it alone.
			outside := f.vpc("flowlogs", "on")
			f.run(testConfig(), reconcile.Target{VPCIDs: []string{outside}})
			proxy.ResetCalls()
			var mu sync.Mutex
			var filters []string
			proxy.AddHook(func(_ http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
				if c.Action == "DescribeFlowLogs" {
					mu.Lock()
					filters = append(filters, c.Form.Get("Filter.1.Name"))
					mu.Unlock()
				}
				return false
			})
			target := tt.target(ids)
			res := f.run(testConfig(), target)
			wantCovered := tt.vpcs
			if target.VPCIDs == nil {
				wantCovered++ // a sweep sees the VPC outside too
			}
			if res.Created != tt.vpcs || res.Covered != wantCovered || res.Failed != 0 || res.Removed != 0 {
				t.Errorf("counts = %s, want %d created, %d covered; failures %+v", counts(res), tt.vpcs, wantCovered, res.Failures)
			}
			if len(f.ours(outside)) != 1 {
				t.Errorf("the tagged VPC outside the run has our flow logs %v, want one", f.ours(outside))
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(filters) != fmt.Sprint(tt.wantDescribeFlowLogs) {
				t.Errorf("DescribeFlowLogs filters = %q, want %q (calls %v)", filters, tt.wantDescribeFlowLogs, proxy.Calls())
			}
		})
	}
}

// TestMetrics checks the EMF line of a sweep.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	f.vpc("flowlogs", "on")
	f.vpc("flowlogs", "on")
	f.run(testConfig(), reconcile.Target{})
	var doc map[string]any
	lines := strings.Split(strings.TrimSpace(f.metrics.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one EMF line, got %d: %s", len(lines), f.metrics.String())
	}
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"TaggedVPCs": 2, "CoveredVPCs": 2, "UncoveredVPCs": 0, "FailedVPCs": 0, "CreatedFlowLogs": 2} {
		if doc[name] != want {
			t.Errorf("%s = %v, want %v", name, doc[name], want)
		}
	}
	cw := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cw["Namespace"] != settings.DefaultMetricsNamespace {
		t.Errorf("namespace = %v", cw["Namespace"])
	}
}

// TestClientTokenOnTheWire checks the tokens the enabler sends: an SDK
// retry of a throttled CreateFlowLogs resends its token, and the next run
// (here a Lambda retry with the same request id, after someone deleted the
// flow log) sends another, so EC2 creates instead of replaying. moto
// ignores tokens, so the test reads them on the way.
func TestClientTokenOnTheWire(t *testing.T) {
	f := newFixture(t)
	vpc := f.vpc("flowlogs", "on")
	var mu sync.Mutex
	var tokens []string
	proxy.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "CreateFlowLogs" {
			return false
		}
		mu.Lock()
		tokens = append(tokens, c.Form.Get("ClientToken"))
		mu.Unlock()
		if c.Seq == 1 {
			motoproxy.WriteError(w, http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
			return true
		}
		return false
	})
	ctx := lambdacontext.NewContext(f.ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	for run := range 2 {
		res, err := f.rec.Run(ctx, testConfig(), reconcile.Target{VPCIDs: []string{vpc}})
		if err != nil || res.Created != 1 {
			t.Fatalf("run %d: %s, error %v, failures %+v", run, counts(res), err, res.Failures)
		}
		for _, id := range f.ours(vpc) {
			if _, err := f.direct.DeleteFlowLogs(f.ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{id}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokens) != 3 || tokens[0] == "" {
		t.Fatalf("tokens = %q, want 3: a throttled call, its retry and the next run's", tokens)
	}
	if tokens[1] != tokens[0] {
		t.Errorf("the SDK retry sent token %q, the call %q", tokens[1], tokens[0])
	}
	if tokens[2] == tokens[0] {
		t.Errorf("the next run resent token %q: EC2 would replay it and create nothing", tokens[2])
	}
}

// TestRunNeedsRegion proves that a Reconciler without a Region refuses to
// plan rather than count no log group ARN as this region's (and replace
// every flow log of its own); a teardown needs no Region.
func TestRunNeedsRegion(t *testing.T) {
	rec := &reconcile.Reconciler{API: panicAPI{}}
	if _, err := rec.Run(context.Background(), testConfig(), reconcile.Target{Trigger: "schedule"}); err == nil || !strings.Contains(err.Error(), "no Region") {
		t.Errorf("error %v, want one saying the Region is missing", err)
	}
	cfg := testConfig()
	cfg.RemoveOnDelete = false
	if _, err := rec.Run(context.Background(), cfg, reconcile.Target{Trigger: "cloudformation-delete", Teardown: true}); err != nil {
		t.Errorf("teardown: %v", err)
	}
}
