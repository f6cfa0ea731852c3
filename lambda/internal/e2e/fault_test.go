package e2e_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

var (
	faultRuns    = flag.Int("fault-runs", 20, "seeded runs of TestFaults")
	faultRate    = flag.Float64("fault-rate", 0.3, "share of the functions' AWS calls faulted in TestFaults")
	faultRecords = flag.Int("fault-records", 1500, "flow log records delivered per run of TestFaults")
	update       = flag.Bool("update", false, "rewrite RELIABILITY.md with the figures of TestFaults")
)

// TestFaults runs the product's whole life 20 times, each with its own
// seed, with 30% of the functions' AWS calls faulted (throttles in each
// protocol's shape, 500s, 503s, dropped connections, lost answers): the
// enabler converges with no duplicate flow log, every CloudFormation
// request gets exactly one answer, and consecutive digests add up exactly
// to what was delivered.
func TestFaults(t *testing.T) {
	h := shared(t)
	bench, err := h.NewFaultBench()
	if err != nil {
		t.Fatal(err)
	}
	defer bench.Close()

	started := time.Now()
	var runs []*e2e.FaultRun
	for seed := uint64(1); seed <= uint64(*faultRuns); seed++ {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		run, err := bench.RunFaults(ctx, seed, *faultRate, *faultRecords)
		cancel()
		if err != nil {
			t.Fatalf("seed %d: %v\nenabler log tail:\n%s", seed, err, tail(bench.Enabler.Log(), 40))
		}
		t.Log(run)
		for _, p := range run.Problems {
			t.Errorf("seed %d: %s", seed, p)
		}
		runs = append(runs, run)
	}
	report := reliabilityReport(runs, *faultRate, *faultRecords, time.Since(started))
	t.Log("\n" + report)
	if *update {
		if err := os.WriteFile("RELIABILITY.md", []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// faultTotals are the figures of several runs added up.
type faultTotals struct {
	motoproxy.FaultCounts
	byAction map[string]motoproxy.FaultCounts
	statuses map[string]int

	answers, sweeps, sumRuns, failedRuns, windows, repeats, problems, maxOwned, converged int
}

func addUp(runs []*e2e.FaultRun) faultTotals {
	t := faultTotals{byAction: map[string]motoproxy.FaultCounts{}, statuses: map[string]int{}}
	for _, r := range runs {
		t.Add(r.Stats.FaultCounts)
		for a, c := range r.Stats.ByAction {
			b := t.byAction[a]
			b.Add(c)
			t.byAction[a] = b
		}
		for rt, ss := range r.Statuses {
			t.answers += len(ss)
			for _, s := range ss {
				t.statuses[rt+" "+s]++
			}
		}
		t.sweeps += r.Sweeps
		t.sumRuns += r.SummarizerRuns
		t.failedRuns += r.FailedRuns
		t.windows += r.Windows
		t.repeats += r.RepeatedDigests
		t.problems += len(r.Problems)
		t.maxOwned = max(t.maxOwned, r.MaxOwnedPerVPC)
		if len(r.Problems) == 0 {
			t.converged++
		}
	}
	return t
}

// reliabilityReport writes the figures of the runs as the README's
// reliability section.
func reliabilityReport(runs []*e2e.FaultRun, rate float64, records int, took time.Duration) string {
	t := addUp(runs)
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Reliability\n\n")
	p("Measured by `TestFaults` (lambda/internal/e2e/fault_test.go, part of `make test`): %d seeded runs of the\n", len(runs))
	p("product's whole life, the real linux/arm64 bootstraps under the Lambda Runtime Interface Emulator, with\n")
	p("%.0f%% of the functions' AWS calls faulted by the Faults hook of `lambda/internal/motoproxy` (in front of moto).\n", rate*100)
	p("Each run: 4 VPCs (3 tagged, one with someone else's flow log), a CloudFormation Create, a tag event\n")
	p("tagging the fourth VPC, %d flow log records delivered into the interfaces' streams, three consecutive\n", records)
	p("digests (settle lags %v, first window %s), and a CloudFormation Delete. Wall time %s.\n\n", e2e.SummaryStages, e2e.StagePeriod, took.Round(time.Second))
	p("| | |\n|---|---|\n")
	p("| runs passing every check | %d of %d |\n", t.converged, len(runs))
	p("| AWS requests from the functions | %d |\n", t.Requests)
	p("| faults injected | %d (%.1f%%) |\n", t.TotalFaults(), 100*float64(t.TotalFaults())/float64(max(t.Requests, 1)))
	for _, k := range motoproxy.FaultKinds {
		p("| &nbsp;&nbsp;%s | %d |\n", k, t.Faults[k])
	}
	p("| retries observed (amz-sdk-request attempt > 1) | %d |\n", t.Retries)
	p("| highest attempt number of one call | %d |\n", t.MaxAttempt)
	p("| CloudFormation requests / answers | %d / %d (%s) |\n", 2*len(runs), t.answers, joinCounts(t.statuses))
	p("| extra sweeps needed to converge | %d |\n", t.sweeps)
	p("| most flow logs of this stack on one VPC | %d |\n", t.maxOwned)
	p("| summarizer runs / failed and redone by the next | %d / %d |\n", t.sumRuns, t.failedRuns)
	p("| distinct digest windows / digest events repeating a window | %d / %d |\n", t.windows, t.repeats)
	p("| digests whose sum differs from the generator's totals | %d runs |\n", problemsLike(runs, "digests"))
	p("| problems | %d |\n\n", t.problems)
	writeByAction(&b, t.byAction)
	b.WriteString(shapesNote)
	return b.String()
}

// writeByAction writes the counts of each action as a table.
func writeByAction(b *bytes.Buffer, byAction map[string]motoproxy.FaultCounts) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("By action, over all runs:\n\n| action | requests | retries |")
	for _, k := range motoproxy.FaultKinds {
		p(" %s |", k)
	}
	p("\n|---|---:|---:|%s\n", strings.Repeat("---:|", len(motoproxy.FaultKinds)))
	actions := make([]string, 0, len(byAction))
	for a := range byAction {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		c := byAction[a]
		p("| %s | %d | %d |", a, c.Requests, c.Retries)
		for _, k := range motoproxy.FaultKinds {
			p(" %d |", c.Faults[k])
		}
		p("\n")
	}
}

// shapesNote ends the report: what each fault looks like and what a lost
// answer does to each call.
const shapesNote = "\nThe shapes: EC2 throttles are HTTP 503 `RequestLimitExceeded` in EC2's XML error envelope; CloudWatch Logs\n" +
	"throttles are HTTP 400 `{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}`; DynamoDB's are HTTP 400 JSON 1.0\n" +
	"`{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",...}`; 500 and 503 carry each service's own\n" +
	"error codes; a dropped connection closes before the call reaches moto; a lost answer closes after moto applied\n" +
	"the call, so the SDK's retry meets its own first attempt: a conditional write of the run state then fails its\n" +
	"condition and the store, seeing its own writer on the item, takes it as done; DeleteFlowLogs fails with\n" +
	"InvalidFlowLogId.NotFound (taken as done), PutLogEvents writes the digest event twice (the same window, the\n" +
	"same content: readers count a window once), and CreateFlowLogs fails with FlowLogAlreadyExists, which the\n" +
	"enabler resolves by describing the VPC. In AWS the enabler's deterministic ClientToken would make that retry\n" +
	"return the first answer; moto ignores ClientToken, so these runs exercise the harder path.\n\n" +
	"Rewrite this file with `go test ./lambda/internal/e2e -run TestFaults -update`.\n"

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

func problemsLike(runs []*e2e.FaultRun, prefix string) int {
	n := 0
	for _, r := range runs {
		for _, p := range r.Problems {
			if strings.HasPrefix(p, prefix) || strings.Contains(p, "add up") {
				n++
				break
			}
		}
	}
	return n
}
