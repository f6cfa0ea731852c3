package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// FaultBench runs the functions through one motoproxy in front of moto:
// its Faults hook fails a seeded share of the functions' calls, and what
// goes on is paginated as AWS does it. The harness's own calls go to moto
// directly. The functions' processes are kept across runs.
type FaultBench struct {
	h      *Harness
	Proxy  *motoproxy.Proxy
	Faults *motoproxy.Faults
	// Enabler is the enabler; Summarizers run the summarizer with the
	// settle lags of SummaryStages, one process each.
	Enabler     *Function
	Summarizers []*Function
}

// SummaryStages are the settle lags of consecutive summarizer runs. With
// a schedule period of StagePeriod, run k covers
// [now-lag[k-1], now-lag[k]): three consecutive hourly windows, compressed
// into seconds. Lowering the lag from run to run stands in for the clock
// moving on, which the emulated functions cannot be made to see.
var SummaryStages = []time.Duration{40 * time.Minute, 20 * time.Minute, 0}

// StagePeriod is the schedule period (the first window's length) of the
// staged summarizer runs.
const StagePeriod = 20 * time.Minute

// NewFaultBench starts the proxy and the functions. The fault rate is 0
// until a run sets it.
func (h *Harness) NewFaultBench() (b *FaultBench, err error) {
	b = &FaultBench{h: h}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.Faults, err = motoproxy.NewFaults(motoproxy.FaultConfig{}); err != nil {
		return nil, err
	}
	if b.Proxy, err = motoproxy.New(h.Moto.URL); err != nil {
		return nil, err
	}
	b.Proxy.AddHook(b.Faults.Hook)
	if b.Enabler, err = h.StartEnabler(b.Proxy.URL); err != nil {
		return nil, err
	}
	for _, lag := range SummaryStages {
		fn, err := h.StartSummarizer(b.Proxy.URL,
			settings.EnvSettleLag+"="+lag.String(), settings.EnvSchedulePeriod+"="+StagePeriod.String())
		if err != nil {
			return nil, err
		}
		b.Summarizers = append(b.Summarizers, fn)
	}
	return b, nil
}

// Close stops the functions and the proxy.
func (b *FaultBench) Close() {
	b.Enabler.Close()
	for _, s := range b.Summarizers {
		s.Close()
	}
	if b.Proxy != nil {
		b.Proxy.Close()
	}
}

// FaultRun is what one seeded run saw.
type FaultRun struct {
	Seed uint64
	// Answers counts the answers each CloudFormation request got, and
	// Statuses holds them ("Create", "Delete").
	Answers  map[string]int
	Statuses map[string][]string
	// Sweeps counts the scheduled sweeps needed after the Create and after
	// the tag event before every tagged VPC had exactly one of our flow
	// logs (0: converged at once).
	Sweeps int
	// MaxOwnedPerVPC is the most flow logs of ours one VPC had at any
	// check: 1 means never a duplicate.
	MaxOwnedPerVPC int
	// SummarizerRuns counts the summarizer invocations and FailedRuns the
	// ones that returned an error (and were redone by the next).
	SummarizerRuns, FailedRuns int
	// Windows counts the distinct digest windows, RepeatedDigests the
	// digest events that repeated one.
	Windows, RepeatedDigests int
	Records                  int
	// Problems lists every broken promise; none means the run passed.
	Problems []string
	Stats    motoproxy.FaultStats
	Took     time.Duration
}

func (r *FaultRun) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// faultRun is one run in progress: the bench, what the run created, and
// what it saw so far.
type faultRun struct {
	*FaultBench
	run *FaultRun
	// key is the tag key the enabler watches; vpcs the run's VPCs, the
	// third of which carries foreign, someone else's flow log; tagged
	// holds the VPCs that should have one of ours.
	key     string
	vpcs    []VPC
	foreign string
	tagged  map[string]bool
}

// RunFaults runs the product's whole life once with rate of the
// functions' calls faulted: VPCs, a CloudFormation Create, a tag event,
// delivery, consecutive digests and a CloudFormation Delete. It reports
// what it saw; Problems lists what went wrong.
func (b *FaultBench) RunFaults(ctx context.Context, seed uint64, rate float64, records int) (*FaultRun, error) {
	started := time.Now()
	r := &faultRun{FaultBench: b, run: &FaultRun{Seed: seed, Answers: map[string]int{}, Statuses: map[string][]string{}, Records: records}}
	if err := r.setUp(ctx); err != nil {
		return nil, err
	}
	b.Faults.Reseed(seed)
	b.Faults.ResetStats()
	b.Faults.SetRate(rate)
	defer b.Faults.SetRate(0)

	physicalID, err := r.customResource(ctx, cfn.RequestCreate, "")
	if err != nil {
		return nil, err
	}
	if err := r.converge(ctx); err != nil {
		return nil, err
	}
	if err := r.tagFourthVPC(ctx); err != nil {
		return nil, err
	}
	if err := r.converge(ctx); err != nil {
		return nil, err
	}
	if err := r.digestDelivery(ctx, seed, records); err != nil {
		return nil, err
	}
	if _, err := r.customResource(ctx, cfn.RequestDelete, physicalID); err != nil {
		return nil, err
	}
	if err := r.checkDeleted(ctx); err != nil {
		return nil, err
	}
	r.run.Stats = b.Faults.Stats()
	r.run.Took = time.Since(started)
	return r.run, nil
}

// setUp gives the run, with no faults, a fresh account: four VPCs, three
// of them tagged, and someone else's flow log on the third.
func (r *faultRun) setUp(ctx context.Context) error {
	h, s, c := r.h, r.h.Stack, r.h.Clients
	r.Faults.SetRate(0)
	if err := h.Reset(ctx); err != nil {
		return err
	}
	r.key = envLookup(s.Names, s.Enabler)(settings.EnvTagKey)
	vpcs, err := CreateVPCs(ctx, c, []VPCSpec{
		{Name: "a", Tags: map[string]string{r.key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
		{Name: "b", Tags: map[string]string{r.key: tagOn}, Subnets: 1, ENIsPerSubnet: 1},
		{Name: "c", Tags: map[string]string{r.key: tagOn}, Subnets: 1, ENIsPerSubnet: 1},
		{Name: "d", Subnets: 1, ENIsPerSubnet: 1},
	})
	if err != nil {
		return err
	}
	r.vpcs = vpcs
	r.tagged = map[string]bool{vpcs[0].ID: true, vpcs[1].ID: true, vpcs[2].ID: true}
	if _, err := c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(ForeignGroup)}); err != nil {
		return err
	}
	r.foreign, err = CreateForeignFlowLog(ctx, c, vpcs[2].ID, ForeignGroup, s.DeliveryRoleARN, "REJECT")
	return err
}

// customResource sends CloudFormation's request of type rt to the enabler
// and checks that it got exactly one answer, a SUCCESS. It returns the
// answer's physical id.
func (r *faultRun) customResource(ctx context.Context, rt cfn.RequestType, physicalID string) (string, error) {
	ev, err := r.h.Stack.CustomResourceEvent(rt, physicalID)
	if err != nil {
		return "", err
	}
	answers, err := SendCustomResource(ctx, r.Enabler, r.h.CFN, ev)
	if err != nil {
		return "", err
	}
	r.run.Answers[string(rt)] = len(answers)
	for _, a := range answers {
		r.run.Statuses[string(rt)] = append(r.run.Statuses[string(rt)], string(a.Body.Status))
	}
	if len(answers) != 1 {
		r.run.problem("%s got %d answers", rt, len(answers))
		return "", nil
	}
	if a := answers[0].Body; a.Status != "SUCCESS" {
		r.run.problem("%s answered %s: %s", rt, a.Status, a.Reason)
	}
	return answers[0].Body.PhysicalResourceID, nil
}

// converge checks that exactly the tagged VPCs have one flow log of ours,
// sending scheduled sweeps until they do, five at most.
func (r *faultRun) converge(ctx context.Context) error {
	for sweep := 0; ; sweep++ {
		owned, err := r.ownedFlowLogs(ctx)
		if err != nil {
			return err
		}
		done := true
		for _, v := range r.vpcs {
			n := len(owned[v.ID])
			r.run.MaxOwnedPerVPC = max(r.run.MaxOwnedPerVPC, n)
			if (r.tagged[v.ID] && n != 1) || (!r.tagged[v.ID] && n != 0) {
				done = false
			}
		}
		if done {
			return nil
		}
		if sweep == 5 {
			r.run.problem("not converged after %d sweeps: %v", sweep, owned)
			return nil
		}
		r.run.Sweeps++
		if err := r.invokeEnabler(ctx, r.h.Stack.SweepEvent()); err != nil {
			return err
		}
	}
}

func (r *faultRun) ownedFlowLogs(ctx context.Context) (map[string][]FlowLog, error) {
	fls, err := FlowLogs(ctx, r.h.Clients)
	if err != nil {
		return nil, err
	}
	return OwnedBy(fls, r.h.Stack.Names.StackID), nil
}

// invokeEnabler sends the enabler an event. A failed invocation is no
// error of the bench: the convergence check after it judges the outcome.
func (r *faultRun) invokeEnabler(ctx context.Context, event any) error {
	_, err := r.Enabler.Invoke(ctx, event)
	var fe *FunctionError
	if err != nil && !errors.As(err, &fe) {
		return err
	}
	return nil
}

// tagFourthVPC tags the untagged VPC and sends the enabler the tag event
// EventBridge would.
func (r *faultRun) tagFourthVPC(ctx context.Context) error {
	c, vpc := r.h.Clients, r.vpcs[3].ID
	if err := TagVPC(ctx, c, vpc, map[string]string{r.key: tagOn}); err != nil {
		return err
	}
	tags, err := VPCTags(ctx, c, vpc)
	if err != nil {
		return err
	}
	if err := r.invokeEnabler(ctx, r.h.Stack.TagChangeEvent(vpc, tags, r.key)); err != nil {
		return err
	}
	r.tagged[vpc] = true
	return nil
}

// digestDelivery delivers records into the interfaces' streams (AWS's
// side: no faults), runs the staged summarizers and checks that the
// digests add up exactly to what was delivered.
func (r *faultRun) digestDelivery(ctx context.Context, seed uint64, records int) error {
	var enis []ENI
	for _, v := range r.vpcs {
		enis = append(enis, v.ENIs...)
	}
	end := time.Now().Truncate(time.Minute)
	del, err := Deliver(ctx, r.h.Clients, r.h.Stack.FlowLogGroup, Traffic{
		Seed: int64(seed), Records: records, ENIs: enis,
		Start: end.Add(-58 * time.Minute), Span: 56 * time.Minute,
		Options: flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples},
	})
	if err != nil {
		return err
	}
	for stage, fn := range r.Summarizers {
		if err := r.summarize(ctx, stage, fn); err != nil {
			return err
		}
	}
	stored, err := ReadDigests(ctx, r.h.Clients, r.h.Stack.DigestLogGroup)
	if err != nil {
		return err
	}
	windows, repeats, err := Chain(stored)
	if err != nil {
		r.run.problem("digests: %v", err)
	}
	r.run.Windows, r.run.RepeatedDigests = len(windows), repeats
	for _, d := range SumDigestsDiff(windows, del.Expected) {
		r.run.problem("%s", d)
	}
	return nil
}

// summarize runs one stage's summarizer until an invocation succeeds, as
// the next scheduled run redoes a failed one, six times at most.
func (r *faultRun) summarize(ctx context.Context, stage int, fn *Function) error {
	for attempt := 1; ; attempt++ {
		r.run.SummarizerRuns++
		_, err := fn.Invoke(ctx, r.h.Stack.SummaryEvent())
		if err == nil {
			return nil
		}
		var fe *FunctionError
		if !errors.As(err, &fe) {
			return err
		}
		r.run.FailedRuns++
		if attempt == 6 {
			r.run.problem("summarizer stage %d failed %d times, last: %v", stage+1, attempt, err)
			return nil
		}
	}
}

// checkDeleted checks that the Delete removed every flow log of ours and
// kept someone else's, and that no VPC ever had two of ours.
func (r *faultRun) checkDeleted(ctx context.Context) error {
	fls, err := FlowLogs(ctx, r.h.Clients)
	if err != nil {
		return err
	}
	if owned := OwnedBy(fls, r.h.Stack.Names.StackID); len(owned) > 0 {
		r.run.problem("after Delete, flow logs of ours remain: %v", owned)
	}
	kept := false
	for _, f := range fls {
		kept = kept || f.ID == r.foreign
	}
	if !kept {
		r.run.problem("Delete removed someone else's flow log %s", r.foreign)
	}
	if r.run.MaxOwnedPerVPC > 1 {
		r.run.problem("a VPC had %d flow logs of ours", r.run.MaxOwnedPerVPC)
	}
	return nil
}

// SumDigestsDiff compares what consecutive digests add up to with what
// was delivered.
func SumDigestsDiff(windows []digest.Digest, want flowrecord.Summary) []string {
	if len(windows) == 0 {
		return []string{"no digest"}
	}
	return DiffSum(SumDigests(windows), ExpectedSum(want))
}

// String summarises a run in one line.
func (r *FaultRun) String() string {
	var faults []string
	for _, k := range motoproxy.FaultKinds {
		faults = append(faults, fmt.Sprintf("%s %d", k, r.Stats.Faults[k]))
	}
	return fmt.Sprintf("seed %d: %d requests, %d faults (%s), %d retries, max attempt %d; answers %v; %d sweeps; %d summarizer runs (%d failed), %d windows, %d repeated digests; %s; problems: %d",
		r.Seed, r.Stats.Requests, r.Stats.TotalFaults(), strings.Join(faults, ", "), r.Stats.Retries, r.Stats.MaxAttempt,
		r.Statuses, r.Sweeps, r.SummarizerRuns, r.FailedRuns, r.Windows, r.RepeatedDigests, r.Took.Round(time.Millisecond), len(r.Problems))
}
