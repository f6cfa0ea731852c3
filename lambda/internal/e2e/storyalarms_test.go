package e2e_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
)

// TestStoryAlarms runs the single-account story with the harness playing
// CloudWatch's alarms (moto stores them and evaluates none) and checks the
// states the story implies: after the Create, UncoveredVPCs and FailedVPCs
// follow the Create's own counts (Tagged, Covered, Failed) and the enabler
// did not fail; after the first digest, RecordsLost is ALARM exactly when
// the delivery held SKIPDATA, and DigestStale is ALARM, because a first run
// has no checkpoint age to report and the template treats missing data as
// breaching (so a new stack's DigestStale is red until its second run).
func TestStoryAlarms(t *testing.T) {
	h := shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	res, err := h.Story(ctx, e2e.Quiet{}, e2e.StoryOptions{Records: 2000, Seed: 5, Alarms: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alarms) != 2 {
		t.Fatalf("%d alarm snapshots, want 2 (after the Create, after the digest)", len(res.Alarms))
	}
	count := func(k string) int {
		n, err := strconv.Atoi(res.Create[0].Body.Data[k].(string))
		if err != nil {
			t.Fatalf("the Create's Data[%s] = %v", k, res.Create[0].Body.Data[k])
		}
		return n
	}
	want := []map[string]string{
		{"UncoveredVPCs": implied(count("Tagged") > count("Covered")), "FailedVPCs": implied(count("Failed") > 0), "EnablerErrors": e2e.AlarmOK},
		{"RecordsLost": implied(res.Delivery.Expected.SkipData.Records > 0), "DigestStale": e2e.AlarmAlarm, "SummarizerErrors": e2e.AlarmOK,
			"UncoveredVPCs": implied(count("Tagged") > count("Covered"))},
	}
	for i, w := range want {
		s := res.Alarms[i]
		for id, state := range w {
			if got := s.States[id]; got.State != state {
				t.Errorf("%s: alarm %s is %s (%s), want %s", s.What, id, got.State, got.Reason, state)
			}
		}
		// The whole table, for -v and for a failure.
		for _, line := range e2e.FormatAlarms(s.States) {
			t.Logf("%s: %s", s.What, line)
		}
	}
}
