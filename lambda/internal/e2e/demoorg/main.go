// Command demoorg runs the organization mode locally, with no AWS account:
// `make demo-org`. Moto simulates an AWS Organization (two OUs, member
// accounts in two regions, one of which joins after the first sweep and
// one whose StackSet instance failed); the harness synthesizes the CDK app
// in organization mode for it, deploys the hub, plays the StackSet into
// every member account-region, and runs the real Lambda bootstraps under
// the Lambda Runtime Interface Emulator, fed by their SQS work queues as
// Lambda's event source mappings would. It prints each step, the
// StackSet's targets, the coverage document, the per-account digests and
// the organization roll-up. With -destination=s3 the hub owns one central
// bucket: every spoke's flow logs deliver there, the harness writes each
// account-region's objects in AWS's layout, and the hub's summarizer
// digests each account-region's folder of it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e/demokit"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

func main() {
	records := flag.Int("records", 600, "flow log records per account-region")
	seed := flag.Int64("seed", 1, "seed of the generated records")
	workers := flag.Int("workers", 2, "processes of each function the work queues feed")
	destination := flag.String("destination", settings.DestinationCloudWatchLogs, "where the flow logs deliver: cloud-watch-logs (the whole story) or s3 (one central bucket)")
	flag.Parse()
	switch *destination {
	case settings.DestinationCloudWatchLogs:
		os.Exit(run(e2e.OrgStoryOptions{Records: *records, Seed: *seed, Workers: *workers}))
	case settings.DestinationS3:
		os.Exit(runS3(e2e.OrgS3StoryOptions{Records: *records, Seed: *seed}))
	default:
		fmt.Fprintf(os.Stderr, "-destination=%s: want %s or %s\n", *destination, settings.DestinationCloudWatchLogs, settings.DestinationS3)
		os.Exit(2)
	}
}

// run runs the organization mode delivering to CloudWatch Logs.
func run(o e2e.OrgStoryOptions) int {
	intro := "VPC flow logs across an AWS Organization, run locally: moto simulates the organization and its accounts."
	return withHub(intro, nil, func(ctx context.Context, p *demokit.Printer, h *e2e.OrgHarness) (string, error) {
		res, err := h.OrgStory(ctx, p, o)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d accounts, %d account-regions with VPCs", len(res.Accounts), len(res.Regions)), nil
	})
}

// runS3 runs the organization mode delivering to a central bucket.
func runS3(o e2e.OrgS3StoryOptions) int {
	intro := "VPC flow logs across an AWS Organization to one central S3 bucket, run locally: moto simulates the organization and its accounts."
	o.Accounts = []e2e.OrgAccountSpec{{Name: "prod", OU: "workloads"}, {Name: "sandbox", OU: "sandbox"}}
	return withHub(intro, map[string]any{"destination": settings.DestinationS3}, func(ctx context.Context, p *demokit.Printer, h *e2e.OrgHarness) (string, error) {
		res, err := h.OrgS3Story(ctx, p, o)
		if err != nil {
			return "", err
		}
		var objects int
		for _, d := range res.Delivered {
			objects += len(d.Objects)
		}
		return fmt.Sprintf("%d accounts, %d account-regions, %d objects in %s, the roll-up's %d records equal to what was delivered",
			len(res.Accounts), len(res.Digests), objects, res.Bucket.Bucket, res.Rollup.Totals.Records), nil
	})
}

// withHub starts moto and the hub synthesized with cdkContext (steps 1 and
// 2), runs story on it and prints its recap; it returns the exit code.
func withHub(intro string, cdkContext map[string]any, story func(context.Context, *demokit.Printer, *e2e.OrgHarness) (string, error)) int {
	p := &demokit.Printer{Start: time.Now(), Out: os.Stdout, Width: 5}
	sess, err := demokit.Begin("demo-org", ".demo-org")
	if err != nil {
		return sess.Failed(err)
	}
	defer sess.Close()
	fmt.Println(intro)
	steps := map[string]int{"starting moto": 1, "synthesizing the CDK app": 2}
	cfg := e2e.Config{WorkDir: sess.Work, FunctionLog: sess.FunctionLog, Step: p.Steps(steps, nil), Context: cdkContext}
	h, err := e2e.StartOrg(sess.Ctx, cfg, e2e.DefaultOrgOptions)
	if err != nil {
		return sess.Failed(err)
	}
	defer h.Close()
	p.Info("organization %s, root %s; hub account %s (the management account) in %s", h.Org.ID, h.Org.RootID, e2e.Account, testenv.Region)
	for _, line := range h.Stack.Created {
		p.Info("created %s", line)
	}
	recap, err := story(sess.Ctx, p, h)
	if err != nil {
		return sess.Failed(err)
	}
	fmt.Printf("\nDone in %.1fs: %s. Function logs: %s\n", time.Since(p.Start).Seconds(), recap, sess.LogFile)
	return 0
}
