package e2e_test

import (
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// checkAlarms checks the hub's alarms as the harness's CloudWatch play
// evaluated them (e2e.AlarmPlay: moto stores alarms and datapoints but
// evaluates no alarm and extracts no EMF) from what the real functions
// printed, from Lambda's invocation outcomes and from the queues' depth.
// Each expected state is derived from the story or the template's
// TreatMissingData, not from the play's output:
//   - after the sweeps with legacy's spoke roles missing, the coverage
//     document says 2 unreachable and none uncovered, so
//     UnreachableAccountRegions is ALARM and UncoveredVPCs OK; FailedVPCs
//     follows the document's failed VPCs (none: OK), which proves that the
//     sweep's last account-region wrote its datapoint (without one, the
//     alarm, which ignores missing data, would stay INSUFFICIENT_DATA);
//   - after the digest run, the roll-up's 2 unreadable account-regions
//     make UnreadableAccountRegions ALARM; RecordsLost is ALARM exactly
//     when the delivered records held SKIPDATA; DigestStale is ALARM:
//     every digest was an account-region's first, which has no checkpoint
//     age to report, and the template treats missing data as breaching;
//   - the sweep whose account transactions the table denied leaves its
//     messages in the enabler's dead-letter queue: EnablerDeadLetters ALARM;
//   - after the repair (legacy's spoke deployed, the dead letters
//     redriven, dated a sweep period later), the sweep reaches every
//     account-region: UnreachableAccountRegions and EnablerDeadLetters are
//     OK; the next digest run's roll-up reads every account-region, so
//     UnreadableAccountRegions follows it (OK), and DigestStale is OK: the
//     second run of each account-region reports its checkpoint's age;
//   - no invocation failed as a whole: both Errors alarms are OK throughout.
func checkAlarms(t *testing.T, res *e2e.OrgStoryResult) {
	t.Helper()
	a := res.Alarms
	if a == nil || len(a.Snapshots) != 4 {
		t.Fatalf("alarm snapshots %+v, want 4 (sweeps, digest, denied sweep, repair)", a)
	}
	var skip uint64
	for _, d := range res.Delivered {
		skip += d.Expected.SkipData.Records
	}
	sweeps, digested, denied, repaired := a.Snapshots[0], a.Snapshots[1], a.Snapshots[2], a.Snapshots[3]
	if r := a.Rollup; r == nil || r.AccountRegions.Expected != 8 || r.AccountRegions.Failed != 0 {
		t.Fatalf("the roll-up after the repair: %+v, want 8 account-regions expected, none failed", a.Rollup)
	}
	cov := func(s e2e.AlarmSnapshot) reconcile.CoverageTotals {
		if s.Coverage == nil {
			t.Fatalf("%s: no coverage document", s.What)
		}
		return *s.Coverage
	}
	if c := cov(sweeps); c.Unreachable != 2 || c.VPCs.Uncovered != 0 {
		t.Errorf("%s: coverage %+v, want 2 unreachable and none uncovered", sweeps.What, c)
	}
	if c := cov(repaired); c.Unreachable != 0 || c.Reachable != 8 || c.VPCs.Uncovered != 0 {
		t.Errorf("%s: coverage %+v, want all 8 account-regions reachable, none uncovered", repaired.What, c)
	}
	want := []struct {
		snap   e2e.AlarmSnapshot
		states map[string]string
	}{
		{sweeps, map[string]string{"UnreachableAccountRegions": implied(cov(sweeps).Unreachable > 0), "UncoveredVPCs": implied(cov(sweeps).VPCs.Uncovered > 0),
			"FailedVPCs": implied(cov(sweeps).VPCs.Failed > 0), "EnablerErrors": e2e.AlarmOK, "EnablerDeadLetters": e2e.AlarmOK}},
		{digested, map[string]string{"UnreadableAccountRegions": e2e.AlarmAlarm, "RecordsLost": implied(skip > 0), "DigestStale": e2e.AlarmAlarm,
			"SummarizerErrors": e2e.AlarmOK, "SummarizerDeadLetters": e2e.AlarmOK, "UnreachableAccountRegions": e2e.AlarmAlarm}},
		{denied, map[string]string{"EnablerDeadLetters": e2e.AlarmAlarm, "EnablerErrors": e2e.AlarmOK}},
		{repaired, map[string]string{"UnreachableAccountRegions": e2e.AlarmOK, "UncoveredVPCs": implied(cov(repaired).VPCs.Uncovered > 0),
			"FailedVPCs": implied(cov(repaired).VPCs.Failed > 0), "EnablerDeadLetters": e2e.AlarmOK, "EnablerErrors": e2e.AlarmOK, "UnreadableAccountRegions": implied(a.Rollup.AccountRegions.Failed > 0),
			"DigestStale": e2e.AlarmOK, "SummarizerErrors": e2e.AlarmOK, "SummarizerDeadLetters": e2e.AlarmOK}},
	}
	for _, w := range want {
		for id, state := range w.states {
			if got := w.snap.States[id]; got.State != state {
				t.Errorf("%s: alarm %s is %s (%s), want %s", w.snap.What, id, got.State, got.Reason, state)
			}
		}
	}
	if a.Poisoned == 0 || a.Redriven != a.Poisoned {
		t.Errorf("%d messages in the enabler's dead-letter queue after the denied sweep, %d redriven; want some, all redriven", a.Poisoned, a.Redriven)
	}
	for q, n := range a.DeadLettersAfter {
		if n != 0 {
			t.Errorf("queue %s holds %d messages after the repair", q, n)
		}
	}
	if len(a.Repaired) != 2 {
		t.Errorf("the repair deployed %v, want legacy's 2 instances", a.Repaired)
	}
	// The whole table, for -v and for a failure.
	for _, s := range a.Snapshots {
		t.Logf("%s (at %s), coverage %+v:", s.What, s.At, s.Coverage)
		for _, line := range e2e.FormatAlarms(s.States) {
			t.Logf("  %s", line)
		}
	}
}

// implied is the state a breaching fact implies for a 1-of-1 alarm with a
// datapoint in its range.
func implied(breaching bool) string {
	if breaching {
		return e2e.AlarmAlarm
	}
	return e2e.AlarmOK
}
