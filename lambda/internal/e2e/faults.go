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
	"github.com/vpcflowlogs/flowlogs/lambda/internal/faultproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// FaultBench runs the functions through a fault proxy: each function
// calls faultproxy, which forwards to motoproxy (EC2 pagination as AWS
// does it), which forwards to moto. The harness's own calls go to moto
// directly. The functions' processes are kept across runs.
type FaultBench struct {
	h      *Harness
	Paging *motoproxy.Proxy
	Faults *faultproxy.Proxy
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

// NewFaultBench starts the proxies and the functions. The fault rate is 0
// until a run sets it.
func (h *Harness) NewFaultBench() (b *FaultBench, err error) {
	b = &FaultBench{h: h}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.Paging, err = motoproxy.New(h.Moto.URL); err != nil {
		return nil, err
	}
	if b.Faults, err = faultproxy.Start(faultproxy.Config{Target: b.Paging.URL}); err != nil {
		return nil, err
	}
	if b.Enabler, err = h.StartEnabler(b.Faults.URL); err != nil {
		return nil, err
	}
	for _, lag := range SummaryStages {
		fn, err := h.StartSummarizer(b.Faults.URL,
			settings.EnvSettleLag+"="+lag.String(), settings.EnvSchedulePeriod+"="+StagePeriod.String())
		if err != nil {
			return nil, err
		}
		b.Summarizers = append(b.Summarizers, fn)
	}
	return b, nil
}

// Close stops the functions and the proxies.
func (b *FaultBench) Close() {
	b.Enabler.Close()
	for _, s := range b.Summarizers {
		s.Close()
	}
	if b.Faults != nil {
		b.Faults.Close()
	}
	if b.Paging != nil {
		b.Paging.Close()
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
	Stats    faultproxy.Stats
	Took     time.Duration
}

// RunFaults runs the product's whole life once with rate of the
// functions' calls faulted: VPCs, a CloudFormation Create, a tag event,
// delivery, consecutive digests and a CloudFormation Delete. It reports
// what it saw; Problems lists what went wrong.
func (b *FaultBench) RunFaults(ctx context.Context, seed uint64, rate float64, records int) (*FaultRun, error) {
	started := time.Now()
	h, s, c := b.h, b.h.Stack, b.h.Clients
	run := &FaultRun{Seed: seed, Answers: map[string]int{}, Statuses: map[string][]string{}, Records: records}
	problem := func(format string, args ...any) { run.Problems = append(run.Problems, fmt.Sprintf(format, args...)) }

	b.Faults.SetRate(0)
	if err := h.Reset(ctx); err != nil {
		return nil, err
	}
	key := envLookup(s.Names, s.Enabler)(settings.EnvTagKey)
	vpcs, err := CreateVPCs(ctx, c, []VPCSpec{
		{Name: "a", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
		{Name: "b", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 1},
		{Name: "c", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 1},
		{Name: "d", Subnets: 1, ENIsPerSubnet: 1},
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(ForeignGroup)}); err != nil {
		return nil, err
	}
	foreign, err := CreateForeignFlowLog(ctx, c, vpcs[2].ID, ForeignGroup, s.DeliveryRoleARN, "REJECT")
	if err != nil {
		return nil, err
	}
	b.Faults.Reseed(seed)
	b.Faults.ResetStats()
	b.Faults.SetRate(rate)
	defer b.Faults.SetRate(0)

	// converge checks that exactly the tagged VPCs have one flow log of
	// ours, sending sweeps until they do.
	converge := func(tagged map[string]bool) error {
		for sweep := 0; ; sweep++ {
			fls, err := FlowLogs(ctx, c)
			if err != nil {
				return err
			}
			owned := OwnedBy(fls, s.Names.StackID)
			done := true
			for _, v := range vpcs {
				n := len(owned[v.ID])
				run.MaxOwnedPerVPC = max(run.MaxOwnedPerVPC, n)
				if (tagged[v.ID] && n != 1) || (!tagged[v.ID] && n != 0) {
					done = false
				}
			}
			if done {
				return nil
			}
			if sweep == 5 {
				problem("not converged after %d sweeps: %v", sweep, owned)
				return nil
			}
			run.Sweeps++
			if _, err := b.Enabler.Invoke(ctx, s.SweepEvent()); err != nil {
				var fe *FunctionError
				if !errors.As(err, &fe) {
					return err
				}
			}
		}
	}
	cfnRequest := func(rt cfn.RequestType, physicalID string) (string, error) {
		ev, err := s.CustomResourceEvent(rt, physicalID)
		if err != nil {
			return "", err
		}
		answers, err := SendCustomResource(ctx, b.Enabler, h.CFN, ev)
		if err != nil {
			return "", err
		}
		run.Answers[string(rt)] = len(answers)
		for _, a := range answers {
			run.Statuses[string(rt)] = append(run.Statuses[string(rt)], string(a.Body.Status))
		}
		if len(answers) != 1 {
			problem("%s got %d answers", rt, len(answers))
			return "", nil
		}
		if a := answers[0].Body; a.Status != "SUCCESS" {
			problem("%s answered %s: %s", rt, a.Status, a.Reason)
		}
		return answers[0].Body.PhysicalResourceID, nil
	}

	physicalID, err := cfnRequest(cfn.RequestCreate, "")
	if err != nil {
		return nil, err
	}
	tagged := map[string]bool{vpcs[0].ID: true, vpcs[1].ID: true, vpcs[2].ID: true}
	if err := converge(tagged); err != nil {
		return nil, err
	}
	if err := TagVPC(ctx, c, vpcs[3].ID, map[string]string{key: tagOn}); err != nil {
		return nil, err
	}
	tags, err := VPCTags(ctx, c, vpcs[3].ID)
	if err != nil {
		return nil, err
	}
	if _, err := b.Enabler.Invoke(ctx, s.TagChangeEvent(vpcs[3].ID, tags, key)); err != nil {
		var fe *FunctionError
		if !errors.As(err, &fe) {
			return nil, err
		}
	}
	tagged[vpcs[3].ID] = true
	if err := converge(tagged); err != nil {
		return nil, err
	}

	// Delivery is AWS's side: no faults.
	var enis []ENI
	for _, v := range vpcs {
		enis = append(enis, v.ENIs...)
	}
	end := time.Now().Truncate(time.Minute)
	del, err := Deliver(ctx, c, s.FlowLogGroup, Traffic{
		Seed: int64(seed), Records: records, ENIs: enis,
		Start: end.Add(-58 * time.Minute), Span: 56 * time.Minute,
		Options: flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples},
	})
	if err != nil {
		return nil, err
	}
	for stage, fn := range b.Summarizers {
		for attempt := 1; ; attempt++ {
			run.SummarizerRuns++
			_, err := fn.Invoke(ctx, s.SummaryEvent())
			if err == nil {
				break
			}
			var fe *FunctionError
			if !errors.As(err, &fe) {
				return nil, err
			}
			run.FailedRuns++
			if attempt == 6 {
				problem("summarizer stage %d failed %d times, last: %v", stage+1, attempt, err)
				break
			}
		}
	}
	stored, err := ReadDigests(ctx, c, s.DigestLogGroup)
	if err != nil {
		return nil, err
	}
	windows, repeats, err := Chain(stored)
	if err != nil {
		problem("digests: %v", err)
	}
	run.Windows, run.RepeatedDigests = len(windows), repeats
	for _, d := range SumDigestsDiff(windows, del.Expected) {
		problem("%s", d)
	}

	if _, err := cfnRequest(cfn.RequestDelete, physicalID); err != nil {
		return nil, err
	}
	fls, err := FlowLogs(ctx, c)
	if err != nil {
		return nil, err
	}
	if owned := OwnedBy(fls, s.Names.StackID); len(owned) > 0 {
		problem("after Delete, flow logs of ours remain: %v", owned)
	}
	kept := false
	for _, f := range fls {
		kept = kept || f.ID == foreign
	}
	if !kept {
		problem("Delete removed someone else's flow log %s", foreign)
	}
	if run.MaxOwnedPerVPC > 1 {
		problem("a VPC had %d flow logs of ours", run.MaxOwnedPerVPC)
	}
	run.Stats = b.Faults.Stats()
	run.Took = time.Since(started)
	return run, nil
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
	for _, k := range faultproxy.Kinds {
		faults = append(faults, fmt.Sprintf("%s %d", k, r.Stats.Faults[k]))
	}
	return fmt.Sprintf("seed %d: %d requests, %d faults (%s), %d retries, max attempt %d; answers %v; %d sweeps; %d summarizer runs (%d failed), %d windows, %d repeated digests; %s; problems: %d",
		r.Seed, r.Stats.Requests, r.Stats.TotalFaults(), strings.Join(faults, ", "), r.Stats.Retries, r.Stats.MaxAttempt,
		r.Statuses, r.Sweeps, r.SummarizerRuns, r.FailedRuns, r.Windows, r.RepeatedDigests, r.Took.Round(time.Millisecond), len(r.Problems))
}
