package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
)

// runS3 is the demo's S3 path (-destination=s3): after the harness's
// steps, the S3 story, the named query's answer and the recap.
func runS3(ctx context.Context, p *printer, h *e2e.Harness, root string, o e2e.StoryOptions) error {
	layout := flowrecordtest.S3Layout{FileFormat: flowrecordtest.FileFormatParquet, HiveCompatible: true, PerHour: true}
	res, err := h.S3Story(ctx, p, o, layout)
	if err != nil {
		return err
	}
	d := res.Digest.Digest
	if err := showTopTalkersAnswer(ctx, p, h, root, filepath.Join(root, ".demo", "bucket"), d, layout); err != nil {
		return err
	}
	fmt.Println("\nWhat this showed")
	fmt.Printf("  delivery: %d records as %d Parquet objects in AWS's Hive, per-hour layout\n", res.Delivery.Records, len(res.Delivery.Objects))
	fmt.Printf("  digest: %d objects read, %d records counted, equal to the generator's own tally; same JSON, text, metrics as the log group path\n",
		d.Read.Objects, d.Totals.Records)
	fmt.Printf("  new interfaces: %d, the ids in the records that the run state's set of interfaces already seen did not hold (objects have no per-interface streams); a later window does not list them again (TestS3Story)\n",
		d.NewInterfaces.Count)
	fmt.Println("  Athena: the stack's named query TopTalkers, run in DuckDB over a copy of the objects (Athena runs it in AWS), gives the digest's top talkers")
	fmt.Printf("\nDone in %.1fs. Digest JSON: %s\n", time.Since(p.Start).Seconds(), rel(root, res.DigestFile))
	return nil
}
