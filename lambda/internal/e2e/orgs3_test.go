package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestOrgS3Story runs the organization mode delivering to one central
// bucket, end to end with the real bootstraps: the hub synthesized with
// destination s3 (two member accounts in one OU, one region); the spokes
// deployed from the hub's StackSet, holding no flow log group and no
// delivery role; the enabler's sweep (the custom resource's Create, then
// its work queue) creating in each spoke a flow log owned by the hub on
// exactly the tagged VPC, to the central bucket with the three destination
// options; the summarizer's schedule and work queue digesting each
// account-region's folder of the bucket, each digest equal to the
// generator's own tally of that account-region's objects; and the roll-up
// adding them up exactly.
//
// What the harness plays (e2e/orgs3.go, orgharness.go): the organization
// (moto's Organizations), the StackSet's instances, the central bucket in
// moto's default account (the hub), flow logs to another account's bucket
// (the proxy's EmulateS3FlowLogs: moto refuses them), the delivery service
// (objects in AWS's layout per account-region), Lambda's event source
// mappings and CloudFormation's custom resource request.
func TestOrgS3Story(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	h, err := e2e.StartOrg(ctx, harnessConfig(t, map[string]any{"destination": settings.DestinationS3}),
		e2e.OrgOptions{OUs: []string{"workloads"}, Regions: []string{testenv.Region}})
	if err != nil {
		t.Fatalf("starting the organization harness: %v", err)
	}
	t.Cleanup(h.Close)
	// The story checks each step as it goes (e2e/orgs3story.go) and
	// fails at the first that does not hold.
	res, err := h.OrgS3Story(ctx, e2e.Quiet{}, e2e.OrgS3StoryOptions{Records: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Accounts) != 2 || len(res.Digests) != 2 {
		t.Fatalf("%d accounts, %d digests; want 2 of each", len(res.Accounts), len(res.Digests))
	}
	var records uint64
	for key, d := range res.Digests {
		if want := res.Delivered[key].Expected.Totals; d.Totals.Records != want.Records || d.Totals.Bytes != want.Bytes {
			t.Errorf("%s: digest %d records, %d bytes; delivered %d, %d", key, d.Totals.Records, d.Totals.Bytes, want.Records, want.Bytes)
		}
		records += d.Totals.Records
	}
	if records != 500+800 || res.Rollup.Totals.Records != records {
		t.Errorf("digests add up to %d records, the roll-up to %d; delivered %d", records, res.Rollup.Totals.Records, 500+800)
	}
}
