package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestOrgS3Story runs the organization mode delivering to one central
// bucket, end to end with the real bootstraps: the hub synthesized with
// destination s3 (two member accounts in one OU, one region); the spokes
// deployed from the hub's StackSet, holding no flow log group and no
// delivery role; the enabler's sweep (the custom resource's Create, then
// its work queue) creating in each spoke a flow log owned by the hub on
// exactly the tagged VPC, to the central bucket with the three destination
// options; the summarizer's schedule and work queue digesting each
// account-region's folder of the bucket, each digest equal to the
// generator's own tally of that account-region's objects; and the roll-up
// adding them up exactly.
//
// What the harness plays (e2e/orgs3.go, orgharness.go): the organization
// (moto's Organizations), the StackSet's instances, the central bucket in
// moto's default account (the hub), flow logs to another account's bucket
// (the proxy's EmulateS3FlowLogs: moto refuses them), the delivery service
// (objects in AWS's layout per account-region), Lambda's event source
// mappings and CloudFormation's custom resource request.
func TestOrgS3Story(t *testing.T) {
	testenv.Need(t, testenv.MotoServer, testenv.RIETool, testenv.Qemu, testenv.Node, testenv.NPX)
	var log io.Writer
	if *fnLog {
		log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	h, err := e2e.StartOrg(ctx, e2e.Config{WorkDir: t.TempDir(), FunctionLog: log, Context: map[string]any{"destination": settings.DestinationS3}},
		e2e.OrgOptions{OUs: []string{"workloads"}, Regions: []string{testenv.Region}})
	if err != nil {
		t.Fatalf("starting the organization harness: %v", err)
	}
	t.Cleanup(h.Close)
	bucket, err := h.PrepareOrgS3(ctx)
	if err != nil {
		t.Fatal(err)
	}
	region := testenv.Region
	var accounts []string
	for _, name := range []string{"prod", "dev"} {
		a, err := h.Org.AddAccount(ctx, name, "workloads")
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, a.ID)
	}
	if added, err := h.PlayStackSet(ctx); err != nil || len(added) != 2 {
		t.Fatalf("StackSet instances %v, %v: want one per account", added, err)
	}
	checkS3Spokes(t, h)
	tagKey := envOf(t, h, h.Stack.Enabler, settings.EnvTagKey)
	tagged := map[string]string{}
	for _, a := range accounts {
		vpcs, err := e2e.CreateVPCs(ctx, h.Org.Admin(a, region), []e2e.VPCSpec{
			{Name: "app", Tags: map[string]string{tagKey: "enabled"}, Subnets: 1, ENIsPerSubnet: 2},
			{Name: "scratch", Subnets: 1, ENIsPerSubnet: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		tagged[a] = vpcs[0].ID
	}

	enabler, err := h.StartEnabler(h.Proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer enabler.Close()
	sweepS3(ctx, t, h, enabler)
	want := "arn:aws:s3:::" + bucket.Bucket
	if bucket.Layout.Prefix != "" {
		want += "/" + bucket.Layout.Prefix
	}
	for _, a := range accounts {
		checkS3FlowLogs(ctx, t, h, a, tagged[a], want)
	}

	delivered := map[string]e2e.S3Delivery{}
	for i, a := range accounts {
		if delivered[a], err = h.DeliverOrgS3(ctx, bucket, a, region, int64(20+i), 500+300*i); err != nil {
			t.Fatal(err)
		}
	}
	summarizer, err := h.StartSummarizer(h.Proxy.URL, settings.EnvSettleLag+"=0s")
	if err != nil {
		t.Fatal(err)
	}
	defer summarizer.Close()
	if _, err := summarizer.Invoke(ctx, h.Stack.SummaryEvent()); err != nil {
		t.Fatalf("the scheduled digest run: %v\n%s", err, summarizer.Log())
	}
	p, err := h.Pump(h.Stack.Summarizer, []e2e.Invoker{summarizer})
	if err != nil {
		t.Fatal(err)
	}
	if stats, err := p.Drain(ctx); err != nil || stats.Failed != 0 {
		t.Fatalf("the summarizer's queue: %+v, %v\n%s", stats, err, summarizer.Log())
	}
	checkS3Digests(ctx, t, h, delivered, region)
}

func envOf(t *testing.T, h *e2e.OrgHarness, fn *e2e.Resource, key string) string {
	t.Helper()
	env, err := h.Stack.Names.ResolveEnv(fn)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	t.Fatalf("no %s in the environment", key)
	return ""
}

// checkS3Spokes: what the StackSet deployed holds no flow log group and no
// delivery role, but the two roles the hub assumes.
func checkS3Spokes(t *testing.T, h *e2e.OrgHarness) {
	t.Helper()
	for key, sp := range h.Spokes {
		created := strings.Join(sp.Stack.Created, "\n")
		if strings.Contains(created, "log group") || strings.Contains(created, settings.SpokeDeliveryRolePrefix) {
			t.Errorf("spoke %s created a log group or a delivery role in S3 mode:\n%s", key, created)
		}
		for _, role := range []string{settings.SpokeEnablerRoleName, settings.SpokeReaderRoleName} {
			if !strings.Contains(created, role) {
				t.Errorf("spoke %s lacks %s:\n%s", key, role, created)
			}
		}
	}
}

// sweepS3 sends the custom resource's Create and drains the enabler's
// queue.
func sweepS3(ctx context.Context, t *testing.T, h *e2e.OrgHarness, enabler *e2e.Function) {
	t.Helper()
	req, err := h.Stack.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		t.Fatal(err)
	}
	answers, err := e2e.SendCustomResource(ctx, enabler, h.CFN, req)
	if err != nil || len(answers) != 1 || answers[0].Body.Status != "SUCCESS" {
		t.Fatalf("the Create: %v %+v\n%s", err, answers, enabler.Log())
	}
	p, err := h.Pump(h.Stack.Enabler, []e2e.Invoker{enabler})
	if err != nil {
		t.Fatal(err)
	}
	if stats, err := p.Drain(ctx); err != nil || stats.Failed != 0 {
		t.Fatalf("the enabler's queue: %+v, %v\n%s", stats, err, enabler.Log())
	}
}

// checkS3FlowLogs: the hub owns exactly one flow log in the account, on
// its tagged VPC, delivering to the central bucket in Parquet with
// Hive-compatible, per-hour keys and no delivery role.
func checkS3FlowLogs(ctx context.Context, t *testing.T, h *e2e.OrgHarness, account, vpc, destination string) {
	t.Helper()
	fls, err := h.S3FlowLogs(ctx, account, testenv.Region)
	if err != nil {
		t.Fatal(err)
	}
	var ours []types.FlowLog
	for _, f := range fls {
		for _, tag := range f.Tags {
			if aws.ToString(tag.Key) == settings.OwnerTagKey && aws.ToString(tag.Value) == h.Stack.Names.StackID {
				ours = append(ours, f)
			}
		}
	}
	if len(ours) != 1 {
		t.Fatalf("%s: the hub owns %d flow logs, want 1 on %s", account, len(ours), vpc)
	}
	f := ours[0]
	o := f.DestinationOptions
	if aws.ToString(f.ResourceId) != vpc || f.LogDestinationType != types.LogDestinationTypeS3 || aws.ToString(f.LogDestination) != destination ||
		aws.ToString(f.DeliverLogsPermissionArn) != "" || o == nil || o.FileFormat != types.DestinationFileFormatParquet ||
		!aws.ToBool(o.HiveCompatiblePartitions) || !aws.ToBool(o.PerHourPartition) {
		t.Errorf("%s: the hub's flow log %+v (options %+v), want one on %s to %s, Parquet, Hive-compatible, per hour, no role", account, f, o, vpc, destination)
	}
}

// checkS3Digests: one digest per account-region, equal to the generator's
// tally of its objects, and one roll-up adding them up.
func checkS3Digests(ctx context.Context, t *testing.T, h *e2e.OrgHarness, delivered map[string]e2e.S3Delivery, region string) {
	t.Helper()
	docs, err := e2e.ReadGroup(ctx, h.Clients, h.Stack.DigestLogGroup)
	if err != nil {
		t.Fatal(err)
	}
	var records, bytes uint64
	for a, d := range delivered {
		stream := docs[a+"/"+region]
		if len(stream) != 1 {
			t.Fatalf("%s: %d digests, want 1; streams %v", a, len(stream), keys(docs))
		}
		var dg digest.Digest
		if err := json.Unmarshal([]byte(stream[0]), &dg); err != nil {
			t.Fatal(err)
		}
		if diffs := e2e.DiffDigest(dg, d.Expected); len(diffs) > 0 || dg.Totals.Records == 0 || dg.Read.BadObjects != 0 {
			t.Errorf("%s: the digest of %d records, %d bad objects, differs from what was delivered:\n  %s", a, dg.Totals.Records, dg.Read.BadObjects, strings.Join(diffs, "\n  "))
		}
		records, bytes = records+d.Expected.Totals.Records, bytes+d.Expected.Totals.Bytes
	}
	rolls := docs[digest.RollupStreamName]
	if len(rolls) != 1 {
		t.Fatalf("%d roll-ups, want 1", len(rolls))
	}
	var roll digest.Rollup
	if err := json.Unmarshal([]byte(rolls[0]), &roll); err != nil {
		t.Fatal(err)
	}
	if roll.AccountRegions != (digest.RollupCounts{Expected: 2, Digested: 2}) || roll.Totals.Records != records || roll.Totals.Bytes != bytes {
		t.Errorf("roll-up %+v with %d records, %d bytes; want 2 digested of 2, %d records, %d bytes", roll.AccountRegions, roll.Totals.Records, roll.Totals.Bytes, records, bytes)
	}
}
