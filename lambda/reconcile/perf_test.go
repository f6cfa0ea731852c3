package reconcile_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// perfVPCsEnv sets how many VPCs TestAPICalls measures. The normal suite
// uses 500; the figure in PERFORMANCE.md comes from 5000:
//
//	RECONCILE_PERF_VPCS=5000 go test -run TestAPICalls -v ./lambda/reconcile/
const perfVPCsEnv = "RECONCILE_PERF_VPCS"

// TestAPICalls counts the API calls (HTTP requests, so SDK retries would
// count too) that motoproxy sees while the production-sized reconciler
// (pages and batches of 1,000; motoproxy refuses filters of more than 200
// values, as EC2 does) brings N tagged VPCs from no flow logs to
// covered, and then confirms them with nothing to do. The goal is at most
// 5 + 3·ceil(N/1000) calls either way.
func TestAPICalls(t *testing.T) {
	n := 500
	if s := os.Getenv(perfVPCsEnv); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive whole number", perfVPCsEnv, s)
		}
	}
	f := newFixture(t)
	f.rec = &reconcile.Reconciler{API: f.ec2, Region: testRegion}
	createTagged(t, f, n)
	goal := 5 + 3*((n+999)/1000)

	for _, pass := range []struct {
		name                  string
		wantCreated, wantDone int
	}{
		{"from nothing to covered", n, n},
		{"nothing to do", 0, n},
	} {
		proxy.ResetCalls()
		res := f.run(testConfig(), reconcile.Target{})
		calls := proxy.Calls()
		total := proxy.Total()
		t.Logf("%d VPCs, %s: %d calls %s (goal at most %d)", n, pass.name, total, render(calls), goal)
		if res.Created != pass.wantCreated || res.Covered != pass.wantDone || res.Failed != 0 {
			t.Errorf("%s: %s", pass.name, counts(res))
		}
		if total > goal {
			t.Errorf("%s: %d calls, more than the goal of %d", pass.name, total, goal)
		}
	}
}

// createTagged creates n tagged VPCs straight in moto, four at a time.
func createTagged(t *testing.T, f *fixture, n int) {
	t.Helper()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 4 {
		wg.Go(func() {
			for range jobs {
				f.vpcQuiet()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func render(calls map[string]int) string {
	var parts []string
	for k, v := range calls {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}
