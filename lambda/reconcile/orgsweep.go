package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// sqsBatchSize is SendMessageBatch's maximum of entries a call.
const sqsBatchSize = 10

// SweepSummary is what enqueueing a sweep did.
type SweepSummary struct {
	Trigger        string `json:"trigger"`
	SweepID        string `json:"sweepId,omitempty"`
	Accounts       int    `json:"accounts"`
	AccountRegions int    `json:"accountRegions"`
	Inactive       int    `json:"inactiveAccounts"`
	Messages       int    `json:"messages"`
	Stopped        string `json:"stopped,omitempty"`
}

// orgSweep starts a sweep of the organization: it lists the ACTIVE
// accounts, records the sweep (how many account-regions it waits for) and
// sends one message per account naming every region, ten a call. It does
// not wait for them: the queue's function does the work.
func (h *Handler) orgSweep(ctx context.Context, trigger string) (SweepSummary, error) {
	work, cancel := h.workContext(ctx)
	defer cancel()
	sum := SweepSummary{Trigger: trigger}
	if trigger == "schedule" {
		stop, err := h.stackGoing(work, trigger)
		if err != nil {
			return sum, fmt.Errorf("sweep: %w", err)
		}
		if sum.Stopped = stop; stop != "" {
			return sum, nil
		}
	}
	o := h.org
	d, err := o.discover(work)
	if err != nil {
		return sum, fmt.Errorf("sweep: %w", err)
	}
	sum.Accounts, sum.Inactive = len(d.Accounts), d.Inactive
	sum.AccountRegions = len(d.Accounts) * len(o.Settings.Regions)
	if sum.AccountRegions == 0 {
		slog.WarnContext(ctx, "sweep: no ACTIVE account under the targets", "targets", o.Settings.Targets, "inactive", d.Inactive)
		return sum, nil
	}
	if sum.SweepID, err = runstate.NewSweepID(o.now()); err != nil {
		return sum, fmt.Errorf("sweep: %w", err)
	}
	if err := o.Sweeps.Create(work, sum.SweepID, sum.AccountRegions); err != nil {
		return sum, fmt.Errorf("sweep: %w", err)
	}
	bodies := make([]string, 0, len(d.Accounts))
	for _, a := range d.Accounts {
		b, err := json.Marshal(workMessage{Kind: kindSweep, SweepID: sum.SweepID, Account: a.ID, Regions: o.Settings.Regions, Trigger: "sweep"})
		if err != nil {
			return sum, fmt.Errorf("sweep: encoding the message of %s: %w", a.ID, err)
		}
		bodies = append(bodies, string(b))
	}
	sum.Messages, err = o.send(work, bodies)
	slog.InfoContext(ctx, "sweep enqueued", "sweepId", sum.SweepID, "accounts", sum.Accounts, "accountRegions", sum.AccountRegions,
		"inactiveAccounts", sum.Inactive, "messages", sum.Messages, "organizationCalls", d.Calls)
	if err != nil {
		return sum, fmt.Errorf("sweep %s: %w", sum.SweepID, err)
	}
	return sum, nil
}

// send sends bodies to the work queue, ten a call; entries a call reports
// failed are sent once more before it gives up, naming them.
func (o *OrgMode) send(ctx context.Context, bodies []string) (int, error) {
	sent := 0
	for chunk := range slices.Chunk(bodies, sqsBatchSize) {
		pending := chunk
		for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
			entries := make([]sqstypes.SendMessageBatchRequestEntry, len(pending))
			for i, b := range pending {
				entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)}
			}
			out, err := o.Queue.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(o.Settings.WorkQueueURL), Entries: entries})
			if err != nil {
				return sent, fmt.Errorf("sending %d work messages: %w", len(pending), err)
			}
			sent += len(out.Successful)
			var again []string
			var reasons []string
			for _, f := range out.Failed {
				i, err := strconv.Atoi(aws.ToString(f.Id))
				if err != nil || i < 0 || i >= len(pending) {
					continue
				}
				again = append(again, pending[i])
				reasons = append(reasons, aws.ToString(f.Code)+": "+aws.ToString(f.Message))
			}
			pending = again
			if len(pending) > 0 && attempt == 1 {
				return sent, fmt.Errorf("%d work messages not sent: %s", len(pending), strings.Join(reasons, "; "))
			}
		}
	}
	return sent, nil
}

// orgEvent handles an event a spoke forwarded: the account and region
// fields name the spoke (EventBridge keeps them across buses). An account
// that is not an ACTIVE account under the targets, or a region not
// covered, is ignored: the bus admits the whole organization. The event's
// VPCs are reconciled at once, from their current tags (an event's copy is
// not trusted, so duplicates and events out of order change nothing).
func (h *Handler) orgEvent(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding the event: %w", err)
	}
	m, skip, err := h.orgEventMessage(ctx, ev)
	if err != nil || skip != "" {
		if skip != "" {
			slog.InfoContext(ctx, "ignoring a spoke event", "account", clipText(ev.AccountID), "region", clipText(ev.Region), "reason", skip)
		}
		return Result{Trigger: "org-event", Stopped: skip}, err
	}
	work, cancel := h.workContext(ctx)
	defer cancel()
	if stop, err := h.stackGoing(work, "org-event"); err != nil || stop != "" {
		return Result{Trigger: "org-event", Stopped: stop}, err
	}
	if _, ok, err := h.org.member(work, m.Account); err != nil || !ok {
		if err == nil {
			slog.WarnContext(ctx, "ignoring an event from an account that is not an ACTIVE account under the targets", "account", m.Account)
			return Result{Trigger: "org-event", Stopped: "account " + m.Account + " is not covered"}, nil
		}
		return nil, fmt.Errorf("checking that account %s is covered: %w", m.Account, err)
	}
	if err := h.orgMessage(work, m, 1); err != nil {
		return nil, fmt.Errorf("spoke event of %s/%s: %w", m.Account, m.Region, err)
	}
	return Result{Trigger: "org-" + m.Trigger}, nil
}

// orgEventMessage turns a spoke's event into the work it asks for, or says
// why it asks for none.
func (h *Handler) orgEventMessage(ctx context.Context, ev events.CloudWatchEvent) (m workMessage, skip string, err error) {
	m = workMessage{Kind: kindEvent, Account: ev.AccountID, Region: ev.Region}
	if reason := invalidSpoke(ev.AccountID, ev.Region); reason != "" {
		return m, reason, nil
	}
	if !h.org.coversRegion(ev.Region) {
		return m, "region " + ev.Region + " is not covered", nil
	}
	m.Regions = []string{ev.Region}
	var ids []string
	switch ev.Source {
	case sourceTag:
		m.Trigger, ids = "tag", vpcIDsFromARNs(ev.Resources)
	default:
		var d cloudTrailDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return m, "", fmt.Errorf("decoding the CloudTrail event's detail: %w", err)
		}
		switch {
		case d.ErrorCode != "":
			return m, "a failed " + clipText(d.EventName) + " call", nil
		case d.EventName == "CreateVpc":
			m.Trigger, ids = "create", []string{d.ResponseElements.VPC.VPCID}
		case d.EventName == "CreateTags" || d.EventName == "DeleteTags":
			m.Trigger = "tag"
			for _, it := range d.RequestParameters.ResourcesSet.Items {
				ids = append(ids, it.ResourceID)
			}
		case d.EventName == "DeleteFlowLogs":
			own := fmt.Sprintf("arn:%s:iam::%s:role/%s", h.org.Partition, ev.AccountID, settings.SpokeEnablerRoleName)
			if d.UserIdentity.SessionContext.SessionIssuer.ARN == own {
				return m, "the enabler's own DeleteFlowLogs", nil
			}
			m.Trigger = "delete-flow-logs"
			return m, "", nil
		default:
			return m, "CloudTrail event " + clipText(d.EventName) + " is not one the enabler acts on", nil
		}
	}
	for _, id := range ids {
		if vpcIDPattern.MatchString(id) {
			m.VPCIDs = append(m.VPCIDs, id)
		}
	}
	m.VPCIDs = sortedUnique(m.VPCIDs)
	if len(m.VPCIDs) == 0 {
		return m, "the event names no VPC", nil
	}
	if len(m.VPCIDs) > maxMessageVPCIDs {
		slog.InfoContext(ctx, "the event names more VPCs than a message takes: reconciling the account-region", "vpcs", len(m.VPCIDs))
		m.VPCIDs = nil
	}
	return m, "", nil
}

// invalidSpoke says why an event's account and region are not a spoke's,
// "" when they have the shape of one. Such an event is ignored, not an
// error of the run.
func invalidSpoke(account, region string) string {
	if err := errors.Join(settings.ValidateAccountID(account), settings.ValidateRegion(region)); err != nil {
		return "the event names no valid account and region: " + err.Error()
	}
	return ""
}
