package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// OrgStoryOptions size the organization story.
type OrgStoryOptions struct {
	// Records is how many flow log records each account-region's
	// interfaces get.
	Records int
	Seed    int64
	// Workers is how many processes of each function the pumps run
	// (bounded by the event source mapping's MaximumConcurrency).
	Workers int
}

// The accounts of the story: name, OU, and whether its StackSet instance
// fails (its spoke roles stay missing).
var orgStoryAccounts = []struct {
	Name, OU string
	Broken   bool
}{
	{"prod", "workloads", false},
	{"dev", "workloads", false},
	{"legacy", "sandbox", true},
}

// LateAccount joins the organization after the first sweep.
const LateAccount = "analytics"

// AccountRegion is an account-region of the story: its VPCs, by name.
type AccountRegion struct {
	Account, Name, Region string
	VPCs                  []VPC
}

// Key is "account/region".
func (a AccountRegion) Key() string { return a.Account + "/" + a.Region }

// OrgStoryResult is what the organization story observed.
type OrgStoryResult struct {
	TagKey string
	// Accounts maps each story account's name to its id.
	Accounts map[string]string
	// Instances are the StackSet instances deployed at the start, Late
	// those deployed when LateAccount joined.
	Instances, Late []string
	// Regions holds the account-regions with VPCs, by Key.
	Regions map[string]*AccountRegion
	Create  []json.RawMessage
	// Answer is the custom resource's answer.
	Answer string
	// Sweeps are the enabler pump's figures of each sweep.
	Sweeps []PumpStats
	// FlowLogs are the hub's flow logs per account-region after each
	// sweep and after the events, by Key.
	FlowLogs []map[string][]FlowLog
	// Outsider is what the bus did with an outside account's event, and
	// OutsiderDirect what the enabler answered when given it directly.
	Outsider       BusDelivery
	OutsiderDirect string
	Delivered      map[string]Delivery
	Digest         PumpStats
	// Documents are the hub digest group's events, by stream, at the end.
	Documents map[string][]string
	// DeadLetters counts each queue's dead letters at the end.
	DeadLetters map[string]int
	Took        map[string]time.Duration
	// Alarms are the alarms' states through the story, and its denied
	// sweep and repair (orgalarms.go).
	Alarms *OrgAlarmsResult
}

// OrgStory runs the organization story after StartOrg: accounts and their
// spokes, VPCs, the custom resource, sweeps through the work queue, a
// late account, spoke events through the hub bus, delivery, and the
// digests with their roll-up.
func (oh *OrgHarness) OrgStory(ctx context.Context, r Reporter, o OrgStoryOptions) (*OrgStoryResult, error) {
	if o.Records <= 0 {
		o.Records = 600
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	st := &orgStory{oh: oh, r: r, o: o, clock: time.Now(), res: &OrgStoryResult{
		Accounts: map[string]string{}, Regions: map[string]*AccountRegion{}, Delivered: map[string]Delivery{},
		DeadLetters: map[string]int{}, Took: map[string]time.Duration{},
	}}
	defer st.close()
	st.res.TagKey = envLookup(oh.Stack.Names, oh.Stack.Enabler)(settings.EnvTagKey)
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"accounts", st.accounts}, {"vpcs", st.vpcs}, {"functions", st.functions}, {"alarms", st.startAlarms}, {"create", st.create},
		{"late", st.late}, {"alarms-sweeps", st.alarmsAfterSweeps}, {"events", st.events}, {"deliver", st.deliver}, {"digest", st.digest},
		{"alarms-digest", st.alarmsAfterDigest}, {"end", st.end}, {"poison", st.poison}, {"repair", st.repair},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return st.res, fmt.Errorf("%s: %w", s.name, err)
		}
		st.res.Took[s.name] = time.Since(st.clock)
		st.clock = time.Now()
	}
	return st.res, nil
}

type orgStory struct {
	oh    *OrgHarness
	r     Reporter
	o     OrgStoryOptions
	res   *OrgStoryResult
	clock time.Time
	// enablers and summarizers are the functions' processes, the pumps'
	// workers.
	enablers, summarizers []*Function
	step                  int
	// play plays CloudWatch's alarms (orgalarms.go).
	play *AlarmPlay
}

func (st *orgStory) title(format string, args ...any) {
	st.step++
	st.r.Step(st.step+2, fmt.Sprintf(format, args...))
}

func (st *orgStory) close() {
	for _, f := range append(st.enablers, st.summarizers...) {
		f.Close()
	}
}

// accounts creates the member accounts and plays the StackSet.
func (st *orgStory) accounts(ctx context.Context) error {
	oh, ss := st.oh, st.oh.StackSet
	st.title("Creating the member accounts and playing the StackSet (moto deploys no StackSet instance)")
	st.r.Info("StackSet %s: %s, call as %s, automatic deployment %v", ss.Resource.LogicalID, ss.PermissionMode, orDefault(ss.CallAs, "SELF"), ss.AutoDeploy)
	st.r.Info("targets %v (the organization's OUs: %s), regions %v, parameters %v", ss.Targets, ouNames(oh.Org), ss.Regions, ss.Params)
	st.r.Info("operation preferences %v", ss.Operation)
	var broken []string
	for _, a := range orgStoryAccounts {
		acct, err := oh.Org.AddAccount(ctx, a.Name, a.OU)
		if err != nil {
			return err
		}
		st.res.Accounts[a.Name] = acct.ID
		if a.Broken {
			broken = append(broken, acct.ID)
		}
	}
	var err error
	if st.res.Instances, err = oh.PlayStackSet(ctx, broken...); err != nil {
		return err
	}
	for _, a := range orgStoryAccounts {
		what := "spoke deployed in " + strings.Join(oh.Regions, " and ")
		if a.Broken {
			what = "its StackSet instance failed: no spoke roles (AssumeRole is refused as STS refuses a missing role)"
		}
		st.r.Info("%-9s %s in %s: %s", a.Name, st.res.Accounts[a.Name], a.OU, what)
	}
	return nil
}

func ouNames(o *Organization) string {
	var out []string
	for name, id := range o.OUs {
		out = append(out, name+"="+id)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// vpcs creates, in every account-region, two tagged VPCs and one
// untagged.
func (st *orgStory) vpcs(ctx context.Context) error {
	st.title("Creating VPCs in every account and region, each account with its own credentials")
	for _, a := range orgStoryAccounts {
		if err := st.vpcsIn(ctx, a.Name); err != nil {
			return err
		}
	}
	return nil
}

func (st *orgStory) vpcsIn(ctx context.Context, name string) error {
	key := st.res.TagKey
	for _, region := range st.oh.Regions {
		acct := st.res.Accounts[name]
		vpcs, err := CreateVPCs(ctx, st.oh.Org.Admin(acct, region), []VPCSpec{
			{Name: name + "-app", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
			{Name: name + "-data", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 1},
			{Name: name + "-scratch", Subnets: 1, ENIsPerSubnet: 1},
		})
		if err != nil {
			return fmt.Errorf("%s/%s: %w", acct, region, err)
		}
		ar := &AccountRegion{Account: acct, Name: name, Region: region, VPCs: vpcs}
		st.res.Regions[ar.Key()] = ar
		st.r.Info("%-9s %s/%s: %s, %s tagged %s=%s; %s untagged", name, acct, region, vpcs[0].ID, vpcs[1].ID, key, tagOn, vpcs[2].ID)
	}
	return nil
}

// functions starts the processes of both functions: the pumps' workers.
func (st *orgStory) functions(context.Context) error {
	h := st.oh.Harness
	st.title("Starting %d processes of each function under the Lambda emulator (one invocation at a time each, as one execution environment)", st.o.Workers)
	for range st.o.Workers {
		e, err := st.oh.StartEnabler(h.Proxy.URL)
		if err != nil {
			return err
		}
		st.enablers = append(st.enablers, e)
		s, err := h.StartSummarizer(h.Proxy.URL, settings.EnvSettleLag+"=0s")
		if err != nil {
			return err
		}
		st.summarizers = append(st.summarizers, s)
	}
	for _, w := range st.oh.Workarounds {
		st.r.Info("workaround, the template lacks it: %s", w)
	}
	return nil
}

func invokers(fns []*Function) []Invoker {
	out := make([]Invoker, len(fns))
	for i, f := range fns {
		out[i] = f
	}
	return out
}

// create sends the custom resource's Create: the enabler answers after
// enqueueing, and the pump then runs the sweep.
func (st *orgStory) create(ctx context.Context) error {
	h := st.oh.Harness
	st.title("CloudFormation Create: the enabler enqueues the organization's account-regions and answers")
	req, err := h.Stack.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		return err
	}
	answers, err := SendCustomResource(ctx, st.enablers[0], h.CFN, req)
	if err != nil {
		return err
	}
	if len(answers) != 1 || answers[0].Body.Status != "SUCCESS" {
		return fmt.Errorf("the Create got %d answers, want one SUCCESS: %+v\n%s", len(answers), answers, st.enablers[0].Log())
	}
	st.res.Answer = string(answers[0].Body.Status)
	st.r.Info("answer %s, data %v", answers[0].Body.Status, answers[0].Body.Data)
	return st.sweep(ctx)
}

// sweep drains the enabler's queue and records the flow logs.
func (st *orgStory) sweep(ctx context.Context) error {
	p, err := st.oh.Pump(st.oh.Stack.Enabler, invokers(st.enablers))
	if err != nil {
		return err
	}
	stats, err := p.Drain(ctx)
	if err != nil {
		return err
	}
	st.res.Sweeps = append(st.res.Sweeps, stats)
	st.r.Info("the work queue (batch %d, at most %d at once): %d invocations, %d messages, %d deleted, %d reported failed (each received again after its visibility timeout), %d at once at most",
		p.BatchSize, p.MaxConcurrency, stats.Invocations, stats.Received, stats.Deleted, stats.Failed, stats.MaxInFlight)
	return st.recordFlowLogs(ctx)
}

// recordFlowLogs lists the hub's flow logs in every account-region and
// tells them.
func (st *orgStory) recordFlowLogs(ctx context.Context) error {
	owner := st.oh.Stack.Names.StackID
	all := map[string][]FlowLog{}
	for _, key := range sortedRegions(st.res.Regions) {
		ar := st.res.Regions[key]
		fls, err := FlowLogs(ctx, st.oh.Org.Admin(ar.Account, ar.Region))
		if err != nil {
			return err
		}
		var on []string
		for _, f := range fls {
			if f.Owner == owner {
				all[key] = append(all[key], f)
				on = append(on, vpcName(ar, f.ResourceID))
			}
		}
		st.r.Info("%-9s %s: hub's flow logs on %v", ar.Name, key, on)
	}
	st.res.FlowLogs = append(st.res.FlowLogs, all)
	return nil
}

func vpcName(ar *AccountRegion, id string) string {
	for _, v := range ar.VPCs {
		if v.ID == id {
			return v.Name
		}
	}
	return id
}

func sortedRegions(m map[string]*AccountRegion) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// late adds an account after the first sweep: the StackSet's automatic
// deployment (played) gives it its spoke, and the next scheduled sweep
// covers it.
func (st *orgStory) late(ctx context.Context) error {
	oh := st.oh
	st.title("Adding the account %s to workloads: automatic deployment, then the next scheduled sweep", LateAccount)
	acct, err := oh.Org.AddAccount(ctx, LateAccount, "workloads")
	if err != nil {
		return err
	}
	st.res.Accounts[LateAccount] = acct.ID
	if st.res.Late, err = oh.PlayStackSet(ctx); err != nil {
		return err
	}
	st.r.Info("%s joined as %s; StackSet instances deployed: %v", LateAccount, acct.ID, st.res.Late)
	if err := st.vpcsIn(ctx, LateAccount); err != nil {
		return err
	}
	if _, err := st.enablers[0].Invoke(ctx, oh.Stack.SweepEvent()); err != nil {
		return fmt.Errorf("the scheduled sweep: %w\n%s", err, st.enablers[0].Log())
	}
	return st.sweep(ctx)
}

// events plays spoke events through the hub bus: a tag change in one
// account-region, and an outside account's event.
func (st *orgStory) events(ctx context.Context) error {
	oh := st.oh
	st.title("Spoke events through the hub bus: a VPC tagged in dev, an event from outside the organization")
	ar := st.res.Regions[st.res.Accounts["dev"]+"/"+oh.Regions[len(oh.Regions)-1]]
	scratch := ar.VPCs[2]
	c := oh.Org.Admin(ar.Account, ar.Region)
	if err := TagVPC(ctx, c, scratch.ID, map[string]string{st.res.TagKey: tagOn}); err != nil {
		return err
	}
	tags, err := VPCTags(ctx, c, scratch.ID)
	if err != nil {
		return err
	}
	to := BusTargets{SQS: oh.Clients.SQS, Functions: map[string]Invoker{oh.Stack.Names.Attr[oh.Stack.Enabler.LogicalID]["Arn"]: st.enablers[0]}}
	d, err := oh.Bus.Put(ctx, TagChangeEvent(ar.Region, ar.Account, scratch.ID, tags, st.res.TagKey), to)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, st.enablers[0].Log())
	}
	st.r.Info("tagged %s in %s: the bus matched %v", scratch.Name, ar.Key(), d.Rules)
	outsider := TagChangeEvent(ar.Region, "999999999999", scratch.ID, tags, st.res.TagKey)
	if st.res.Outsider, err = oh.Bus.Put(ctx, outsider, to); err != nil {
		return err
	}
	st.r.Info("an event from account 999999999999: %s", st.res.Outsider.Rejected)
	out, err := st.enablers[0].Invoke(ctx, outsider)
	st.res.OutsiderDirect = fmt.Sprintf("%s%v", out, errOrEmpty(err))
	st.r.Info("the same event given to the enabler directly (past the bus): %s", truncate(st.res.OutsiderDirect, 200))
	if err := st.drainEvents(ctx); err != nil {
		return err
	}
	return st.recordFlowLogs(ctx)
}

// drainEvents runs the enabler's queue, where an event's work may have
// gone.
func (st *orgStory) drainEvents(ctx context.Context) error {
	p, err := st.oh.Pump(st.oh.Stack.Enabler, invokers(st.enablers))
	if err != nil {
		return err
	}
	_, err = p.Drain(ctx)
	return err
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return " error: " + err.Error()
}

// deliver plays the delivery service in every reachable account-region:
// records into its flow log group, as the spoke's delivery role would
// write them.
func (st *orgStory) deliver(ctx context.Context) error {
	oh := st.oh
	st.title("Playing the delivery service: records into each spoke's flow log group")
	start, span := PastHour(time.Now())
	for i, key := range sortedRegions(st.res.Regions) {
		ar := st.res.Regions[key]
		if _, deployed := oh.Spokes[key]; !deployed {
			continue
		}
		var enis []ENI
		for _, v := range ar.VPCs[:2] {
			enis = append(enis, v.ENIs...)
		}
		d, err := Deliver(ctx, oh.Org.Admin(ar.Account, ar.Region), settings.DefaultLogGroupName, Traffic{
			Seed: st.o.Seed + int64(i), Records: st.o.Records, ENIs: enis, Start: start, Span: span,
			Options: flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples},
		})
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		oh.Streams.Date(settings.DefaultLogGroupName, d.Created)
		st.res.Delivered[key] = d
		st.r.Info("%-9s %s: %d records into %d streams (%d accepted, %d rejected, %d SKIPDATA)", ar.Name, key, d.Events, len(d.Streams),
			d.Expected.Totals.Accepted, d.Expected.Totals.Rejected, d.Expected.SkipData.Records)
	}
	return nil
}

// digest runs the summarizer's schedule: it enqueues the account-regions,
// and the pump runs them.
func (st *orgStory) digest(ctx context.Context) error {
	oh := st.oh
	st.title("The summarizer's schedule: one message per account-region, digests, and the organization roll-up")
	out, err := st.summarizers[0].Invoke(ctx, oh.Stack.SummaryEvent())
	if err != nil {
		return fmt.Errorf("the scheduled digest run: %w\n%s", err, st.summarizers[0].Log())
	}
	st.r.Info("the schedule's run answered %s", truncate(string(out), 300))
	p, err := oh.Pump(oh.Stack.Summarizer, invokers(st.summarizers))
	if err != nil {
		return err
	}
	if st.res.Digest, err = p.Drain(ctx); err != nil {
		return err
	}
	s := st.res.Digest
	st.r.Info("the work queue: %d invocations, %d messages (redeliveries included), %d deleted, %d reported failed (each received again after its visibility timeout)", s.Invocations, s.Received, s.Deleted, s.Failed)
	return nil
}

// end reads the hub's documents and the queues.
func (st *orgStory) end(ctx context.Context) error {
	oh := st.oh
	st.title("What the hub holds: the documents in %s, and the queues", oh.Stack.DigestLogGroup)
	var err error
	if st.res.Documents, err = ReadGroup(ctx, oh.Clients, oh.Stack.DigestLogGroup); err != nil {
		return err
	}
	if err := st.showCoverage(); err != nil {
		return err
	}
	if err := st.showDigests(); err != nil {
		return err
	}
	if err := st.showRollup(); err != nil {
		return err
	}
	for _, q := range oh.Stack.Template.OfType("AWS::SQS::Queue") {
		url := oh.Stack.Names.Attr[q.LogicalID]["QueueUrl"]
		if st.res.DeadLetters[q.Path()], err = QueueDepth(ctx, oh.Clients.SQS, url); err != nil {
			return err
		}
	}
	st.r.Info("messages left per queue: %v", st.res.DeadLetters)
	return nil
}

// showCoverage tells the last coverage document, one line per
// account-region.
func (st *orgStory) showCoverage() error {
	docs := st.res.Documents[reconcile.CoverageStream]
	if len(docs) == 0 {
		return fmt.Errorf("no coverage document in stream %s", reconcile.CoverageStream)
	}
	var d reconcile.CoverageDocument
	if err := json.Unmarshal([]byte(docs[len(docs)-1]), &d); err != nil {
		return fmt.Errorf("decoding the coverage document: %w", err)
	}
	t := d.Totals
	st.r.Info("the coverage document of sweep %s (stream %s, %d documents, part %d of %d): %d account-regions, %d reachable, %d unreachable %v; VPCs: %d covered by us, %d by others, %d uncovered, %d out of scope",
		d.SweepID, reconcile.CoverageStream, len(docs), d.Part, d.Parts, t.AccountRegions, t.Reachable, t.Unreachable, t.ByClass,
		t.VPCs.CoveredByUs, t.VPCs.CoveredByOthers, t.VPCs.Uncovered, t.VPCs.OutOfScope)
	for _, raw := range d.AccountRegions {
		var e reconcile.AccountRegionCoverage
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("decoding the coverage document: %w", err)
		}
		line := fmt.Sprintf("covered by us %v, out of scope %d", e.CoveredByUs, e.Counts.OutOfScope)
		if !e.Reachable {
			line = fmt.Sprintf("UNREACHABLE (%s, %s): %s", e.Class, e.Code, truncate(e.Reason, 160))
		}
		st.r.Info("  %-9s %s/%s: %s", e.AccountName, e.Account, e.Region, line)
	}
	return nil
}

// showDigests tells each account-region's digest, and whether it counts
// exactly what was delivered there.
func (st *orgStory) showDigests() error {
	for _, key := range sortedRegions(st.res.Regions) {
		docs := st.res.Documents[key]
		if len(docs) == 0 {
			continue
		}
		var d digest.Digest
		if err := json.Unmarshal([]byte(docs[len(docs)-1]), &d); err != nil {
			return fmt.Errorf("decoding the digest of %s: %w", key, err)
		}
		want := st.res.Delivered[key].Expected.Totals
		same := "equal to what was delivered"
		if d.Totals.Records != want.Records || d.Totals.Accepted != want.Accepted || d.Totals.Rejected != want.Rejected {
			same = fmt.Sprintf("DIFFERENT from what was delivered (%d records, %d accepted, %d rejected)", want.Records, want.Accepted, want.Rejected)
		}
		st.r.Info("digest %-9s %s (stream %s): %d records, %d accepted, %d rejected, %d new interfaces: %s",
			st.res.Regions[key].Name, key, key, d.Totals.Records, d.Totals.Accepted, d.Totals.Rejected, d.NewInterfaces.Count, same)
	}
	return nil
}

// showRollup prints the organization roll-up as its text.
func (st *orgStory) showRollup() error {
	docs := st.res.Documents[digest.RollupStreamName]
	if len(docs) == 0 {
		return fmt.Errorf("no roll-up in stream %s", digest.RollupStreamName)
	}
	var r digest.Rollup
	if err := json.Unmarshal([]byte(docs[len(docs)-1]), &r); err != nil {
		return fmt.Errorf("decoding the roll-up: %w", err)
	}
	st.r.Info("the organization roll-up (stream %s), as text:", digest.RollupStreamName)
	for _, line := range strings.Split(strings.TrimRight(r.Text(), "\n"), "\n") {
		st.r.Info("  | %s", line)
	}
	return nil
}
