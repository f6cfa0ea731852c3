package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// describeAllVPCs lists every VPC of the account and region, unfiltered
// (1,000 a page), and splits them by cfg: in scope (the tag, or every VPC
// in compliance mode) and out of scope. The organization mode's sweep
// takes this one listing instead of tag-filtered ones, so that its coverage
// document can name the VPCs out of scope too, in as many calls.
func (r *Reconciler) describeAllVPCs(ctx context.Context, api FlowLogAPI, cfg settings.Enabler) (inScope, outOfScope []string, err error) {
	p := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(r.pageSize())})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("describing every VPC: %w", err)
		}
		for _, v := range out.Vpcs {
			if matches(v.Tags, cfg) {
				inScope = append(inScope, aws.ToString(v.VpcId))
			} else {
				outOfScope = append(outOfScope, aws.ToString(v.VpcId))
			}
		}
	}
	return sortedUnique(inScope), sortedUnique(outOfScope), nil
}

// Inventory is where every VPC of an account-region stands after a run
// with Target.Inventory: the organization mode's coverage document is made
// of these.
type Inventory struct {
	// Ours lists the VPCs in scope covered by this owner's flow log (one
	// that was there, or one this run created).
	Ours []string `json:"ours"`
	// Others lists the VPCs in scope covered by someone else's flow log.
	Others []string `json:"others"`
	// Uncovered lists the VPCs in scope without a covering flow log, with
	// the reason (the failure's code and message, or the deadline).
	Uncovered []Failure `json:"uncovered"`
	// OutOfScope lists the VPCs without the tag (never in compliance
	// mode); OutOfScopeCovered those of them that a flow log covers anyway.
	OutOfScope        []string `json:"outOfScope"`
	OutOfScopeCovered []string `json:"outOfScopeCovered"`
}

// newInventory starts the inventory from the plan: what was covered before
// any change. record adds each applied step.
func newInventory(p Plan, outOfScope []string, covered map[string]bool) *Inventory {
	inv := &Inventory{OutOfScope: outOfScope}
	others := map[string]bool{}
	for _, id := range p.CoveredByOthers {
		others[id] = true
	}
	for _, id := range p.Covered {
		if others[id] {
			inv.Others = append(inv.Others, id)
		} else {
			inv.Ours = append(inv.Ours, id)
		}
	}
	inv.Uncovered = append(inv.Uncovered, p.Blocked...)
	for _, id := range outOfScope {
		if covered[id] {
			inv.OutOfScopeCovered = append(inv.OutOfScopeCovered, id)
		}
	}
	return inv
}

// record adds one applied step: a create or replace that succeeded covers
// its VPC; one that failed or was cut off leaves it uncovered. Removals
// concern VPCs out of scope or already covered, counted from the plan.
func (inv *Inventory) record(o *outcome) {
	if o.Action == ActionRemove {
		return
	}
	switch o.status {
	case statusDone, statusCovered:
		// statusCovered: the create met a flow log that a re-check found
		// covering, most likely this owner's from a retried call.
		inv.Ours = append(inv.Ours, o.VPCID)
	default:
		inv.Uncovered = append(inv.Uncovered, Failure{VPCID: o.VPCID, Action: o.Action, Code: o.code, Message: o.msg})
	}
}

// dryRun adds the steps a dry run would take: each VPC stays uncovered.
func (inv *Inventory) dryRun(s Step) {
	if s.Action != ActionRemove {
		inv.Uncovered = append(inv.Uncovered, Failure{VPCID: s.VPCID, Action: s.Action, Code: "DryRun", Message: s.Reason})
	}
}

func (inv *Inventory) sort() {
	slices.Sort(inv.Ours)
	slices.Sort(inv.Others)
	slices.SortFunc(inv.Uncovered, func(a, b Failure) int {
		if a.VPCID < b.VPCID {
			return -1
		}
		if a.VPCID > b.VPCID {
			return 1
		}
		return 0
	})
}

// coveredBy marks the VPCs that any of fls covers under cfg at home.
func coveredBy(fls []types.FlowLog, cfg settings.Enabler, home Home) map[string]bool {
	out := map[string]bool{}
	for _, fl := range fls {
		if Covers(fl, cfg, home) {
			out[aws.ToString(fl.ResourceId)] = true
		}
	}
	return out
}

// planInventory is plan's full run with an inventory: one unfiltered
// listing of the VPCs and one of the flow logs.
func (r *Reconciler) planInventory(ctx context.Context, api FlowLogAPI, cfg settings.Enabler) (Plan, *Inventory, error) {
	inScope, outOfScope, err := r.describeAllVPCs(ctx, api, cfg)
	if err != nil {
		return Plan{}, nil, err
	}
	fls, err := r.describeAllFlowLogs(ctx, api)
	if err != nil {
		return Plan{}, nil, err
	}
	p := NewPlan(cfg, r.home(cfg), inScope, fls)
	return p, newInventory(p, outOfScope, coveredBy(fls, cfg, r.home(cfg))), nil
}
