package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// startOrg starts an OrgHarness of its own for one test: the organization's
// id is synthesized into the hub, so two tests cannot share moto.
func startOrg(t *testing.T) *e2e.OrgHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	h, err := e2e.StartOrg(ctx, harnessConfig(t, nil), e2e.DefaultOrgOptions)
	if err != nil {
		t.Fatalf("starting the organization harness: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// TestOrgStory runs the organization mode end to end: the StackSet's
// instances (played: moto's CreateStackSet deploys none) in the two
// targeted OUs' accounts, not in the one whose instance failed; the
// custom resource answering after enqueueing; the sweep through the work
// queue covering exactly the tagged VPCs of the reachable accounts with
// flow logs owned by the hub; an account that joins later covered by the
// next sweep; a spoke's tag event through the hub bus covering its VPC,
// an outside account's event rejected by the bus; the coverage document's
// exact totals; the digests' roll-up counting exactly what was delivered;
// no message left on any queue; and the hub's alarms, evaluated by the
// harness from what the functions emitted, through a sweep denied by the
// run state table (its messages in the dead-letter queue) and the repair
// (checkAlarms).
func TestOrgStory(t *testing.T) {
	h := startOrg(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	res, err := h.OrgStory(ctx, e2e.Quiet{}, e2e.OrgStoryOptions{Records: 400, Seed: 7, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("took %v", res.Took)
	ss := h.StackSet
	wantTargets := []string{h.Org.OUs["workloads"], h.Org.OUs["sandbox"]}
	if !slices.Equal(ss.Targets, wantTargets) || !slices.Equal(ss.Regions, h.Regions) || !ss.AutoDeploy ||
		ss.PermissionMode != "SERVICE_MANAGED" || ss.Params["Owner"] != h.Stack.Names.StackID {
		t.Errorf("the hub's StackSet: targets %v, regions %v, auto-deployment %v, %s, Owner %q; want the OUs %v, regions %v, auto-deployed, SERVICE_MANAGED, Owner = the hub's stack id",
			ss.Targets, ss.Regions, ss.AutoDeploy, ss.PermissionMode, ss.Params["Owner"], wantTargets, h.Regions)
	}
	if len(res.Instances) != 4 || len(res.Late) != 2 {
		t.Errorf("StackSet instances %v then %v: want prod and dev in 2 regions, then %s in 2", res.Instances, res.Late, e2e.LateAccount)
	}
	checkCovered(t, h, res)
	if res.Outsider.Rejected == "" {
		t.Errorf("the bus admitted an outside account's event")
	}
	checkDocuments(t, res)
	checkAlarms(t, res)
	for q, n := range res.DeadLetters {
		if n != 0 {
			t.Errorf("queue %s holds %d messages at the end", q, n)
		}
	}
}

// checkCovered checks, after each sweep and after the events, that the
// hub's flow logs are on exactly the tagged VPCs of the account-regions
// with a spoke.
func checkCovered(t *testing.T, h *e2e.OrgHarness, res *e2e.OrgStoryResult) {
	t.Helper()
	if len(res.FlowLogs) != 3 {
		t.Fatalf("%d flow log snapshots, want 3 (two sweeps, the events)", len(res.FlowLogs))
	}
	dev := res.Accounts["dev"] + "/" + h.Regions[len(h.Regions)-1]
	for i, snap := range res.FlowLogs {
		for key, ar := range res.Regions {
			_, spoke := h.Spokes[key]
			// The instances deployed by the story's repair, after these
			// snapshots, had none then.
			if res.Alarms != nil && slices.Contains(res.Alarms.Repaired, key) {
				spoke = false
			}
			if i == 0 && ar.Name == e2e.LateAccount {
				continue
			}
			want := map[string]bool{}
			if spoke {
				want[ar.VPCs[0].ID], want[ar.VPCs[1].ID] = true, true
				if i == 2 && key == dev {
					want[ar.VPCs[2].ID] = true
				}
			}
			got := map[string]bool{}
			for _, f := range snap[key] {
				if got[f.ResourceID] {
					t.Errorf("snapshot %d, %s: two flow logs of the hub on %s", i, key, f.ResourceID)
				}
				got[f.ResourceID] = true
			}
			if len(got) != len(want) || !subset(want, got) {
				t.Errorf("snapshot %d, %s (%s): the hub's flow logs are on %v, want %v", i, key, ar.Name, got, want)
			}
		}
	}
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// checkDocuments checks the last coverage document's totals and the
// roll-up's.
func checkDocuments(t *testing.T, res *e2e.OrgStoryResult) {
	t.Helper()
	covs := res.Documents[reconcile.CoverageStream]
	if len(covs) == 0 {
		t.Fatalf("no coverage document; streams %v", keys(res.Documents))
	}
	var cov reconcile.CoverageDocument
	if err := json.Unmarshal([]byte(covs[len(covs)-1]), &cov); err != nil {
		t.Fatal(err)
	}
	// The second sweep's: 4 accounts x 2 regions; legacy's 2 unreachable
	// (no spoke role); 3 reachable accounts x 2 regions x 2 tagged VPCs
	// covered by us; out of scope, their untagged VPC and the default VPC
	// moto creates in every account-region.
	tot := cov.Totals
	if len(covs) != 2 || tot.AccountRegions != 8 || tot.Reachable != 6 || tot.Unreachable != 2 || tot.ByClass[org.ClassRoleUnavailable] != 2 ||
		tot.VPCs.CoveredByUs != 12 || tot.VPCs.Uncovered != 0 || tot.VPCs.OutOfScope != 12 {
		t.Errorf("%d coverage documents, the last's totals %+v: want 2, the last with 8 account-regions, 6 reachable, 2 role-unavailable, 12 VPCs covered by us, none uncovered, 12 out of scope", len(covs), tot)
	}
	rolls := res.Documents[digest.RollupStreamName]
	if len(rolls) != 1 {
		t.Fatalf("%d roll-ups, want 1; streams %v", len(rolls), keys(res.Documents))
	}
	var roll digest.Rollup
	if err := json.Unmarshal([]byte(rolls[0]), &roll); err != nil {
		t.Fatal(err)
	}
	var records, skip uint64
	for _, d := range res.Delivered {
		records += d.Expected.Totals.Records
		skip += d.Expected.SkipData.Records
	}
	if roll.AccountRegions.Expected != 8 || roll.AccountRegions.Failed != 2 || len(roll.Unreadable) != 2 ||
		roll.Totals.Records != records || roll.SkipData != skip {
		t.Errorf("roll-up: account-regions %+v, %d unreadable, %d records, %d SKIPDATA; want 8 expected, 2 failed and unreadable, %d records, %d SKIPDATA",
			roll.AccountRegions, len(roll.Unreadable), roll.Totals.Records, roll.SkipData, records, skip)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// harnessConfig skips t without the tools a harness needs and returns the
// Config of a harness of its own, synthesized with cdkContext; -fnlog
// sends the functions' logs to stderr.
func harnessConfig(t *testing.T, cdkContext map[string]any) e2e.Config {
	t.Helper()
	testenv.Need(t, testenv.MotoServer, testenv.RIETool, testenv.Qemu, testenv.Node, testenv.NPX)
	var log io.Writer
	if *fnLog {
		log = os.Stderr
	}
	return e2e.Config{WorkDir: t.TempDir(), FunctionLog: log, Context: cdkContext}
}
