// Command demo runs the whole product locally, with no AWS account: `make
// demo`. It synthesizes the CDK app, creates what a deployment of the
// template would in moto, and runs the real Lambda bootstraps under the
// Lambda Runtime Interface Emulator against it, printing each step. Moto
// and the emulators stop when it ends, also on Ctrl-C or failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

func main() {
	records := flag.Int("records", 5000, "flow log records to deliver")
	seed := flag.Int64("seed", 1, "seed of the generated records")
	wait := flag.String("wait", "auto", "wait for the streams' minute to end before the digest, so that it lists the new interfaces: "+
		"always, never, or auto (only if make demo still ends within a minute)")
	flag.Parse()
	o := e2e.StoryOptions{Records: *records, Seed: *seed}
	switch *wait {
	case "always":
	case "never":
		o.Wait = func(time.Duration) bool { return false }
	case "auto":
		// The steps after the wait take a few seconds, and make build
		// and go run about ten before the demo starts: wait only if
		// `make demo` still ends within a minute.
		o.Wait = func(d time.Duration) bool { return time.Since(began)+d+5*time.Second <= 50*time.Second }
	default:
		fmt.Fprintf(os.Stderr, "-wait=%s: want always, never or auto\n", *wait)
		os.Exit(2)
	}
	os.Exit(run(o))
}

// began is when the demo started.
var began = time.Now()

// printer prints the story's progress with the time since the start.
type printer struct {
	start time.Time
	out   io.Writer
}

func (p *printer) Step(n int, title string) {
	fmt.Fprintf(p.out, "\n[%4.1fs] %d. %s\n", time.Since(p.start).Seconds(), n, title)
}

func (p *printer) Info(format string, args ...any) {
	fmt.Fprintf(p.out, "        "+format+"\n", args...)
}

func run(o e2e.StoryOptions) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &printer{start: began, out: os.Stdout}
	fail := func(err error) int {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "\ninterrupted: moto and the emulators are stopped")
			return 130
		}
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		return 1
	}

	if missing := e2e.Missing(); len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "The demo needs these tools, which are not installed:")
		for _, m := range missing {
			fmt.Fprintln(os.Stderr, "  "+m)
		}
		fmt.Fprintln(os.Stderr, "Install them, or run `make tools` to install what it can.")
		return 1
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		return fail(err)
	}
	work := filepath.Join(root, ".demo")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fail(err)
	}
	logFile := filepath.Join(work, "functions.log")
	fnLog, err := os.Create(logFile)
	if err != nil {
		return fail(err)
	}
	defer fnLog.Close()

	fmt.Println("VPC flow logs, run locally: moto stands in for AWS, the Lambda Runtime Interface Emulator runs the real bootstraps.")
	steps := map[string]int{"starting moto": 1, "synthesizing the CDK app": 2}
	h, err := e2e.Start(ctx, e2e.Config{
		WorkDir:     work,
		FunctionLog: fnLog,
		Step: func(what string) {
			switch what {
			case "starting moto":
				p.Step(steps[what], "Starting moto's server on a free loopback port")
			case "synthesizing the CDK app":
				p.Step(steps[what], "Synthesizing the CDK app and creating what a deployment of the template would")
			default:
				p.Info("%s", what)
			}
		},
	})
	if err != nil {
		return fail(err)
	}
	defer h.Close()
	s := h.Stack
	p.Info("moto at %s", h.Moto.URL)
	p.Info("template %s (%d resources)", rel(root, s.Template.File), len(s.Template.Resources))
	for _, line := range s.Created {
		p.Info("created %s", line)
	}
	p.Info("not created in moto (the harness plays rules, permissions and the custom resource; nothing local reads the rest): %s", notCreated(s.NotCreated))

	res, err := h.Story(ctx, p, o)
	if err != nil {
		return fail(err)
	}
	summary(res, h.Stack.Names.StackID)
	fmt.Printf("\nDone in %.1fs", time.Since(p.start).Seconds())
	if res.Waited > 0 {
		fmt.Printf(" (%.0fs of it waiting for the minute to end)", res.Waited.Seconds())
	}
	fmt.Printf(". Function logs: %s; digest JSON: %s\n", rel(root, logFile), rel(root, res.DigestFile))
	return 0
}

// summary recaps what the story showed.
func summary(res *e2e.StoryResult, owner string) {
	count := func(fls []e2e.FlowLog) (ours, theirs int) {
		for _, f := range fls {
			if f.Owner == owner {
				ours++
			} else {
				theirs++
			}
		}
		return ours, theirs
	}
	d := res.Digest.Digest
	fmt.Println("\nWhat this showed")
	ours, theirs := count(res.AfterCreate)
	fmt.Printf("  Create: flow logs on the %s VPCs tagged %s=enabled (%d of ours; analytics was already covered by someone else's), answered %s\n",
		res.Create[0].Body.Data["Tagged"], res.TagKey, ours, res.Create[0].Body.Status)
	fmt.Printf("  delivery and digest: %d records in, the digest counts %d, equal to the generator's own tally; %d new interfaces described\n",
		res.Delivery.Events, d.Totals.Records, d.NewInterfaces.Count)
	if d.NewInterfaces.Count == 0 {
		fmt.Println("    (run with DEMO_ARGS=-wait=always to see the new interfaces: the digest then waits for their minute to end)")
	}
	fmt.Printf("  tag events: dev tagged, its flow log created (%d); staging untagged, its flow log removed (%d)\n",
		res.Tagged.Created, res.Untagged.Removed)
	ours, theirs2 := count(res.AfterDelete)
	fmt.Printf("  Delete: %s flow logs of this stack removed, %d left; someone else's %d of %d kept\n",
		res.Delete[0].Body.Data["Removed"], ours, theirs2, theirs)
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func notCreated(m map[string]int) string {
	var out []string
	for t, n := range m {
		out = append(out, fmt.Sprintf("%s x%d", strings.TrimPrefix(t, "AWS::"), n))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
