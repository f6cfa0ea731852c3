package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// orgCreate answers a Create or Update in organization mode once the
// organization's sweep is enqueued, not reconciled: 17,000 account-regions
// do not fit in one invocation, and the queue's function does them (the
// coverage document says when they are done).
func (h *Handler) orgCreate(ctx context.Context, ev cfn.Event, physicalID, trigger string) (string, map[string]any, error) {
	sum, err := h.orgSweep(ctx, trigger)
	if err != nil {
		return physicalID, nil, fitError(ev, physicalID, "enqueueing the organization's sweep: "+err.Error(), nil)
	}
	return physicalID, map[string]any{
		"SweepId": sum.SweepID, "Accounts": strconv.Itoa(sum.Accounts),
		"AccountRegions": strconv.Itoa(sum.AccountRegions), "Messages": strconv.Itoa(sum.Messages),
	}, nil
}

// orgDelete removes this stack's flow logs from every account-region
// directly, at most TeardownConcurrency at once, before answering. Not
// through the queue: CloudFormation deletes the queue and its function
// right after this answer, so queued work would be lost. An account-region
// whose role is gone or whose region is not enabled cannot hold flow logs
// the hub can remove: it is logged and does not fail the Delete (which
// would leave the stack undeletable); a removal that failed or did not
// finish before the deadline does, naming the account-regions.
func (h *Handler) orgDelete(ctx context.Context, ev cfn.Event, physicalID string, cfg settings.Enabler) (string, map[string]any, error) {
	o := h.org
	if !cfg.RemoveOnDelete {
		return physicalID, map[string]any{"Removed": "0"}, nil
	}
	d, err := o.discover(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "could not list the organization's accounts: answering success", "error", err.Error())
		return physicalID, map[string]any{"Removed": "0"}, nil
	}
	var mu sync.Mutex
	removed := 0
	var failed []string
	conc := o.TeardownConcurrency
	if conc <= 0 {
		conc = DefaultTeardownConcurrency
	}
	outs := org.ForEach(ctx, org.Cross(d.IDs(), o.Settings.Regions), conc, func(ctx context.Context, ar org.AccountRegion) error {
		res, err := o.spokeRun(ctx, cfg, ar, org.SessionEnablerTeardown, Target{Trigger: "cloudformation-delete", Teardown: true})
		mu.Lock()
		defer mu.Unlock()
		removed += res.Removed
		if err == nil && (res.Failed > 0 || res.Pending > 0) {
			failed = append(failed, fmt.Sprintf("%s (%d failed, %d not reached)", ar, res.Failed, res.Pending))
		}
		return err
	})
	for _, out := range outs {
		switch out.Class {
		case org.ClassOK, org.ClassRoleUnavailable, org.ClassRegionNotEnabled:
		default:
			failed = append(failed, fmt.Sprintf("%s (%s: %s)", out.AccountRegion, out.Class, out.Reason))
		}
	}
	_ = logOutcomes(ctx, "teardown", outs)
	if len(failed) > 0 {
		return physicalID, nil, fitError(ev, physicalID, fmt.Sprintf("%d account-regions kept flow logs of this stack", len(failed)), failed)
	}
	return physicalID, map[string]any{"Removed": strconv.Itoa(removed), "AccountRegions": strconv.Itoa(len(outs))}, nil
}
