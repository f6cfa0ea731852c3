package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/events"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Event kinds the handler dispatches on.
const (
	sourceTag             = "aws.tag"
	sourceEC2             = "aws.ec2"
	detailTagChange       = "Tag Change on Resource"
	detailCloudTrail      = "AWS API Call via CloudTrail"
	detailScheduled       = "Scheduled Event"
	vpcARNResourceSegment = ":vpc/"
)

// Handler is the enabler's one entry point: CloudFormation custom resource
// requests, tag change and CloudTrail events, and the scheduled sweep.
type Handler struct {
	rec    *Reconciler
	env    settings.Enabler
	envErr error
	// Stacks answers CheckStack before every event and sweep run (never
	// for CloudFormation's own requests: the Delete arrives while the
	// stack is being deleted). lambda/enabler always sets it; nil skips
	// the check, for tests of other paths.
	Stacks StackAPI
	// Margin is how long before the invocation's deadline the work stops,
	// so that the answer to CloudFormation, the summary and the metrics
	// still go out. Nil means DefaultMargin.
	Margin func(remaining time.Duration) time.Duration

	// org is the organization mode (EnableOrganization); nil in the
	// single-account mode.
	org *OrgMode

	mu sync.Mutex
	// fullRunStarted is when the latest full run that reached every VPC
	// began: a deletion made well before it is already repaired.
	fullRunStarted time.Time
}

// NewHandler reads the configuration from the environment once. A bad
// environment is logged and fails the event-driven runs; CloudFormation
// requests carry their own configuration and still get an answer.
func NewHandler(r *Reconciler, getenv func(string) string) *Handler {
	cfg, err := settings.EnablerFromEnv(getenv)
	h := &Handler{rec: r, env: cfg, envErr: err}
	if err != nil {
		slog.Error("enabler environment is not valid: tag, CloudTrail and scheduled events will fail", "error", err.Error())
		// What CloudFormation requests take from the environment.
		h.env = settings.EnablerBaseFromEnv(getenv)
	}
	compliance, cerr := settings.ComplianceModeFromEnv(getenv)
	if cerr != nil {
		slog.Error("enabler environment is not valid", "error", cerr.Error())
		h.envErr = errors.Join(h.envErr, cerr)
	}
	h.env.ComplianceMode = compliance
	return h
}

// DefaultMargin stops work a tenth of the remaining time before the
// deadline, at least 2 s and at most 20 s before it.
func DefaultMargin(remaining time.Duration) time.Duration {
	return min(max(remaining/10, 2*time.Second), 20*time.Second)
}

// workContext ends a margin before ctx's deadline.
func (h *Handler) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := DefaultMargin
	if h.Margin != nil {
		margin = h.Margin
	}
	return context.WithDeadline(ctx, deadline.Add(-margin(time.Until(deadline))))
}

// envelope holds the fields that tell the kinds of events apart.
type envelope struct {
	RequestType string `json:"RequestType"`
	ResponseURL string `json:"ResponseURL"`
	Source      string `json:"source"`
	DetailType  string `json:"detail-type"`
}

// cloudTrailDetail is the part of a CloudTrail event's detail the enabler
// reads.
type cloudTrailDetail struct {
	EventName    string `json:"eventName"`
	ErrorCode    string `json:"errorCode"`
	UserIdentity struct {
		SessionContext struct {
			SessionIssuer struct {
				ARN string `json:"arn"`
			} `json:"sessionIssuer"`
		} `json:"sessionContext"`
	} `json:"userIdentity"`
	RequestParameters struct {
		ResourcesSet struct {
			Items []struct {
				ResourceID string `json:"resourceId"`
			} `json:"items"`
		} `json:"resourcesSet"`
		// DeleteFlowLogs is logged in the EC2 query API's own shape:
		// FlowLogId is {"content": id, "tag": 1} for one id and an
		// array of those for several.
		DeleteFlowLogsRequest struct {
			FlowLogID json.RawMessage `json:"FlowLogId"`
		} `json:"DeleteFlowLogsRequest"`
	} `json:"requestParameters"`
	ResponseElements struct {
		VPC struct {
			VPCID string `json:"vpcId"`
		} `json:"vpc"`
	} `json:"responseElements"`
}

// Handle dispatches one invocation. For CloudFormation it returns what
// cfn.LambdaWrap returns, after answering the ResponseURL; for events, the
// run's Result.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		slog.ErrorContext(ctx, "event is not a JSON object", "error", err.Error())
		return nil, fmt.Errorf("decoding the event: %w", err)
	}
	if h.org != nil && (env.RequestType == "" || env.ResponseURL == "") {
		return h.handleOrg(ctx, raw, env)
	}
	switch {
	case env.RequestType != "" && env.ResponseURL != "":
		var ev cfn.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding the CloudFormation request: %w", err)
		}
		return h.answer(ctx, ev)
	case env.DetailType == detailScheduled:
		return h.run(ctx, Target{Trigger: "schedule"})
	case env.Source == sourceTag && env.DetailType == detailTagChange:
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decoding the tag change event: %w", err)
		}
		return h.runFor(ctx, "tag-change", vpcIDsFromARNs(ev.Resources))
	case env.Source == sourceEC2 && env.DetailType == detailCloudTrail:
		return h.cloudTrail(ctx, raw)
	}
	slog.ErrorContext(ctx, "unknown event", "source", env.Source, "detailType", env.DetailType)
	return nil, fmt.Errorf("unknown event: source %q, detail-type %q, RequestType %q", env.Source, env.DetailType, env.RequestType)
}

func (h *Handler) cloudTrail(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev events.CloudWatchEvent
	var d cloudTrailDetail
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding the CloudTrail event: %w", err)
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, fmt.Errorf("decoding the CloudTrail event's detail: %w", err)
	}
	if d.ErrorCode != "" {
		slog.InfoContext(ctx, "ignoring a failed API call", "eventName", d.EventName, "errorCode", d.ErrorCode)
		return Result{Trigger: "cloudtrail-" + d.EventName}, nil
	}
	var ids []string
	switch d.EventName {
	case "DeleteFlowLogs":
		return h.flowLogsDeleted(ctx, ev.Time, d)
	case "CreateVpc":
		ids = append(ids, d.ResponseElements.VPC.VPCID)
	case "CreateTags", "DeleteTags":
		for _, it := range d.RequestParameters.ResourcesSet.Items {
			ids = append(ids, it.ResourceID)
		}
	default:
		slog.ErrorContext(ctx, "unknown event", "source", ev.Source, "detailType", ev.DetailType, "eventName", d.EventName)
		return nil, fmt.Errorf("unknown CloudTrail event %q", d.EventName)
	}
	return h.runFor(ctx, "cloudtrail-"+d.EventName, ids)
}

// Bounds of the DeleteFlowLogs path.
const (
	// settleAfterDelete covers CloudTrail's whole-second eventTime and
	// DescribeFlowLogs catching up with a deletion: a full run that began
	// this long after a deletion has seen it.
	settleAfterDelete = time.Minute
	// maxLoggedFlowLogIDs bounds what an event, which anyone allowed to
	// call DeleteFlowLogs shapes, can put in the log.
	maxLoggedFlowLogIDs = 20
)

// flowLogsDeleted answers a successful DeleteFlowLogs call with a full
// reconcile. The flow log is gone when the event arrives, so its VPC cannot
// be looked up from its id, and the event names no VPC; a full run costs a
// few calls per thousand VPCs (see PERFORMANCE.md), and putting back what
// was deleted is exactly what it does. The enabler's own deletions (it
// replaces and removes its flow logs) are ignored, or each would start
// another run; so is a deletion that a full run which began later has
// already seen, so that a burst of deletions queued behind one run costs
// one run, not one each.
func (h *Handler) flowLogsDeleted(ctx context.Context, at time.Time, d cloudTrailDetail) (any, error) {
	const trigger = "cloudtrail-DeleteFlowLogs"
	ids := flowLogIDs(d.RequestParameters.DeleteFlowLogsRequest.FlowLogID)
	if issuer := d.UserIdentity.SessionContext.SessionIssuer.ARN; issuer != "" && issuer == h.env.RoleARN {
		slog.InfoContext(ctx, "ignoring the enabler's own DeleteFlowLogs", "flowLogIds", ids)
		return Result{Trigger: trigger}, nil
	}
	h.mu.Lock()
	seen := !at.IsZero() && at.Add(settleAfterDelete).Before(h.fullRunStarted)
	h.mu.Unlock()
	if seen {
		slog.InfoContext(ctx, "a later full run already saw this deletion", "flowLogIds", ids, "eventTime", at)
		return Result{Trigger: trigger}, nil
	}
	slog.InfoContext(ctx, "flow logs deleted: reconciling every tagged VPC", "flowLogIds", ids, "by", d.UserIdentity.SessionContext.SessionIssuer.ARN)
	return h.run(ctx, Target{Trigger: trigger})
}

// flowLogIDs reads FlowLogId as CloudTrail logs it, one object or an
// array, keeping at most maxLoggedFlowLogIDs; anything else gives none.
func flowLogIDs(raw json.RawMessage) []string {
	type item struct {
		Content string `json:"content"`
	}
	var items []item
	if err := json.Unmarshal(raw, &items); err != nil {
		var one item
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		items = []item{one}
	}
	ids := make([]string, 0, min(len(items), maxLoggedFlowLogIDs))
	for _, it := range items[:min(len(items), maxLoggedFlowLogIDs)] {
		ids = append(ids, it.Content)
	}
	return ids
}

// runFor reconciles the named VPCs; ids of other resources are ignored.
func (h *Handler) runFor(ctx context.Context, trigger string, ids []string) (any, error) {
	vpcs := []string{}
	for _, id := range ids {
		if strings.HasPrefix(id, "vpc-") {
			vpcs = append(vpcs, id)
		}
	}
	if len(vpcs) == 0 {
		slog.InfoContext(ctx, "the event names no VPC", "trigger", trigger, "resources", ids)
		return Result{Trigger: trigger}, nil
	}
	return h.run(ctx, Target{Trigger: trigger, VPCIDs: vpcs})
}

func (h *Handler) run(ctx context.Context, t Target) (any, error) {
	if h.envErr != nil {
		return nil, fmt.Errorf("%s run: %w", t.Trigger, h.envErr)
	}
	work, cancel := h.workContext(ctx)
	defer cancel()
	stop, err := h.stackGoing(work, t.Trigger)
	if err != nil {
		return nil, fmt.Errorf("%s run: %w", t.Trigger, err)
	}
	if stop != "" {
		return Result{Trigger: t.Trigger, DryRun: h.env.DryRun, Stopped: stop}, nil
	}
	start := h.rec.now()
	res, err := h.rec.Run(work, h.env, t)
	if err != nil {
		return nil, fmt.Errorf("%s run: %w", t.Trigger, err)
	}
	// A full run that reached every VPC; one that failed some would fail
	// them again if rerun, one cut off by the deadline would not.
	if t.VPCIDs == nil && !t.Teardown && !h.env.DryRun && res.Pending == 0 {
		h.mu.Lock()
		if start.After(h.fullRunStarted) {
			h.fullRunStarted = start
		}
		h.mu.Unlock()
	}
	return res, nil
}

// vpcIDsFromARNs takes the VPC ids out of ARNs such as
// arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc.
func vpcIDsFromARNs(arns []string) []string {
	var ids []string
	for _, a := range arns {
		if _, id, ok := strings.Cut(a, vpcARNResourceSegment); ok {
			ids = append(ids, id)
		}
	}
	return ids
}
