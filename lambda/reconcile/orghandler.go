package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// maxTransientReceives is how many times a sweep message is received before
// an account-region that keeps failing for a reason that may pass
// (throttling, anything unclassified) is recorded as unreachable, so that
// the sweep finishes and its coverage document says why. The queue's
// redrive policy must allow more receives than this.
const maxTransientReceives = 3

// handleOrg dispatches every invocation of the organization mode but
// CloudFormation's requests (CustomResource branches for those).
func (h *Handler) handleOrg(ctx context.Context, raw json.RawMessage, env envelope) (any, error) {
	if h.envErr != nil {
		return nil, fmt.Errorf("organization mode: %w", h.envErr)
	}
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	_ = json.Unmarshal(raw, &probe)
	switch {
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs":
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding the SQS event: %w", err)
		}
		return h.orgMessages(ctx, ev)
	case env.DetailType == detailScheduled:
		return h.orgSweep(ctx, "schedule")
	case (env.Source == sourceTag && env.DetailType == detailTagChange) || (env.Source == sourceEC2 && env.DetailType == detailCloudTrail):
		return h.orgEvent(ctx, raw)
	}
	slog.ErrorContext(ctx, "unknown event", "source", env.Source, "detailType", env.DetailType)
	return nil, fmt.Errorf("unknown event: source %q, detail-type %q", clipText(env.Source), clipText(env.DetailType))
}

// orgMessages handles a batch of work messages, reporting the ones to
// retry as batch item failures. A message that is not valid is logged with
// the reason and dropped: delivering it again would not make it valid.
func (h *Handler) orgMessages(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	work, cancel := h.workContext(ctx)
	defer cancel()
	stop, err := h.stackGoing(work, "sqs")
	if err != nil {
		return resp, fmt.Errorf("work messages: %w", err)
	}
	for _, rec := range ev.Records {
		if stop != "" {
			slog.WarnContext(ctx, "dropping a work message: the stack is going", "messageId", rec.MessageId, "reason", stop)
			continue
		}
		m, err := parseMessage(rec.Body, h.org.coversRegion)
		if err != nil {
			slog.ErrorContext(ctx, "dropping a work message that is not valid", "messageId", rec.MessageId, "error", err.Error())
			continue
		}
		receives, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
		if err := h.orgMessage(work, m, max(receives, 1)); err != nil {
			after := h.retrySoon(ctx, rec, err)
			slog.WarnContext(ctx, "work message to retry", "messageId", rec.MessageId, "account", m.Account, "error", err.Error(),
				"retryAfterSeconds", int(after/time.Second), "transient", after > 0)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// orgMessage works on one message: each of its account-regions on its
// own, at most RegionConcurrency at once.
func (h *Handler) orgMessage(ctx context.Context, m workMessage, receives int) error {
	o := h.org
	if m.Kind == kindEvent {
		t := Target{Trigger: "org-" + m.Trigger, VPCIDs: m.VPCIDs}
		if m.Trigger == "delete-flow-logs" || len(m.VPCIDs) == 0 {
			t.VPCIDs = nil
		}
		outs := org.ForEach(ctx, m.accountRegions(), o.regionConcurrency(), func(ctx context.Context, ar org.AccountRegion) error {
			_, err := o.spokeRun(ctx, h.env, ar, org.SessionEnablerEvent, t)
			return err
		})
		err := logOutcomes(ctx, "event", outs)
		if err != nil && transient(outs) {
			return transientError{err}
		}
		return err
	}
	results := make([]Result, len(m.Regions))
	items := m.accountRegions()
	index := map[org.AccountRegion]int{}
	for i, ar := range items {
		index[ar] = i
	}
	outs := org.ForEach(ctx, items, o.regionConcurrency(), func(ctx context.Context, ar org.AccountRegion) error {
		res, err := o.spokeRun(ctx, h.env, ar, org.SessionEnablerSweep, Target{Trigger: "org-sweep", Inventory: true})
		results[index[ar]] = res
		return err
	})
	var retry []string
	var done []org.Outcome
	var doneResults []Result
	for i, out := range outs {
		if out.Class.MayPass() && receives < maxTransientReceives {
			retry = append(retry, out.String()+": "+out.Reason)
			continue
		}
		done, doneResults = append(done, out), append(doneResults, results[i])
	}
	if err := h.finishAccount(ctx, m.SweepID, m.Account, done, doneResults); err != nil {
		retry = append(retry, m.Account+": "+err.Error())
	}
	_ = logOutcomes(ctx, "sweep", outs)
	if len(retry) > 0 {
		// Only failures that may pass are retried: the others are
		// recorded in the sweep as they are.
		return transientError{fmt.Errorf("%d account-regions to retry: %s", len(retry), strings.Join(retry, "; "))}
	}
	return nil
}

func (o *OrgMode) regionConcurrency() int {
	if o.RegionConcurrency > 0 {
		return o.RegionConcurrency
	}
	return DefaultRegionConcurrency
}

// logOutcomes logs one line per account-region and returns an error naming
// the ones that failed.
func logOutcomes(ctx context.Context, what string, outs []org.Outcome) error {
	var failed []string
	for _, o := range outs {
		if o.Class == org.ClassOK {
			slog.InfoContext(ctx, "account-region", "what", what, "account", o.Account, "region", o.Region, "class", string(o.Class), "durationMs", o.Duration.Milliseconds())
			continue
		}
		slog.WarnContext(ctx, "account-region", "what", what, "account", o.Account, "region", o.Region, "class", string(o.Class), "code", o.Code, "reason", o.Reason)
		failed = append(failed, fmt.Sprintf("%s (%s: %s)", o.AccountRegion, o.Class, o.Reason))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d account-regions failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}
