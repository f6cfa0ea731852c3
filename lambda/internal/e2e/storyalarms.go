package e2e

import (
	"context"
	"time"
)

// storyStep is a step of Harness.Story (the type of its steps list).
type storyStep = struct {
	name string
	run  func(context.Context) error
}

// withAlarmSteps adds the alarms to the single-account story: created in
// moto before the Create, and evaluated after the Create and after the
// digest. The story runs everything now, so nothing is dated back.
func withAlarmSteps(st *story, steps []storyStep) []storyStep {
	out := []storyStep{{"alarms", st.startAlarms}}
	for _, s := range steps {
		out = append(out, s)
		switch s.name {
		case "create":
			out = append(out, storyStep{"alarms-create", func(ctx context.Context) error { return st.snapshot(ctx, "after the Create") }})
		case "summarize":
			out = append(out, storyStep{"alarms-digest", func(ctx context.Context) error { return st.snapshot(ctx, "after the digest") }})
		}
	}
	return out
}

// startAlarms creates the stack's alarms in moto, which stores them but
// never evaluates one.
func (st *story) startAlarms(ctx context.Context) error {
	play, err := NewAlarmPlay(ctx, st.h.Moto.URL, st.h.Stack, st.h.Clients.SQS)
	if err != nil {
		return err
	}
	st.play = play
	st.r.Info("%d alarms created in moto; the harness evaluates them (moto does not)", len(play.Specs))
	return nil
}

// watch has the play publish what fn prints and its invocations.
func (st *story) watch(fn *Function) {
	if st.play != nil {
		st.play.Watch(fn)
	}
}

// snapshot evaluates the alarms and records their states.
func (st *story) snapshot(ctx context.Context, what string) error {
	states, err := st.play.Settle(ctx)
	if err != nil {
		return err
	}
	st.res.Alarms = append(st.res.Alarms, AlarmSnapshot{What: what, At: time.Now(), States: states})
	st.r.Info("alarms %s:", what)
	for _, line := range FormatAlarms(states) {
		st.r.Info("  %s", truncate(line, 220))
	}
	return nil
}
