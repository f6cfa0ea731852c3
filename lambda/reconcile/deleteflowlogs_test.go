package reconcile_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const enablerRole = "arn:aws:iam::123456789012:role/VpcFlowLogs-EnablerRole-ABC123"

// TestFlowLogsDeleted proves that a DeleteFlowLogs call recorded by
// CloudTrail puts the deleted flow log back at once, against moto: the
// sweep covers both tagged VPCs, someone deletes one VPC's flow log, and
// the sample event (real CloudTrail shape, testdata/) is handled. Before
// the handler knew DeleteFlowLogs, every case failed with "unknown
// CloudTrail event". It also proves that the enabler ignores its own
// deletions (or each replace would start another run) and a deletion a
// later full run has already seen (so a queued burst costs one run).
func TestFlowLogsDeleted(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		issuer string
		// at is the deletion's time relative to the sweep's start.
		at          time.Duration
		want        string
		wantCovered bool
	}{
		{name: "someone's deletion is repaired by a full run", file: "cloudtrail-delete-flow-logs.json",
			issuer: "arn:aws:iam::123456789012:role/Admin", at: time.Hour,
			want: "tagged=2 covered=2 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0", wantCovered: true},
		{name: "two ids in one call", file: "cloudtrail-delete-flow-logs-two.json",
			issuer: "arn:aws:iam::123456789012:role/Admin", at: time.Hour,
			want: "tagged=2 covered=2 created=1 replaced=0 removed=0 failed=0 pending=0 notFound=0", wantCovered: true},
		{name: "the enabler's own deletion is ignored", file: "cloudtrail-delete-flow-logs.json",
			issuer: enablerRole, at: time.Hour,
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
		{name: "a deletion a later full run saw is skipped", file: "cloudtrail-delete-flow-logs.json",
			issuer: "arn:aws:iam::123456789012:role/Admin", at: -2 * time.Minute,
			want: "tagged=0 covered=0 created=0 replaced=0 removed=0 failed=0 pending=0 notFound=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			victim := f.vpc("flowlogs", "on")
			f.vpc("flowlogs", "on")
			sweepStart := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			f.rec.Now = func() time.Time { return sweepStart }
			env := testEnv()
			env[settings.EnvEnablerRoleARN] = enablerRole
			h := reconcile.NewHandler(f.rec, getenv(env))
			if _, err := h.Handle(f.ctx, event(t, "scheduled.json", nil)); err != nil {
				t.Fatal(err)
			}
			deleted := f.ours(victim)
			if len(deleted) != 1 {
				t.Fatalf("flow logs of ours on %s after the sweep: %v", victim, deleted)
			}
			if _, err := f.direct.DeleteFlowLogs(f.ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: deleted}); err != nil {
				t.Fatal(err)
			}

			got, err := h.Handle(f.ctx, event(t, tt.file, map[string]string{
				"TIME": sweepStart.Add(tt.at).Format(time.RFC3339), "ISSUER_ARN": tt.issuer, "FLOW_LOG_ID": deleted[0],
			}))
			if err != nil {
				t.Fatal(err)
			}
			res := got.(reconcile.Result)
			if res.Trigger != "cloudtrail-DeleteFlowLogs" || counts(res) != tt.want {
				t.Errorf("%s %s\n      want cloudtrail-DeleteFlowLogs %s", res.Trigger, counts(res), tt.want)
			}
			if covered := len(f.ours(victim)) == 1; covered != tt.wantCovered {
				t.Errorf("VPC %s covered again = %v, want %v", victim, covered, tt.wantCovered)
			}
		})
	}
}
