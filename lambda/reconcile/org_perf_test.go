package reconcile_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

// orgPerfAccountsEnv sets how many member accounts (of three regions each)
// the organization call-count and concurrency tests use. The normal suite
// uses 10; the figures in lambda/org/PERFORMANCE.md come from 100:
//
//	ORG_PERF_ACCOUNTS=100 go test -run 'TestOrgAPICalls|TestOrgConcurrency' -v ./lambda/reconcile/
const orgPerfAccountsEnv = "ORG_PERF_ACCOUNTS"

var perfRegions = []string{"us-east-1", "eu-west-1", "ap-southeast-2"}

// productionConcurrency is the event source mapping's MaximumConcurrency
// the stack sets for the enabler's queue: messages (accounts) at once.
const productionConcurrency = 20

func perfAccounts(t *testing.T) int {
	n := 10
	if s := os.Getenv(orgPerfAccountsEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive whole number", orgPerfAccountsEnv, s)
		}
	}
	return n
}

// TestOrgAPICalls counts, through the proxy, the calls of an organization
// sweep with nothing to do (every tagged VPC already covered), made by a
// cold hub enabler (no cached credentials) with the production batch
// sizes (SendMessageBatch of 10, EC2 pages of 1,000): at most one
// AssumeRole per account, and per account-region at most the EC2 calls of
// today's single-account sweep with nothing to do (TestAPICalls: one
// DescribeVpcs and one DescribeFlowLogs per 1,000 VPCs).
func TestOrgAPICalls(t *testing.T) {
	n := perfAccounts(t)
	w := newOrgWorld(t, n, perfRegions)
	for _, a := range w.accounts {
		for _, r := range perfRegions {
			w.vpc(a, r, "flowlogs", "on")
		}
	}
	first := w.sweep(productionConcurrency)
	w.handler(false) // a cold instance: no cached credentials or accounts
	proxy.ResetCalls()
	sum := w.sweep(productionConcurrency)
	calls := proxy.Calls()
	ars := n * len(perfRegions)
	t.Logf("%d accounts × %d regions, first sweep %+v; nothing to do: %d calls %s", n, len(perfRegions), first, proxy.Total(), render(calls))
	docs := w.coverage()
	if last := docs[len(docs)-1]; last.SweepID != sum.SweepID || last.Totals.VPCs.CoveredByUs != ars || last.Totals.Unreachable != 0 {
		t.Fatalf("the second sweep's coverage %+v, want %d VPCs covered by us", last.Totals, ars)
	}
	for _, tc := range []struct {
		action string
		max    int
	}{
		{"AssumeRole", n},
		{"DescribeVpcs", ars},
		{"DescribeFlowLogs", ars},
		{"CreateFlowLogs", 0},
		{"DeleteFlowLogs", 0},
		{"SendMessageBatch", (n + 9) / 10},
		{"TransactWriteItems", n},
		{"GetItem", n},    // each finisher reads the counter
		{"UpdateItem", n}, // only finishers that read the sweep finished claim
	} {
		if got := calls[tc.action]; got > tc.max {
			t.Errorf("%s: %d calls, want at most %d", tc.action, got, tc.max)
		}
	}
}

// TestOrgConcurrency proves that the fan-out runs account-regions in
// parallel: with 100 ms added to every call by the proxy, the sweep's
// messages take at least 20 times less time at the production concurrency
// (20 messages at once, as the stack's MaximumConcurrency, the regions of
// a message at once) than one account-region at a time (5 times at the
// normal suite's 10 accounts, whose 30 account-regions bound the ratio).
// Both runs are cold (no cached credentials) and have nothing to do; a
// ratio, not a wall-clock bound.
//
// What it measures is the fan-out, not the emulator, as far as one
// machine allows (lambda/org/PERFORMANCE.md has the figures):
//   - the member accounts are spread over moto servers of their own
//     (sharded, motoproxy.Shards), as AWS serves accounts independently:
//     in one Python process every account's calls queue for one lock;
//   - DynamoDB runs in a moto of its own, its writes one at a time
//     (serializeDynamoDB), its transactions backing up the items they
//     write rather than the whole table (isolatedScript);
//   - every account-region's EC2 is created in moto before either run
//     (warmEC2), which moto does on first use at about 100 times a call's
//     cost: the run that came first paid for it.
//
// Each run logs the CPU the emulators and the test process used, from
// /proc: when they add up to the run's time on the machine's cores, the
// machine, not the code, is the bound.
func TestOrgConcurrency(t *testing.T) {
	n := perfAccounts(t)
	w := newOrgWorld(t, n, perfRegions, sharded(orgShards(t)))
	w.warmEC2()
	proxy.Reset()
	proxy.AddHook(motoproxy.Delay("", 100*time.Millisecond))
	w.route() // after the delay: the delay is not serialized
	timed := func(messages, regions int) time.Duration {
		// Both runs start from an empty table, so that each finds the same
		// (plain moto_server, without isolatedScript, copies the whole
		// table in every transaction: the second run would pay for the
		// first's items).
		w.recreateTable()
		w.handler(false)
		w.o.RegionConcurrency = regions
		if _, err := w.invoke([]byte(`{"detail-type":"Scheduled Event","source":"aws.events"}`)); err != nil {
			t.Fatal(err)
		}
		msgs := w.receiveAll()
		if len(msgs) != n {
			t.Fatalf("%d messages, want %d", len(msgs), n)
		}
		ph := w.startPhase()
		start := time.Now()
		w.deliver(sqs.NewFromConfig(w.direct), msgs, messages)
		took := time.Since(start)
		t.Logf("%d at once: %s; %s", messages, took.Round(time.Millisecond), ph.end())
		return took
	}
	serial := timed(1, 1)
	parallel := timed(productionConcurrency, len(perfRegions))
	ratio := float64(serial) / float64(parallel)
	want := 20.0
	if n*len(perfRegions) < 300 {
		// 30 account-regions bound the ratio at 30, and the shared
		// machine's load makes it vary: the normal suite asks for 5.
		want = 5
	}
	t.Logf("%d account-regions, 100 ms a call: one at a time %s, production concurrency %s: %.1f× faster",
		n*len(perfRegions), serial.Round(time.Millisecond), parallel.Round(time.Millisecond), ratio)
	if ratio < want {
		t.Errorf("%.1f× faster at the production concurrency, want at least %.0f×", ratio, want)
	}
	if docs := w.coverage(); len(docs) != 2 || docs[1].Totals.AccountRegions != n*len(perfRegions) {
		t.Errorf("coverage documents %d, want 2 of %d account-regions each", len(docs), n*len(perfRegions))
	}
}
