package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
)

// runS3 is the demo's S3 path (-destination=s3): after the harness's
// steps on the stack synthesized with destination s3, the S3 story, the
// named query's answer and the recap.
func runS3(ctx context.Context, p *printer, h *e2e.Harness, root string, o e2e.StoryOptions) error {
	res, err := h.S3Story(ctx, p, o)
	if err != nil {
		return err
	}
	d := res.Digest.Digest
	if err := showTopTalkersAnswer(ctx, p, h, root, filepath.Join(root, ".demo", "bucket"), d, res.Bucket, res.Layout); err != nil {
		return err
	}
	fmt.Println("\nWhat this showed")
	fmt.Printf("  the stack with destination=s3: its bucket, Glue table, Athena workgroup and named queries; no flow log group, no delivery role\n")
	fmt.Printf("  Create: a flow log on the tagged VPC to the bucket (%s, Hive-compatible, per hour), none on the untagged one\n", res.Layout.FileFormat)
	fmt.Printf("  delivery: %d records as %d Parquet objects in AWS's Hive, per-hour layout, named for the flow log\n", res.Delivery.Records, len(res.Delivery.Objects))
	fmt.Printf("  digest: %d objects read, %d records counted, equal to the generator's own tally; same JSON, text, metrics as the log group path\n",
		d.Read.Objects, d.Totals.Records)
	fmt.Printf("  new interfaces: %d, each described from EC2: the ids in the records that the run state's set of interfaces already seen did not hold (objects have no per-interface streams); a later window does not list them again (TestS3Story)\n",
		d.NewInterfaces.Count)
	fmt.Println("  Athena: the stack's named query TopTalkers, run in DuckDB over a copy of the objects (Athena runs it in AWS), gives the digest's top talkers")
	fmt.Printf("\nDone in %.1fs. Digest JSON: %s\n", time.Since(p.Start).Seconds(), rel(root, res.DigestFile))
	return nil
}
