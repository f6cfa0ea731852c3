package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Reporter is told what the story does as it goes: the demo prints it, the
// tests ignore it.
type Reporter interface {
	// Step starts step n of the story.
	Step(n int, title string)
	// Info reports a detail of the current step.
	Info(format string, args ...any)
}

// Quiet is a Reporter that reports nothing.
type Quiet struct{}

// Step does nothing.
func (Quiet) Step(int, string) {}

// Info does nothing.
func (Quiet) Info(string, ...any) {}

// StoryOptions size the story.
type StoryOptions struct {
	// Records is how many flow log records the delivery writes.
	Records int
	// Seed seeds the records.
	Seed int64
}

// The VPCs of the story and what the enabler must do with each.
const (
	ForeignGroup = "/security/flow-logs"
	tagOn        = "enabled"
)

// StoryResult is everything the story observed, for the tests to assert
// and the demo to print.
type StoryResult struct {
	TagKey string
	VPCs   map[string]VPC // by name

	// Create is every answer the Create request got; CreateResult the
	// counts in its Data.
	Create      []testenv.CFNResponse
	AfterCreate []FlowLog

	Delivery  Delivery
	Summarize digest.Result
	Digest    StoredDigest
	// DigestFile is a copy of the digest's JSON in the work directory.
	DigestFile string
	// Diffs lists where the digest differs from the generator's tally.
	Diffs []string

	Tagged, Untagged reconcile.Result
	AfterTags        []FlowLog

	Delete      []testenv.CFNResponse
	AfterDelete []FlowLog

	Took map[string]time.Duration
}

// OwnedBy returns the flow logs of owner, by resource id.
func OwnedBy(fls []FlowLog, owner string) map[string][]FlowLog {
	out := map[string][]FlowLog{}
	for _, f := range fls {
		if f.Owner == owner {
			out[f.ResourceID] = append(out[f.ResourceID], f)
		}
	}
	return out
}

// ByResource returns flow logs by resource id.
func ByResource(fls []FlowLog) map[string][]FlowLog {
	out := map[string][]FlowLog{}
	for _, f := range fls {
		out[f.ResourceID] = append(out[f.ResourceID], f)
	}
	return out
}

// Story runs steps 3 to 8 of the tour (Start did 1 and 2): VPCs, the
// CloudFormation Create, delivery, the digest, tag changes and the
// CloudFormation Delete. It stops at the first thing that does not work.
func (h *Harness) Story(ctx context.Context, r Reporter, o StoryOptions) (*StoryResult, error) {
	if o.Records <= 0 {
		o.Records = 5000
	}
	s, c := h.Stack, h.Clients
	res := &StoryResult{VPCs: map[string]VPC{}, Took: map[string]time.Duration{}}
	clock := time.Now()
	took := func(what string) {
		res.Took[what] = time.Since(clock)
		clock = time.Now()
	}
	enablerEnv, err := settings.EnablerFromEnv(envLookup(s.Names, s.Enabler))
	if err != nil {
		return nil, fmt.Errorf("the template's enabler environment: %w", err)
	}
	res.TagKey = enablerEnv.TagKey
	key := res.TagKey

	r.Step(3, "Creating VPCs, some tagged, each with network interfaces")
	specs := []VPCSpec{
		{Name: "prod", Tags: map[string]string{key: tagOn}, Subnets: 2, ENIsPerSubnet: 2},
		{Name: "staging", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
		{Name: "payments", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
		{Name: "analytics", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
		{Name: "dev", Subnets: 1, ENIsPerSubnet: 1},
		{Name: "sandbox", Tags: map[string]string{key: "disabled"}, Subnets: 1, ENIsPerSubnet: 1},
	}
	vpcs, err := CreateVPCs(ctx, c, specs)
	if err != nil {
		return nil, err
	}
	for _, v := range vpcs {
		res.VPCs[v.Name] = v
		r.Info("%-9s %s  tags %v  %d interfaces", v.Name, v.ID, v.Tags, len(v.ENIs))
	}
	// Flow logs someone else made: one to another group (the enabler adds
	// its own next to it), one to this stack's group (it covers the VPC).
	if _, err := c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(ForeignGroup)}); err != nil {
		return nil, fmt.Errorf("creating %s: %w", ForeignGroup, err)
	}
	if _, err := CreateForeignFlowLog(ctx, c, res.VPCs["payments"].ID, ForeignGroup, s.DeliveryRoleARN, "REJECT"); err != nil {
		return nil, err
	}
	if _, err := CreateForeignFlowLog(ctx, c, res.VPCs["analytics"].ID, s.FlowLogGroup, s.DeliveryRoleARN, "ALL"); err != nil {
		return nil, err
	}
	r.Info("someone else's flow logs: payments (REJECT to %s), analytics (ALL to %s)", ForeignGroup, s.FlowLogGroup)
	took("vpcs")

	r.Step(4, "Running the enabler's bootstrap under the Lambda emulator with a CloudFormation Create request")
	enabler, err := h.StartEnabler(h.Proxy.URL)
	if err != nil {
		return nil, err
	}
	defer enabler.Close()
	create, err := s.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		return nil, err
	}
	r.Info("request %s: Create %s (%s) with the template's properties", create.RequestID, s.Reconcile.LogicalID, s.Reconcile.Type)
	if res.Create, err = SendCustomResource(ctx, enabler, h.CFN, create); err != nil {
		return nil, err
	}
	if len(res.Create) != 1 {
		return res, fmt.Errorf("the Create request got %d answers, want 1\n%s", len(res.Create), enabler.Log())
	}
	ans := res.Create[0].Body
	r.Info("CloudFormation answer: %s, physical id %s, data %v (%d bytes)", ans.Status, ans.PhysicalResourceID, ans.Data, len(res.Create[0].Raw))
	if ans.Status != "SUCCESS" {
		return res, fmt.Errorf("the Create request failed: %s\n%s", ans.Reason, enabler.Log())
	}
	if res.AfterCreate, err = FlowLogs(ctx, c); err != nil {
		return nil, err
	}
	h.reportFlowLogs(r, res, res.AfterCreate)
	took("create")

	r.Step(5, "Playing the delivery service: generated records into one eni-...-all stream per interface")
	var enis []ENI
	for _, name := range []string{"prod", "staging", "payments", "analytics"} {
		enis = append(enis, res.VPCs[name].ENIs...)
	}
	// The records fill the past hour, as a real hour's would, and the
	// streams are dated when the service would have created them: the
	// digest's first window (the settle lag is 0 here: nothing is late
	// locally) finds both without waiting for the clock.
	start, span := PastHour(time.Now())
	res.Delivery, err = h.Deliver(ctx, Traffic{
		Seed: o.Seed, Records: o.Records, ENIs: enis, Start: start, Span: span,
		Options: flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples},
	})
	if err != nil {
		return nil, err
	}
	d := res.Delivery
	r.Info("%d records (%d KB) into %d streams of %s, timestamps %s to %s UTC",
		d.Events, d.Bytes/1024, len(d.Streams), s.FlowLogGroup, d.First.Format("15:04:05"), d.Last.Format("15:04:05"))
	r.Info("each stream dated when the service would have created it, as its interface's first capture window closed (moto dates it now; the proxy in front of the functions reports the delivery time)")
	r.Info("the generator's own tally: %d records, %d accepted, %d rejected, %d bytes, %d NODATA, %d SKIPDATA",
		d.Expected.Totals.Records, d.Expected.Totals.Accepted, d.Expected.Totals.Rejected, d.Expected.Totals.Bytes,
		d.Expected.NoData.Records, d.Expected.SkipData.Records)
	took("deliver")

	r.Step(6, "Running the summarizer's bootstrap the same way")
	summarizer, err := h.StartSummarizer(h.Proxy.URL, settings.EnvSettleLag+"=0s")
	if err != nil {
		return nil, err
	}
	defer summarizer.Close()
	r.Info("settle lag set to 0 (no late delivery here)")
	if err := summarizer.InvokeInto(ctx, s.SummaryEvent(), &res.Summarize); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, summarizer.Log())
	}
	digests, err := ReadDigests(ctx, c, s.DigestLogGroup)
	if err != nil {
		return nil, err
	}
	if len(digests) != 1 {
		return nil, fmt.Errorf("%d digests in %s, want 1\n%s", len(digests), s.DigestLogGroup, summarizer.Log())
	}
	res.Digest = digests[0]
	res.DigestFile = filepath.Join(h.WorkDir, "digest.json")
	if err := os.WriteFile(res.DigestFile, res.Digest.JSON, 0o644); err != nil {
		return nil, err
	}
	sr, dg := res.Summarize, res.Digest.Digest
	r.Info("the summarizer answered: window %s to %s UTC, %d records, %d new interfaces, a %d-byte digest, %d FilterLogEvents calls",
		sr.From.Format("15:04"), sr.To.Format("15:04"), sr.Records, sr.NewInterfaces, sr.DigestBytes, sr.FilterCalls)
	if res.Diffs = DiffDigest(dg, d.Expected); len(res.Diffs) > 0 {
		return res, fmt.Errorf("the digest differs from what was delivered:\n  %s", strings.Join(res.Diffs, "\n  "))
	}
	r.Info("the digest's totals, protocols, top lists and per-interface counts equal the generator's own tally exactly")
	r.Info("the digest is one JSON event in log group %s, stream %s (copy: %s); as text:", s.DigestLogGroup, digest.DigestStreamName, res.DigestFile)
	r.Info("")
	for _, line := range strings.Split(strings.TrimRight(dg.Text(), "\n"), "\n") {
		r.Info("  | %s", line)
	}
	took("summarize")

	r.Step(7, "Tagging one more VPC and untagging another, each followed by its aws.tag event")
	dev, staging := res.VPCs["dev"], res.VPCs["staging"]
	if err := TagVPC(ctx, c, dev.ID, map[string]string{key: tagOn}); err != nil {
		return nil, err
	}
	tags, err := VPCTags(ctx, c, dev.ID)
	if err != nil {
		return nil, err
	}
	if err := enabler.InvokeInto(ctx, s.TagChangeEvent(dev.ID, tags, key), &res.Tagged); err != nil {
		return nil, fmt.Errorf("the tag event: %w\n%s", err, enabler.Log())
	}
	r.Info("tagged dev %s=%s: created %d, covered %d, failed %d", key, tagOn, res.Tagged.Created, res.Tagged.Covered, res.Tagged.Failed)
	if err := UntagVPC(ctx, c, staging.ID, key); err != nil {
		return nil, err
	}
	if tags, err = VPCTags(ctx, c, staging.ID); err != nil {
		return nil, err
	}
	if err := enabler.InvokeInto(ctx, s.TagChangeEvent(staging.ID, tags, key), &res.Untagged); err != nil {
		return nil, fmt.Errorf("the untag event: %w\n%s", err, enabler.Log())
	}
	r.Info("untagged staging: removed %d, failed %d", res.Untagged.Removed, res.Untagged.Failed)
	if res.AfterTags, err = FlowLogs(ctx, c); err != nil {
		return nil, err
	}
	h.reportFlowLogs(r, res, res.AfterTags)
	took("tags")

	r.Step(8, "Sending the CloudFormation Delete")
	del, err := s.CustomResourceEvent(cfn.RequestDelete, ans.PhysicalResourceID)
	if err != nil {
		return nil, err
	}
	if res.Delete, err = SendCustomResource(ctx, enabler, h.CFN, del); err != nil {
		return nil, err
	}
	if len(res.Delete) != 1 {
		return res, fmt.Errorf("the Delete request got %d answers, want 1\n%s", len(res.Delete), enabler.Log())
	}
	da := res.Delete[0].Body
	r.Info("CloudFormation answer: %s, physical id %s, data %v", da.Status, da.PhysicalResourceID, da.Data)
	if da.Status != "SUCCESS" {
		return res, fmt.Errorf("the Delete request failed: %s\n%s", da.Reason, enabler.Log())
	}
	if res.AfterDelete, err = FlowLogs(ctx, c); err != nil {
		return nil, err
	}
	h.reportFlowLogs(r, res, res.AfterDelete)
	took("delete")
	return res, nil
}

// reportFlowLogs tells, VPC by VPC, whose flow logs it has.
func (h *Harness) reportFlowLogs(r Reporter, res *StoryResult, fls []FlowLog) {
	by := ByResource(fls)
	for _, name := range []string{"prod", "staging", "payments", "analytics", "dev", "sandbox"} {
		v, ok := res.VPCs[name]
		if !ok {
			continue
		}
		var ours, theirs []string
		for _, f := range by[v.ID] {
			desc := fmt.Sprintf("%s %s to %s", f.ID, f.TrafficType, f.LogGroup)
			if f.Owner == h.Stack.Names.StackID {
				ours = append(ours, desc)
			} else {
				theirs = append(theirs, desc)
			}
		}
		line := fmt.Sprintf("%-9s %s", name, v.ID)
		switch {
		case len(ours) > 0:
			line += "  ours: " + ours[0]
		default:
			line += "  ours: none"
		}
		if len(theirs) > 0 {
			line += fmt.Sprintf("  (also someone else's: %s)", theirs[0])
		}
		r.Info("%s", line)
	}
}

// envLookup is a getenv over a function's resolved template environment.
func envLookup(n *Names, fn *Resource) func(string) string {
	env, err := n.ResolveEnv(fn)
	m := map[string]string{}
	if err == nil {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}
