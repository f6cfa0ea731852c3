// Command demo runs the whole product locally, with no AWS account: `make
// demo`. It synthesizes the CDK app, creates what a deployment of the
// template would in moto, and runs the real Lambda bootstraps under the
// Lambda Runtime Interface Emulator against it, printing each step. Moto
// and the emulators stop when it ends, also on Ctrl-C or failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e/demokit"
)

func main() {
	records := flag.Int("records", 5000, "flow log records to deliver")
	seed := flag.Int64("seed", 1, "seed of the generated records")
	destination = flag.String("destination", "cloud-watch-logs", "where the flow logs deliver: cloud-watch-logs (the whole story) or s3 (objects, the summarizer reading them, the Athena query)")
	flag.Parse()
	if *destination != "cloud-watch-logs" && *destination != "s3" {
		fmt.Fprintf(os.Stderr, "-destination=%s: want cloud-watch-logs or s3\n", *destination)
		os.Exit(2)
	}
	os.Exit(run(e2e.StoryOptions{Records: *records, Seed: *seed}))
}

// destination is the -destination flag.
var destination *string

// began is when the demo started.
var began = time.Now()

// printer prints the story's progress with the time since the start.
type printer = demokit.Printer

// run runs the demo and returns its exit code: the tools, the harness
// (steps 1 and 2), the story (3 to 8) and the recap.
func run(o e2e.StoryOptions) int {
	if !haveTools() {
		return 1
	}
	sess, err := demokit.Begin("demo", ".demo")
	if err != nil {
		return sess.Failed(err)
	}
	defer sess.Close()
	ctx, root := sess.Ctx, sess.Root
	fmt.Println("VPC flow logs, run locally: moto stands in for AWS, the Lambda Runtime Interface Emulator runs the real bootstraps.")
	p := &printer{Start: began, Out: os.Stdout, Width: 4}
	h, err := start(ctx, p, sess.Work, sess.FunctionLog)
	if err != nil {
		return sess.Failed(err)
	}
	defer h.Close()
	showDeployment(p, h, root)
	if *destination == "s3" {
		if err := runS3(ctx, p, h, root, o); err != nil {
			return sess.Failed(err)
		}
		return 0
	}
	res, err := h.Story(ctx, p, o)
	if err != nil {
		return sess.Failed(err)
	}
	summary(res, h.Stack.Names.StackID)
	fmt.Printf("\nDone in %.1fs. Function logs: %s; digest JSON: %s\n",
		time.Since(p.Start).Seconds(), rel(root, sess.LogFile), rel(root, res.DigestFile))
	return 0
}

// haveTools lists the missing tools with how to install each, if any.
func haveTools() bool {
	missing := e2e.Missing()
	if len(missing) == 0 {
		return true
	}
	fmt.Fprintln(os.Stderr, "The demo needs these tools, which are not installed:")
	for _, m := range missing {
		fmt.Fprintln(os.Stderr, "  "+m)
	}
	fmt.Fprintln(os.Stderr, "Install them, or run `.ci/tools.sh install demo` to install what it can.")
	return false
}

// start starts the harness (steps 1 and 2), printing its stages.
func start(ctx context.Context, p *printer, work string, fnLog io.Writer) (*e2e.Harness, error) {
	titles := map[string]string{
		"starting moto":            "Starting moto's server on a free loopback port",
		"synthesizing the CDK app": "Synthesizing the CDK app and creating what a deployment of the template would",
	}
	steps := map[string]int{"starting moto": 1, "synthesizing the CDK app": 2}
	cfg := e2e.Config{WorkDir: work, FunctionLog: fnLog, Step: p.Steps(steps, titles)}
	if *destination == "s3" {
		cfg.Context = map[string]any{"destination": "s3"}
	}
	return e2e.Start(ctx, cfg)
}

// showDeployment prints what the harness created from the template.
func showDeployment(p *printer, h *e2e.Harness, root string) {
	s := h.Stack
	p.Info("moto at %s; the functions call it through a proxy at %s", h.Moto.URL, h.Proxy.URL)
	p.Info("template %s (%d resources)", rel(root, s.Template.File), len(s.Template.Resources))
	for _, line := range s.Created {
		p.Info("created %s", line)
	}
	p.Info("not created in moto (the harness plays rules, permissions and the custom resource; nothing local reads the rest): %s", notCreated(s.NotCreated))
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
	fmt.Printf("  delivery and digest: %d records in, the digest counts %d, equal to the generator's own tally; %d new interfaces, each described from EC2\n",
		res.Delivery.Events, d.Totals.Records, d.NewInterfaces.Count)
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
