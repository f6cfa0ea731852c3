package e2e_test

import (
	"context"
	"flag"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

var (
	keepWork = flag.Bool("keep", false, "keep the work directory (bootstraps, cloud assembly)")
	fnLog    = flag.Bool("fnlog", false, "show what the functions print")

	harnessOnce sync.Once
	harness     *e2e.Harness
	harnessErr  error
	workDir     string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	orgMoto.Close()
	if harness != nil {
		harness.Close()
	}
	if workDir != "" && !*keepWork {
		os.RemoveAll(workDir)
	}
	os.Exit(code)
}

// shared returns the harness every test uses: one moto, one synthesis.
// Tests reset moto before use and do not run in parallel.
func shared(t *testing.T) *e2e.Harness {
	t.Helper()
	testenv.Need(t, testenv.MotoServer, testenv.RIETool, testenv.Qemu, testenv.Node, testenv.NPX)
	harnessOnce.Do(func() {
		workDir, harnessErr = os.MkdirTemp("", "e2e-")
		if harnessErr != nil {
			return
		}
		var log io.Writer
		if *fnLog {
			log = os.Stderr
		}
		harness, harnessErr = e2e.Start(context.Background(), e2e.Config{WorkDir: workDir, FunctionLog: log})
	})
	if harnessErr != nil {
		t.Fatalf("starting the harness: %v", harnessErr)
	}
	if err := harness.Reset(t.Context()); err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	return harness
}

// TestStory runs the tour `make demo` prints and asserts each step.
func TestStory(t *testing.T) {
	h := shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	started := time.Now()
	// The story never waits for the clock: the digest lists the new
	// interfaces (asserted under "digest") because the delivery places
	// the records and dates the streams in the past hour. Before the
	// stream clock, a run that did not wait for the minute to end listed
	// none.
	res, err := h.Story(ctx, e2e.Quiet{}, e2e.StoryOptions{Records: 4000, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("story took %s; steps %v", time.Since(started).Round(time.Millisecond), res.Took)
	owner := h.Stack.Names.StackID
	vpc := func(name string) string { return res.VPCs[name].ID }

	t.Run("create answer", func(t *testing.T) {
		a := res.Create[0]
		want := reconcile.PhysicalID(owner, h.Stack.Reconcile.LogicalID)
		if a.Body.PhysicalResourceID != want {
			t.Errorf("physical id %q, want %q", a.Body.PhysicalResourceID, want)
		}
		if len(a.Raw) > reconcile.MaxResponseBytes {
			t.Errorf("answer of %d bytes", len(a.Raw))
		}
		for k, v := range map[string]int{"Tagged": 4, "Created": 3, "Covered": 4, "Failed": 0} {
			if got := a.Body.Data[k]; got != strconv.Itoa(v) {
				t.Errorf("Data[%s] = %v, want %d", k, got, v)
			}
		}
	})

	type want struct{ ours, theirs int }
	check := func(t *testing.T, fls []e2e.FlowLog, wants map[string]want) {
		t.Helper()
		by := e2e.ByResource(fls)
		for name, w := range wants {
			var ours, theirs int
			for _, f := range by[vpc(name)] {
				if f.Owner == owner {
					ours++
					if f.LogGroup != h.Stack.FlowLogGroup || f.TrafficType != "ALL" || f.DeliveryRole != h.Stack.DeliveryRoleARN {
						t.Errorf("%s: our flow log %+v is not the configured one", name, f)
					}
				} else {
					theirs++
				}
			}
			if ours != w.ours || theirs != w.theirs {
				t.Errorf("%s (%s): %d of ours and %d of others', want %d and %d", name, vpc(name), ours, theirs, w.ours, w.theirs)
			}
		}
	}
	t.Run("flow logs after create", func(t *testing.T) {
		check(t, res.AfterCreate, map[string]want{
			"prod": {1, 0}, "staging": {1, 0}, "payments": {1, 1}, "analytics": {0, 1}, "dev": {0, 0}, "sandbox": {0, 0},
		})
	})
	t.Run("digest", func(t *testing.T) {
		d := res.Digest.Digest
		if len(res.Diffs) > 0 {
			t.Errorf("the digest differs from the generator: %v", res.Diffs)
		}
		if d.Totals.Records != uint64(res.Delivery.Events) || res.Summarize.Records != d.Totals.Records {
			t.Errorf("digest %d records, the summarizer answered %d, %d delivered", d.Totals.Records, res.Summarize.Records, res.Delivery.Events)
		}
		if d.NewInterfaces.Count != len(res.Delivery.Streams) || d.NewInterfaces.Gone != 0 {
			t.Errorf("new interfaces %d (gone %d), want %d present", d.NewInterfaces.Count, d.NewInterfaces.Gone, len(res.Delivery.Streams))
		}
		for _, n := range d.NewInterfaces.Items {
			if n.State != "present" || n.VPCID == "" || n.Description == "" || n.Traffic == nil {
				t.Errorf("new interface %s not described: %+v", n.InterfaceID, n)
			}
		}
		if d.Window.Partial {
			t.Errorf("the digest is partial: %+v", d.Window)
		}
	})
	t.Run("tag and untag", func(t *testing.T) {
		if res.Tagged.Created != 1 || res.Tagged.Failed != 0 || res.Untagged.Removed != 1 || res.Untagged.Failed != 0 {
			t.Errorf("tag run %+v, untag run %+v", res.Tagged, res.Untagged)
		}
		check(t, res.AfterTags, map[string]want{
			"prod": {1, 0}, "staging": {0, 0}, "payments": {1, 1}, "analytics": {0, 1}, "dev": {1, 0}, "sandbox": {0, 0},
		})
	})
	t.Run("delete removes only ours", func(t *testing.T) {
		a := res.Delete[0]
		if a.Body.PhysicalResourceID != res.Create[0].Body.PhysicalResourceID {
			t.Errorf("delete answered physical id %q, create %q", a.Body.PhysicalResourceID, res.Create[0].Body.PhysicalResourceID)
		}
		if a.Body.Data["Removed"] != "3" {
			t.Errorf("Data[Removed] = %v, want 3", a.Body.Data["Removed"])
		}
		check(t, res.AfterDelete, map[string]want{
			"prod": {0, 0}, "staging": {0, 0}, "payments": {0, 1}, "analytics": {0, 1}, "dev": {0, 0}, "sandbox": {0, 0},
		})
	})
}
