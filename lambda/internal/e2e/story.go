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
	// Alarms, when set, plays CloudWatch's alarms (storyalarms.go) and
	// records their states after the Create and after the digest.
	Alarms bool
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

	// Create is every answer the Create request got.
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

	// Alarms are the alarms' states, with StoryOptions.Alarms.
	Alarms []AlarmSnapshot

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
// CloudFormation Delete. It stops at the first thing that does not work
// and returns, with the error, what it observed until then.
func (h *Harness) Story(ctx context.Context, r Reporter, o StoryOptions) (*StoryResult, error) {
	if o.Records <= 0 {
		o.Records = 5000
	}
	st := &story{h: h, r: r, o: o, clock: time.Now(),
		res: &StoryResult{VPCs: map[string]VPC{}, Took: map[string]time.Duration{}}}
	defer st.close()
	if err := st.readTagKey(); err != nil {
		return st.res, err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"vpcs", st.createVPCs},
		{"create", st.create},
		{"deliver", st.deliver},
		{"summarize", st.summarize},
		{"tags", st.changeTags},
		{"delete", st.delete},
	}
	if o.Alarms {
		steps = withAlarmSteps(st, steps)
	}
	for _, step := range steps {
		if err := step.run(ctx); err != nil {
			return st.res, err
		}
		st.took(step.name)
	}
	return st.res, nil
}

// story is one run of Harness.Story: the functions it started and what it
// observed so far.
type story struct {
	h          *Harness
	r          Reporter
	o          StoryOptions
	res        *StoryResult
	clock      time.Time // when the current step started
	enabler    *Function
	summarizer *Function
	// createID is the physical id the Create answered, for the Delete.
	createID string
	// play plays CloudWatch's alarms, with StoryOptions.Alarms.
	play *AlarmPlay
}

func (st *story) took(what string) {
	st.res.Took[what] = time.Since(st.clock)
	st.clock = time.Now()
}

func (st *story) close() {
	for _, fn := range []*Function{st.summarizer, st.enabler} {
		if fn != nil {
			fn.Close()
		}
	}
}

// readTagKey reads the tag key from the enabler's environment in the
// template.
func (st *story) readTagKey() error {
	s := st.h.Stack
	env, err := settings.EnablerFromEnv(envLookup(s.Names, s.Enabler))
	if err != nil {
		return fmt.Errorf("the template's enabler environment: %w", err)
	}
	st.res.TagKey = env.TagKey
	return nil
}

// createVPCs is step 3: VPCs, some tagged, and flow logs someone else made.
func (st *story) createVPCs(ctx context.Context) error {
	s, c, res, key := st.h.Stack, st.h.Clients, st.res, st.res.TagKey
	st.r.Step(3, "Creating VPCs, some tagged, each with network interfaces")
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
		return err
	}
	for _, v := range vpcs {
		res.VPCs[v.Name] = v
		st.r.Info("%-9s %s  tags %v  %d interfaces", v.Name, v.ID, v.Tags, len(v.ENIs))
	}
	// Flow logs someone else made: one to another group (the enabler adds
	// its own next to it), one to this stack's group (it covers the VPC).
	if _, err := c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(ForeignGroup)}); err != nil {
		return fmt.Errorf("creating %s: %w", ForeignGroup, err)
	}
	if _, err := CreateForeignFlowLog(ctx, c, res.VPCs["payments"].ID, ForeignGroup, s.DeliveryRoleARN, "REJECT"); err != nil {
		return err
	}
	if _, err := CreateForeignFlowLog(ctx, c, res.VPCs["analytics"].ID, s.FlowLogGroup, s.DeliveryRoleARN, "ALL"); err != nil {
		return err
	}
	st.r.Info("someone else's flow logs: payments (REJECT to %s), analytics (ALL to %s)", ForeignGroup, s.FlowLogGroup)
	return nil
}

// create is step 4: the enabler's bootstrap answers CloudFormation's
// Create request.
func (st *story) create(ctx context.Context) error {
	h, s, res := st.h, st.h.Stack, st.res
	st.r.Step(4, "Running the enabler's bootstrap under the Lambda emulator with a CloudFormation Create request")
	var err error
	if st.enabler, err = h.StartEnabler(h.Proxy.URL); err != nil {
		return err
	}
	st.watch(st.enabler)
	req, err := s.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		return err
	}
	st.r.Info("request %s: Create %s (%s) with the template's properties", req.RequestID, s.Reconcile.LogicalID, s.Reconcile.Type)
	if res.Create, err = SendCustomResource(ctx, st.enabler, h.CFN, req); err != nil {
		return err
	}
	if len(res.Create) != 1 {
		return fmt.Errorf("the Create request got %d answers, want 1\n%s", len(res.Create), st.enabler.Log())
	}
	ans := res.Create[0].Body
	st.r.Info("CloudFormation answer: %s, physical id %s, data %v (%d bytes)", ans.Status, ans.PhysicalResourceID, ans.Data, len(res.Create[0].Raw))
	if ans.Status != "SUCCESS" {
		return fmt.Errorf("the Create request failed: %s\n%s", ans.Reason, st.enabler.Log())
	}
	st.createID = ans.PhysicalResourceID
	if res.AfterCreate, err = FlowLogs(ctx, h.Clients); err != nil {
		return err
	}
	h.reportFlowLogs(st.r, res, res.AfterCreate)
	return nil
}

// deliver is step 5: generated records into one stream per interface of
// the tagged VPCs, as the delivery service writes them.
func (st *story) deliver(ctx context.Context) error {
	s, res := st.h.Stack, st.res
	st.r.Step(5, "Playing the delivery service: generated records into one eni-...-all stream per interface")
	var enis []ENI
	for _, name := range []string{"prod", "staging", "payments", "analytics"} {
		enis = append(enis, res.VPCs[name].ENIs...)
	}
	// The records fill the past hour, as a real hour's would, and the
	// streams are dated when the service would have created them: the
	// digest's first window (the settle lag is 0 here: nothing is late
	// locally) finds both without waiting for the clock.
	start, span := PastHour(time.Now())
	var err error
	res.Delivery, err = st.h.Deliver(ctx, Traffic{
		Seed: st.o.Seed, Records: st.o.Records, ENIs: enis, Start: start, Span: span,
		Options: flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples},
	})
	if err != nil {
		return err
	}
	d := res.Delivery
	st.r.Info("%d records (%d KB) into %d streams of %s, timestamps %s to %s UTC",
		d.Events, d.Bytes/1024, len(d.Streams), s.FlowLogGroup, d.First.Format("15:04:05"), d.Last.Format("15:04:05"))
	st.r.Info("each stream dated when the service would have created it, as its interface's first capture window closed (moto dates it now; the proxy in front of the functions reports the delivery time)")
	st.r.Info("the generator's own tally: %d records, %d accepted, %d rejected, %d bytes, %d NODATA, %d SKIPDATA",
		d.Expected.Totals.Records, d.Expected.Totals.Accepted, d.Expected.Totals.Rejected, d.Expected.Totals.Bytes,
		d.Expected.NoData.Records, d.Expected.SkipData.Records)
	return nil
}

// summarize is step 6: the summarizer's bootstrap digests the delivery,
// and the digest must equal the generator's tally.
func (st *story) summarize(ctx context.Context) error {
	h, s := st.h, st.h.Stack
	st.r.Step(6, "Running the summarizer's bootstrap the same way")
	var err error
	if st.summarizer, err = h.StartSummarizer(h.Proxy.URL, settings.EnvSettleLag+"=0s"); err != nil {
		return err
	}
	st.watch(st.summarizer)
	st.r.Info("settle lag set to 0 (no late delivery here)")
	st.clock = time.Now()
	if err := st.summarizer.InvokeInto(ctx, s.SummaryEvent(), &st.res.Summarize); err != nil {
		return fmt.Errorf("%w\n%s", err, st.summarizer.Log())
	}
	if err := st.readDigest(ctx); err != nil {
		return err
	}
	return st.checkDigest()
}

// readDigest reads the one digest the run wrote and keeps a copy of its
// JSON in the work directory.
func (st *story) readDigest(ctx context.Context) error {
	s, res := st.h.Stack, st.res
	digests, err := ReadDigests(ctx, st.h.Clients, s.DigestLogGroup)
	if err != nil {
		return err
	}
	if len(digests) != 1 {
		return fmt.Errorf("%d digests in %s, want 1\n%s", len(digests), s.DigestLogGroup, st.summarizer.Log())
	}
	res.Digest = digests[0]
	res.DigestFile = filepath.Join(st.h.WorkDir, "digest.json")
	return os.WriteFile(res.DigestFile, res.Digest.JSON, 0o644)
}

// checkDigest compares the digest with the generator's tally and shows it
// as text.
func (st *story) checkDigest() error {
	s, res := st.h.Stack, st.res
	sr, dg := res.Summarize, res.Digest.Digest
	st.r.Info("the summarizer answered: window %s to %s UTC, %d records, %d new interfaces, a %d-byte digest, %d FilterLogEvents calls",
		sr.From.Format("15:04"), sr.To.Format("15:04"), sr.Records, sr.NewInterfaces, sr.DigestBytes, sr.FilterCalls)
	if res.Diffs = DiffDigest(dg, res.Delivery.Expected); len(res.Diffs) > 0 {
		return fmt.Errorf("the digest differs from what was delivered:\n  %s", strings.Join(res.Diffs, "\n  "))
	}
	st.r.Info("the digest's totals, protocols, top lists and per-interface counts equal the generator's own tally exactly")
	st.r.Info("the digest is one JSON event in log group %s, stream %s (copy: %s); as text:", s.DigestLogGroup, digest.DigestStreamName, res.DigestFile)
	st.r.Info("")
	for _, line := range strings.Split(strings.TrimRight(dg.Text(), "\n"), "\n") {
		st.r.Info("  | %s", line)
	}
	return nil
}

// changeTags is step 7: tagging dev and untagging staging, each followed
// by the aws.tag event EventBridge would deliver.
func (st *story) changeTags(ctx context.Context) error {
	c, res, key := st.h.Clients, st.res, st.res.TagKey
	st.r.Step(7, "Tagging one more VPC and untagging another, each followed by its aws.tag event")
	dev, staging := res.VPCs["dev"], res.VPCs["staging"]
	if err := TagVPC(ctx, c, dev.ID, map[string]string{key: tagOn}); err != nil {
		return err
	}
	if err := st.sendTagEvent(ctx, dev.ID, "the tag event", &res.Tagged); err != nil {
		return err
	}
	st.r.Info("tagged dev %s=%s: created %d, covered %d, failed %d", key, tagOn, res.Tagged.Created, res.Tagged.Covered, res.Tagged.Failed)
	if err := UntagVPC(ctx, c, staging.ID, key); err != nil {
		return err
	}
	if err := st.sendTagEvent(ctx, staging.ID, "the untag event", &res.Untagged); err != nil {
		return err
	}
	st.r.Info("untagged staging: removed %d, failed %d", res.Untagged.Removed, res.Untagged.Failed)
	var err error
	if res.AfterTags, err = FlowLogs(ctx, c); err != nil {
		return err
	}
	st.h.reportFlowLogs(st.r, res, res.AfterTags)
	return nil
}

// sendTagEvent gives the enabler the tag-change event of vpcID with the
// VPC's tags as they are now.
func (st *story) sendTagEvent(ctx context.Context, vpcID, what string, out *reconcile.Result) error {
	tags, err := VPCTags(ctx, st.h.Clients, vpcID)
	if err != nil {
		return err
	}
	if err := st.enabler.InvokeInto(ctx, st.h.Stack.TagChangeEvent(vpcID, tags, st.res.TagKey), out); err != nil {
		return fmt.Errorf("%s: %w\n%s", what, err, st.enabler.Log())
	}
	return nil
}

// delete is step 8: CloudFormation's Delete request removes the stack's
// flow logs.
func (st *story) delete(ctx context.Context) error {
	h, res := st.h, st.res
	st.r.Step(8, "Sending the CloudFormation Delete")
	req, err := h.Stack.CustomResourceEvent(cfn.RequestDelete, st.createID)
	if err != nil {
		return err
	}
	if res.Delete, err = SendCustomResource(ctx, st.enabler, h.CFN, req); err != nil {
		return err
	}
	if len(res.Delete) != 1 {
		return fmt.Errorf("the Delete request got %d answers, want 1\n%s", len(res.Delete), st.enabler.Log())
	}
	da := res.Delete[0].Body
	st.r.Info("CloudFormation answer: %s, physical id %s, data %v", da.Status, da.PhysicalResourceID, da.Data)
	if da.Status != "SUCCESS" {
		return fmt.Errorf("the Delete request failed: %s\n%s", da.Reason, st.enabler.Log())
	}
	if res.AfterDelete, err = FlowLogs(ctx, h.Clients); err != nil {
		return err
	}
	h.reportFlowLogs(st.r, res, res.AfterDelete)
	return nil
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
