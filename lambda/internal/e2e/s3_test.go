package e2e_test

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

var s3Runs = flag.Int("s3-runs", 5, "seeded runs of TestS3Faults")

// TestS3Story runs the summarizer's real bootstrap in S3 mode over objects
// in moto's S3 (written in AWS's layout by the harness: moto delivers no
// flow logs), for both file formats: three staged runs whose windows cut
// the hour, and their digests add up exactly to the generator's tally,
// every object read once, each interface listed as new by exactly one
// digest (the first) and by none after it.
func TestS3Story(t *testing.T) {
	h := shared(t)
	for _, layout := range []flowrecordtest.S3Layout{
		{FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true},
		{FileFormat: flowrecordtest.FileFormatPlainText, PerHour: true, Prefix: "central"},
	} {
		t.Run(layout.FileFormat, func(t *testing.T) {
			bench, err := h.NewS3Bench(layout)
			if err != nil {
				t.Fatal(err)
			}
			defer bench.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			run, err := bench.RunS3(ctx, 1, 0, 3000)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(run)
			for _, p := range run.Problems {
				t.Error(p)
			}
			if run.FailedRuns != 0 || run.Windows != 3 {
				t.Errorf("%d failed runs, %d windows; want none failed and three windows", run.FailedRuns, run.Windows)
			}
		})
	}
}

// TestS3Faults is TestS3Story's Parquet run with 30% of the summarizer's
// calls faulted, S3 reads included (SlowDown, InternalError, dropped
// connections, bodies cut short), and one run made to fail outright: the
// failed run is redone, and the digests still add up exactly, each object
// read once, nothing counted twice, no interface listed as new twice or
// never.
func TestS3Faults(t *testing.T) {
	h := shared(t)
	bench, err := h.NewS3Bench(flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true})
	if err != nil {
		t.Fatal(err)
	}
	defer bench.Close()
	// The second stage's first run fails outright, whatever the seed:
	// its window is then read by a run that found an earlier run's intent.
	bench.FailStage = 2
	faulted := 0
	for seed := uint64(1); seed <= uint64(*s3Runs); seed++ {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		run, err := bench.RunS3(ctx, seed, *faultRate, *faultRecords)
		cancel()
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		t.Log(run)
		for _, p := range run.Problems {
			t.Errorf("seed %d: %s", seed, p)
		}
		faulted += run.S3Stats.Faults()
		if run.FailedRuns == 0 {
			t.Errorf("seed %d: no run failed", seed)
		}
	}
	if faulted == 0 {
		t.Error("no S3 read was faulted: the hook did not see them")
	}
}

// TestS3StackStory runs the S3 story `make demo DEMO_ARGS=-destination=s3`
// prints, on the stack synthesized with destination s3, and asserts each
// step (e2e/s3story.go checks them as it goes): the template holds the
// bucket and no flow log group or delivery role; the enabler's Create puts
// one flow log on the tagged VPC, to the stack's bucket with its three
// destination options; the summarizer, with the template's environment
// only, digests the objects delivered for that VPC's interfaces exactly as
// the generator tallied them, each interface new and described from EC2.
func TestS3StackStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	h, err := e2e.Start(ctx, harnessConfig(t, map[string]any{"destination": settings.DestinationS3}))
	if err != nil {
		t.Fatalf("starting the harness: %v", err)
	}
	t.Cleanup(h.Close)
	if h.Stack.FlowLogBucket == "" || h.Stack.FlowLogGroup != "" || h.Stack.DeliveryRoleARN != "" {
		t.Fatalf("the S3 stack: bucket %q, flow log group %q, delivery role %q; want a bucket only",
			h.Stack.FlowLogBucket, h.Stack.FlowLogGroup, h.Stack.DeliveryRoleARN)
	}
	res, err := h.S3Story(ctx, e2e.Quiet{}, e2e.StoryOptions{Records: 2000, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Digest.Digest
	if d.NewInterfaces.Count != 4 {
		t.Errorf("%d new interfaces, want the tagged VPC's 4", d.NewInterfaces.Count)
	}
	if d.Totals.Records != 2000 || d.Read.Objects != uint64(len(res.Delivery.Objects)) || d.Read.BadObjects != 0 {
		t.Errorf("digest of %d records from %d objects (%d bad); want 2000 from %d", d.Totals.Records, d.Read.Objects, d.Read.BadObjects, len(res.Delivery.Objects))
	}
	for _, o := range res.Delivery.Objects {
		if !strings.Contains(o.Key, "_"+aws.ToString(res.FlowLog.FlowLogId)+"_") {
			t.Errorf("object %s is not named for the flow log %s", o.Key, aws.ToString(res.FlowLog.FlowLogId))
		}
	}
}
