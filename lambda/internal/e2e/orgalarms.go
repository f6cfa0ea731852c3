package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// AlarmSnapshot is the alarms' states at one point of the organization
// story, with the last coverage document's totals then.
type AlarmSnapshot struct {
	What string
	// At is the time the alarms were evaluated at (the story's clock).
	At     time.Time
	States map[string]AlarmState
	// Coverage is the last coverage document's totals, nil before the
	// first.
	Coverage *reconcile.CoverageTotals
}

// OrgAlarmsResult is what the alarms part of the organization story
// observed.
type OrgAlarmsResult struct {
	Snapshots []AlarmSnapshot
	// Poisoned counts the messages the denied sweep left in the enabler's
	// dead-letter queue, Redriven those moved back after the repair, and
	// DeadLettersAfter what each dead-letter queue holds at the end.
	Poisoned, Redriven int
	DeadLettersAfter   map[string]int
	// Repaired are the StackSet instances deployed for the account whose
	// instance had failed.
	Repaired []string
	// Published counts the datapoints the play published.
	Published int
	// Rollup is the roll-up of the digest run after the repair.
	Rollup *digest.Rollup
}

// alarmsPast is how far before now the story's first part is dated: one
// sweep alarm period and an hour, so that its datapoints are out of every
// alarm's evaluation range when the repaired sweep runs, now, as they would
// be when that sweep is the next scheduled one.
func alarmsPast(specs []AlarmSpec) (time.Duration, error) {
	for _, s := range specs {
		if s.ID == "UnreachableAccountRegions" {
			return s.Period*time.Duration(s.EvaluationPeriods) + time.Hour, nil
		}
	}
	return 0, errors.New("the hub template has no UnreachableAccountRegions alarm")
}

// startAlarms creates the hub's alarms in moto and watches every process of
// both functions.
func (st *orgStory) startAlarms(ctx context.Context) error {
	oh := st.oh
	st.title("Creating the hub's alarms in moto, which stores them but never evaluates one: the harness plays CloudWatch")
	play, err := NewAlarmPlay(ctx, oh.Moto.URL, oh.Stack, oh.Clients.SQS)
	if err != nil {
		return err
	}
	past, err := alarmsPast(play.Specs)
	if err != nil {
		return err
	}
	play.Offset = -past
	play.Watch(append(append([]*Function{}, st.enablers...), st.summarizers...)...)
	st.play = play
	for _, s := range play.Specs {
		st.r.Info("%-26s %s/%s %s over %v, %s %g, %d of %d, missing data: %s", s.ID, s.Namespace, s.MetricName, s.Statistic, s.Period,
			s.Comparison, s.Threshold, s.DatapointsToAlarm, s.EvaluationPeriods, s.TreatMissingData)
	}
	st.r.Info("the story until the repair is dated %v ago (the sweep alarm's range and an hour), the repair now", past)
	return nil
}

// snapshot publishes what the functions printed, evaluates the alarms, and
// records their states with the last coverage document's totals.
func (st *orgStory) snapshot(ctx context.Context, what string) error {
	states, err := st.play.Settle(ctx)
	if err != nil {
		return err
	}
	snap := AlarmSnapshot{What: what, At: time.Now().Add(st.play.Offset), States: states}
	docs, err := ReadGroup(ctx, st.oh.Clients, st.oh.Stack.DigestLogGroup)
	if err != nil {
		return err
	}
	if covs := docs[reconcile.CoverageStream]; len(covs) > 0 {
		var d reconcile.CoverageDocument
		if err := json.Unmarshal([]byte(covs[len(covs)-1]), &d); err != nil {
			return fmt.Errorf("decoding the coverage document: %w", err)
		}
		snap.Coverage = &d.Totals
	}
	st.alarms().Snapshots = append(st.alarms().Snapshots, snap)
	st.alarms().Published = st.play.Published
	st.r.Info("alarms %s (evaluated at %s):", what, snap.At.Format(time.RFC3339))
	for _, line := range FormatAlarms(states) {
		st.r.Info("  %s", truncate(line, 220))
	}
	return nil
}

func (st *orgStory) alarms() *OrgAlarmsResult {
	if st.res.Alarms == nil {
		st.res.Alarms = &OrgAlarmsResult{DeadLettersAfter: map[string]int{}}
	}
	return st.res.Alarms
}

// alarmsAfterSweeps is the snapshot after the sweeps with legacy's spoke
// roles missing.
func (st *orgStory) alarmsAfterSweeps(ctx context.Context) error {
	st.title("The alarms after the sweeps, with one account's spoke roles missing")
	return st.snapshot(ctx, "after the sweeps, legacy's spoke missing")
}

// alarmsAfterDigest is the snapshot after the digest run and its roll-up.
func (st *orgStory) alarmsAfterDigest(ctx context.Context) error {
	st.title("The alarms after the digest run")
	return st.snapshot(ctx, "after the digest run")
}

// poison runs a sweep while the run state table refuses the account
// transactions (AccessDeniedException, as a changed key policy or SCP
// would): every account's message fails on each receive, and after the
// queue's maxReceiveCount SQS moves it to the dead-letter queue.
func (st *orgStory) poison(ctx context.Context) error {
	oh := st.oh
	st.title("A sweep while the run state table denies TransactWriteItems: its messages land in the enabler's dead-letter queue")
	var armed atomic.Bool
	armed.Store(true)
	oh.Proxy.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if !armed.Load() || c.Action != "TransactWriteItems" {
			return false
		}
		motoproxy.WriteJSONError(w, http.StatusBadRequest, "AccessDeniedException", "injected by the story: the run state table denies TransactWriteItems")
		return true
	})
	defer armed.Store(false)
	if _, err := st.enablers[0].Invoke(ctx, oh.Stack.SweepEvent()); err != nil {
		return fmt.Errorf("the scheduled sweep: %w\n%s", err, st.enablers[0].Log())
	}
	if err := st.drainEvents(ctx); err != nil {
		return err
	}
	dlq, err := st.deadLetterURL()
	if err != nil {
		return err
	}
	if st.alarms().Poisoned, err = QueueDepth(ctx, oh.Clients.SQS, dlq); err != nil {
		return err
	}
	st.r.Info("messages in the enabler's dead-letter queue: %d", st.alarms().Poisoned)
	return st.snapshot(ctx, "after the denied sweep")
}

// deadLetterURL is the enabler's dead-letter queue: the one its work
// queue's redrive policy names.
func (st *orgStory) deadLetterURL() (string, error) {
	s := st.oh.Stack
	m, err := ReadMapping(s, s.Enabler)
	if err != nil {
		return "", err
	}
	for _, q := range s.Template.OfType("AWS::SQS::Queue") {
		if s.Names.Attr[q.LogicalID]["QueueUrl"] != m.QueueURL {
			continue
		}
		p, err := s.Names.Resolve(q.Properties)
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", q.Path(), err)
		}
		rp, _ := p.(map[string]any)["RedrivePolicy"].(map[string]any)
		for id, a := range s.Names.Attr {
			if a["Arn"] == str(rp["deadLetterTargetArn"]) && s.Template.Resources[id].Type == "AWS::SQS::Queue" {
				return a["QueueUrl"], nil
			}
		}
	}
	return "", fmt.Errorf("the enabler's work queue %s has no dead-letter queue in the template", m.QueueURL)
}

// repair plays the fix, now: the failed StackSet instances are deployed
// (the operator retried them), the table allows the transactions again,
// and the dead letters are redriven to the work queue, where the sweep they
// belong to finishes with every account reachable.
func (st *orgStory) repair(ctx context.Context) error {
	oh := st.oh
	st.title("The repair, a sweep period later: legacy's spoke deployed, the dead letters redriven, the sweep finishing, the next digest run")
	st.play.Offset = 0
	legacy := st.res.Accounts["legacy"]
	delete(oh.Failing, legacy)
	var err error
	res := st.alarms()
	if res.Repaired, err = oh.PlayStackSet(ctx); err != nil {
		return err
	}
	dlq, err := st.deadLetterURL()
	if err != nil {
		return err
	}
	m, err := ReadMapping(oh.Stack, oh.Stack.Enabler)
	if err != nil {
		return err
	}
	if res.Redriven, err = Redrive(ctx, oh.Clients.SQS, dlq, m.QueueURL); err != nil {
		return err
	}
	st.r.Info("StackSet instances deployed for legacy (%s): %v; %d dead letters redriven", legacy, res.Repaired, res.Redriven)
	if err := st.drainEvents(ctx); err != nil {
		return err
	}
	if err := st.nextDigest(ctx); err != nil {
		return err
	}
	if res.Rollup, err = st.lastRollup(ctx); err != nil {
		return err
	}
	for _, q := range oh.Stack.Template.OfType("AWS::SQS::Queue") {
		url := oh.Stack.Names.Attr[q.LogicalID]["QueueUrl"]
		if res.DeadLettersAfter[q.Path()], err = QueueDepth(ctx, oh.Clients.SQS, url); err != nil {
			return err
		}
	}
	return st.snapshot(ctx, "after the repair and the sweep")
}

// nextDigest runs the summarizer's next scheduled run through its work
// queue, now that legacy's reader role exists.
func (st *orgStory) nextDigest(ctx context.Context) error {
	oh := st.oh
	if _, err := st.summarizers[0].Invoke(ctx, oh.Stack.SummaryEvent()); err != nil {
		return fmt.Errorf("the next scheduled digest run: %w\n%s", err, st.summarizers[0].Log())
	}
	p, err := oh.Pump(oh.Stack.Summarizer, invokers(st.summarizers))
	if err != nil {
		return err
	}
	s, err := p.Drain(ctx)
	st.r.Info("the next digest run: %d invocations, %d messages", s.Invocations, s.Received)
	return err
}

// lastRollup reads the last organization roll-up in the digest group.
func (st *orgStory) lastRollup(ctx context.Context) (*digest.Rollup, error) {
	docs, err := ReadGroup(ctx, st.oh.Clients, st.oh.Stack.DigestLogGroup)
	if err != nil {
		return nil, err
	}
	rolls := docs[digest.RollupStreamName]
	if len(rolls) == 0 {
		return nil, fmt.Errorf("no roll-up in stream %s", digest.RollupStreamName)
	}
	var r digest.Rollup
	if err := json.Unmarshal([]byte(rolls[len(rolls)-1]), &r); err != nil {
		return nil, fmt.Errorf("decoding the roll-up: %w", err)
	}
	return &r, nil
}
