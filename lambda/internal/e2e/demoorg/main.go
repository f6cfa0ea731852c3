// Command demoorg runs the organization mode locally, with no AWS account:
// `make demo-org`. Moto simulates an AWS Organization (two OUs, member
// accounts in two regions, one of which joins after the first sweep and
// one whose StackSet instance failed); the harness synthesizes the CDK app
// in organization mode for it, deploys the hub, plays the StackSet into
// every member account-region, and runs the real Lambda bootstraps under
// the Lambda Runtime Interface Emulator, fed by their SQS work queues as
// Lambda's event source mappings would. It prints each step, the
// StackSet's targets, the coverage document, the per-account digests and
// the organization roll-up.
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
	"syscall"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

func main() {
	records := flag.Int("records", 600, "flow log records per account-region")
	seed := flag.Int64("seed", 1, "seed of the generated records")
	workers := flag.Int("workers", 2, "processes of each function the work queues feed")
	flag.Parse()
	os.Exit(run(e2e.OrgStoryOptions{Records: *records, Seed: *seed, Workers: *workers}))
}

// printer prints the story's progress with the time since the start.
type printer struct {
	start time.Time
	out   io.Writer
}

func (p *printer) Step(n int, title string) {
	fmt.Fprintf(p.out, "\n[%5.1fs] %d. %s\n", time.Since(p.start).Seconds(), n, title)
}

func (p *printer) Info(format string, args ...any) {
	fmt.Fprintf(p.out, "        "+format+"\n", args...)
}

func run(o e2e.OrgStoryOptions) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := &printer{start: time.Now(), out: os.Stdout}
	root, err := testenv.ModuleRoot()
	if err != nil {
		return failed(ctx, err)
	}
	work := filepath.Join(root, ".demo-org")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return failed(ctx, err)
	}
	logFile := filepath.Join(work, "functions.log")
	fnLog, err := os.Create(logFile)
	if err != nil {
		return failed(ctx, err)
	}
	defer fnLog.Close()
	fmt.Println("VPC flow logs across an AWS Organization, run locally: moto simulates the organization and its accounts.")
	steps := map[string]int{"starting moto": 1, "synthesizing the CDK app": 2}
	h, err := e2e.StartOrg(ctx, e2e.Config{WorkDir: work, FunctionLog: fnLog, Step: func(what string) {
		if n, ok := steps[what]; ok {
			p.Step(n, what)
			return
		}
		p.Info("%s", what)
	}}, e2e.DefaultOrgOptions)
	if err != nil {
		return failed(ctx, err)
	}
	defer h.Close()
	p.Info("organization %s, root %s; hub account %s (the management account) in %s", h.Org.ID, h.Org.RootID, e2e.Account, testenv.Region)
	for _, line := range h.Stack.Created {
		p.Info("created %s", line)
	}
	res, err := h.OrgStory(ctx, p, o)
	if err != nil {
		return failed(ctx, err)
	}
	fmt.Printf("\nDone in %.1fs: %d accounts, %d account-regions with VPCs. Function logs: %s\n",
		time.Since(p.start).Seconds(), len(res.Accounts), len(res.Regions), logFile)
	return 0
}

func failed(ctx context.Context, err error) int {
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "\ninterrupted: moto and the emulators are stopped")
		return 130
	}
	fmt.Fprintf(os.Stderr, "\ndemo-org failed: %v\n", err)
	return 1
}
