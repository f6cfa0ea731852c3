package e2e_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
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
