package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// MaxResponseBytes is the largest answer CloudFormation accepts from a
// custom resource.
const MaxResponseBytes = 4096

// PhysicalID is the custom resource's physical id: the same for every
// request about one resource (a different id on Update would make
// CloudFormation replace the resource and then delete the old one), and
// well under CloudFormation's 1 KB.
func PhysicalID(stackID, logicalID string) string {
	sum := sha256.Sum256([]byte(stackID + "/" + logicalID))
	name := logicalID
	if len(name) > 200 {
		name = name[:200]
	}
	return name + "-" + hex.EncodeToString(sum[:8])
}

// CustomResource is the CloudFormation custom resource function, in the
// shape of cfn.CustomResourceFunction; Handle answers for it (see answer).
// Create and Update reconcile every tagged VPC; Delete removes this stack's
// flow logs when RemoveFlowLogsOnDelete is true.
//
// It recovers its own panics, so that a panic is answered FAILED with the
// deterministic physical id (cfn.LambdaWrap's fallback would use the
// request id on Create, which differs from the one a later Update or Delete
// would carry).
func (h *Handler) CustomResource(ctx context.Context, ev cfn.Event) (physicalID string, data map[string]any, err error) {
	physicalID = PhysicalID(ev.StackID, ev.LogicalResourceID)
	if ev.RequestType == cfn.RequestDelete && ev.PhysicalResourceID != "" {
		physicalID = ev.PhysicalResourceID
	}
	defer func() {
		if p := recover(); p != nil {
			slog.ErrorContext(ctx, "custom resource handler panicked", "requestType", string(ev.RequestType),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			data = nil
			err = fitError(ev, physicalID, fmt.Sprintf("internal error: %v (see the function's log)", p), nil)
		}
	}()
	work, cancel := h.workContext(ctx)
	defer cancel()

	base := h.env
	if base.Owner == "" {
		base.Owner = ev.StackID
	}
	trigger := "cloudformation-" + strings.ToLower(string(ev.RequestType))
	switch ev.RequestType {
	case cfn.RequestCreate, cfn.RequestUpdate:
		cfg, err := settings.EnablerFromProperties(ev.ResourceProperties, base)
		if err != nil {
			slog.ErrorContext(ctx, "custom resource properties are not valid", "requestType", string(ev.RequestType), "error", err.Error())
			return physicalID, nil, fitError(ev, physicalID, err.Error(), nil)
		}
		cfg.ComplianceMode = base.ComplianceMode
		if h.org != nil {
			return h.orgCreate(work, ev, physicalID, trigger)
		}
		res, err := h.rec.Run(work, cfg, Target{Trigger: trigger})
		if err != nil {
			return physicalID, nil, fitError(ev, physicalID, err.Error(), nil)
		}
		if !cfg.DryRun && res.Attempted > 0 && res.Succeeded == 0 {
			return physicalID, nil, fitError(ev, physicalID,
				fmt.Sprintf("no flow log change succeeded: %d of %d tagged VPCs failed", res.Failed, res.Tagged), failureList(res.Failures))
		}
		return physicalID, responseData(res), nil

	case cfn.RequestDelete:
		if own := PhysicalID(ev.StackID, ev.LogicalResourceID); ev.PhysicalResourceID != "" && ev.PhysicalResourceID != own {
			// This function never answered with that id (for example the
			// request id of a Create that failed elsewhere): nothing of
			// this resource's can exist.
			slog.InfoContext(ctx, "deleting a physical id this function never created: nothing to remove",
				"physicalResourceId", ev.PhysicalResourceID, "expected", own)
			return physicalID, nil, nil
		}
		cfg := settings.TeardownFromProperties(ev.ResourceProperties, base)
		if h.org != nil {
			return h.orgDelete(work, ev, physicalID, cfg)
		}
		res, err := h.rec.Run(work, cfg, Target{Trigger: trigger, Teardown: true})
		if err != nil {
			// Nothing could be seen, so nothing is known to be left; a
			// failed Delete would leave the stack stuck (or a rollback
			// failed) for a condition that is usually missing permissions.
			slog.ErrorContext(ctx, "could not look for this stack's flow logs: answering success", "error", err.Error())
			return physicalID, responseData(res), nil
		}
		if res.Failed > 0 || res.Pending > 0 {
			return physicalID, nil, fitError(ev, physicalID,
				fmt.Sprintf("%d flow logs of this stack could not be removed and %d were not reached before the deadline", res.Failed, res.Pending),
				failureList(res.Failures))
		}
		return physicalID, responseData(res), nil
	}
	return physicalID, nil, fitError(ev, physicalID, fmt.Sprintf("unknown request type %q", ev.RequestType), nil)
}

// responseData is the Data of a successful answer. CloudFormation hands
// Data values to Fn::GetAtt as strings, so the counts are strings.
func responseData(res Result) map[string]any {
	d := map[string]any{}
	for k, v := range map[string]int{
		"Tagged": res.Tagged, "Covered": res.Covered, "Created": res.Created, "Replaced": res.Replaced,
		"Removed": res.Removed, "Failed": res.Failed, "Pending": res.Pending,
	} {
		d[k] = strconv.Itoa(v)
	}
	d["DryRun"] = strconv.FormatBool(res.DryRun)
	return d
}

func failureList(fs []Failure) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s (%s: %s)", f.VPCID, f.Code, f.Message))
	}
	sort.Strings(out)
	return out
}

// fitError is the error whose text becomes the answer's Reason: head, then
// as many items as fit with a count of the rest, so that the whole answer
// stays within MaxResponseBytes.
func fitError(ev cfn.Event, physicalID, head string, items []string) error {
	size := func(reason string) int {
		r := cfn.NewResponse(&ev)
		r.Status = cfn.StatusFailed
		r.PhysicalResourceID = physicalID
		r.Reason = reason
		b, err := json.Marshal(r)
		if err != nil {
			return MaxResponseBytes + 1
		}
		return len(b)
	}
	compose := func(n int) string {
		if len(items) == 0 {
			return head
		}
		s := head + ": " + strings.Join(items[:n], ", ")
		if n < len(items) {
			s += fmt.Sprintf(" and %d more", len(items)-n)
		}
		return s
	}
	if size(compose(len(items))) <= MaxResponseBytes {
		return errors.New(compose(len(items)))
	}
	// The largest number of items that fits, by bisection: size grows with n.
	lo, hi := 0, len(items)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if size(compose(mid)) <= MaxResponseBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	reason := compose(lo)
	// Even the head alone is too long (a huge property value): cut it.
	for r := []rune(reason); size(reason) > MaxResponseBytes && len(r) > 0; {
		r = r[:len(r)*9/10]
		reason = string(r) + "…"
	}
	return errors.New(reason)
}
