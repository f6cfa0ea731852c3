package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// S3StoryResult is what the S3 story observed.
type S3StoryResult struct {
	Delivery   S3Delivery
	Summarize  digest.Result
	Digest     StoredDigest
	DigestFile string
	Diffs      []string
}

// S3Story is the demo's S3 path (`make demo DEMO_ARGS=-destination=s3`),
// steps 3 to 5 after the harness's two: objects delivered to moto's S3 in
// AWS's layout, the summarizer's bootstrap reading them, and its digest
// checked against the generator's tally. The demo then answers a named
// query over the same objects (step 6, lambda/internal/e2e/demo).
func (h *Harness) S3Story(ctx context.Context, r Reporter, o StoryOptions, layout flowrecordtest.S3Layout) (*S3StoryResult, error) {
	env := envLookup(h.Stack.Names, h.Stack.Summarizer)
	layout.Account, layout.Region = env(settings.EnvSourceAccount), env(settings.EnvSourceRegion)
	res := &S3StoryResult{}
	r.Step(3, "Playing the delivery service for S3: objects of the past hour in AWS's layout")
	r.Info("moto's S3 stands in for the bucket; moto delivers no flow logs, so the harness writes them as the service would")
	opts := flowrecord.Options{TopK: 10, MaxTracked: digest.DefaultMaxTracked, MalformedSamples: digest.DefaultMalformedSamples}
	var err error
	if res.Delivery, err = DeliverS3(ctx, h.S3Client(), layout, o.Seed, o.Records, opts); err != nil {
		return nil, err
	}
	size := 0
	for _, obj := range res.Delivery.Objects {
		size += len(obj.Body)
	}
	r.Info("%d records in %d %s objects (%d bytes) in s3://%s, Hive-compatible %v, per hour %v, one per 5-minute period:",
		o.Records, len(res.Delivery.Objects), layout.FileFormat, size, FlowLogBucket, layout.HiveCompatible, layout.PerHour)
	for i, obj := range res.Delivery.Objects {
		if i == 3 && len(res.Delivery.Objects) > 4 {
			r.Info("  ... %d more", len(res.Delivery.Objects)-4)
			obj = res.Delivery.Objects[len(res.Delivery.Objects)-1]
			r.Info("  %s (%d bytes, %d records)", obj.Key, len(obj.Body), obj.Lines)
			break
		}
		r.Info("  %s (%d bytes, %d records)", obj.Key, len(obj.Body), obj.Lines)
	}
	if err := h.s3Summarize(ctx, r, res, layout); err != nil {
		return nil, err
	}
	return res, nil
}

// s3Summarize is steps 4 and 5: the summarizer's bootstrap in S3 mode,
// and its digest against the generator's tally.
func (h *Harness) s3Summarize(ctx context.Context, r Reporter, res *S3StoryResult, layout flowrecordtest.S3Layout) error {
	r.Step(4, "Running the summarizer's bootstrap in S3 mode")
	env := append(S3Env(layout), settings.EnvSettleLag+"=0s", settings.EnvSchedulePeriod+"=1h")
	r.Info("environment: %s; settle lag 0 (no late delivery here)", strings.Join(S3Env(layout), " "))
	fn, err := h.StartSummarizer(h.Proxy.URL, env...)
	if err != nil {
		return err
	}
	defer fn.Close()
	if err := fn.InvokeInto(ctx, h.Stack.SummaryEvent(), &res.Summarize); err != nil {
		return fmt.Errorf("%w\n%s", err, fn.Log())
	}
	digests, err := ReadDigests(ctx, h.Clients, h.Stack.DigestLogGroup)
	if err != nil {
		return err
	}
	if len(digests) != 1 {
		return fmt.Errorf("%d digests in %s, want 1\n%s", len(digests), h.Stack.DigestLogGroup, fn.Log())
	}
	res.Digest = digests[0]
	res.DigestFile = filepath.Join(h.WorkDir, "digest-s3.json")
	if err := os.WriteFile(res.DigestFile, res.Digest.JSON, 0o644); err != nil {
		return err
	}
	r.Step(5, "The digest")
	d := res.Digest.Digest
	r.Info("window %s to %s UTC: %d objects read (ListObjectsV2 on the hour folders of the window, one GetObject each), %d records",
		d.Window.From.Format("15:04"), d.Window.To.Format("15:04"), d.Read.Objects, d.Totals.Records)
	if res.Diffs = DiffDigest(d, res.Delivery.Expected); len(res.Diffs) > 0 {
		return fmt.Errorf("the digest differs from what was delivered:\n  %s", strings.Join(res.Diffs, "\n  "))
	}
	r.Info("the digest's totals, protocols and top lists equal the generator's own tally exactly (copy: %s); as text:", res.DigestFile)
	r.Info("")
	for _, line := range strings.Split(strings.TrimRight(d.Text(), "\n"), "\n") {
		r.Info("  | %s", line)
	}
	return nil
}
