package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// OrgBench is the organization of the story, set up once (accounts,
// spokes, VPCs, the enabler's processes), for runs that each put a fault
// on one account and sweep: the fault suite of the organization mode.
// Moto cannot be reset between runs (the organization's id is in the
// synthesized hub), so each run is a new sweep of the same organization,
// and its coverage document is the sweep's own.
type OrgBench struct {
	*OrgHarness
	st *orgStory
	// Accounts maps the story's account names to ids; Regions holds the
	// account-regions with VPCs, by "account/region".
	Accounts map[string]string
	Regions  map[string]*AccountRegion

	mu    sync.Mutex
	fault motoproxy.Hook
}

// NewOrgBench sets the organization up as the story's first steps do
// (with LateAccount among the accounts from the start) and starts workers
// processes of the enabler.
func (oh *OrgHarness) NewOrgBench(ctx context.Context, workers int) (*OrgBench, error) {
	st := &orgStory{oh: oh, r: Quiet{}, o: OrgStoryOptions{Workers: workers}, res: &OrgStoryResult{
		Accounts: map[string]string{}, Regions: map[string]*AccountRegion{},
	}}
	st.res.TagKey = envLookup(oh.Stack.Names, oh.Stack.Enabler)(settings.EnvTagKey)
	b := &OrgBench{OrgHarness: oh, st: st, Accounts: st.res.Accounts, Regions: st.res.Regions}
	oh.Proxy.AddHook(b.hook)
	if err := st.accounts(ctx); err != nil {
		return nil, err
	}
	if err := st.vpcs(ctx); err != nil {
		return nil, err
	}
	acct, err := oh.Org.AddAccount(ctx, LateAccount, "workloads")
	if err != nil {
		return nil, err
	}
	st.res.Accounts[LateAccount] = acct.ID
	if _, err := oh.PlayStackSet(ctx); err != nil {
		return nil, err
	}
	if err := st.vpcsIn(ctx, LateAccount); err != nil {
		return nil, err
	}
	for range workers {
		e, err := oh.StartEnabler(oh.Proxy.URL)
		if err != nil {
			b.Close()
			return nil, err
		}
		st.enablers = append(st.enablers, e)
	}
	return b, nil
}

// Close stops the enabler's processes.
func (b *OrgBench) Close() { b.st.close() }

// Enabler is the first enabler process, for direct invocations.
func (b *OrgBench) Enabler() *Function { return b.st.enablers[0] }

// SetFault puts h in the functions' proxy (after the Accounts hook), in
// place of the previous fault; nil removes it.
func (b *OrgBench) SetFault(h motoproxy.Hook) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fault = h
}

func (b *OrgBench) hook(w http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
	b.mu.Lock()
	h := b.fault
	b.mu.Unlock()
	return h != nil && h(w, r, c)
}

// Failing returns a hook that answers every call of action (every call
// when action is "") acting in account (and region, if not "") with an
// EC2-shaped error status/code.
func (b *OrgBench) Failing(account, region, action string, status int, code string) motoproxy.Hook {
	return b.OrgHarness.Accounts.ForAccount(account, region, func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if action != "" && c.Action != action {
			return false
		}
		motoproxy.WriteError(w, status, code, fmt.Sprintf("injected by the fault suite for %s %s", account, region))
		return true
	})
}

// FailingJSON is Failing for a JSON-protocol service (CloudWatch Logs):
// every call of action acting in account answers status and code.
func (b *OrgBench) FailingJSON(account, action string, status int, code string) motoproxy.Hook {
	return b.OrgHarness.Accounts.ForAccount(account, "", func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != action {
			return false
		}
		motoproxy.WriteJSONError(w, status, code, "injected by the fault suite for "+account)
		return true
	})
}

// Digest delivers records into every spoke's flow log group, runs the
// summarizer's schedule through its work queue and returns the pump's
// figures, the roll-up and what was delivered, by "account/region".
func (b *OrgBench) Digest(ctx context.Context, seed int64) (PumpStats, *digest.Rollup, map[string]Delivery, error) {
	st := b.st
	st.o.Seed, st.o.Records = seed, 300
	st.res.Delivered = map[string]Delivery{}
	if len(st.summarizers) == 0 {
		for range len(st.enablers) {
			s, err := b.StartSummarizer(b.Proxy.URL, settings.EnvSettleLag+"=0s")
			if err != nil {
				return PumpStats{}, nil, nil, err
			}
			st.summarizers = append(st.summarizers, s)
		}
	}
	if err := st.deliver(ctx); err != nil {
		return PumpStats{}, nil, nil, err
	}
	if err := st.digest(ctx); err != nil {
		return PumpStats{}, nil, nil, err
	}
	docs, err := ReadGroup(ctx, b.Clients, b.Stack.DigestLogGroup)
	if err != nil {
		return st.res.Digest, nil, nil, err
	}
	rolls := docs[digest.RollupStreamName]
	if len(rolls) == 0 {
		return st.res.Digest, nil, nil, fmt.Errorf("no roll-up in %s", b.Stack.DigestLogGroup)
	}
	var r digest.Rollup
	if err := json.Unmarshal([]byte(rolls[len(rolls)-1]), &r); err != nil {
		return st.res.Digest, nil, nil, fmt.Errorf("decoding the roll-up: %w", err)
	}
	return st.res.Digest, &r, st.res.Delivered, nil
}

// Sweep runs a scheduled sweep through the work queue; between the
// sweep's enqueueing and the queue's draining it calls between (if not
// nil). It returns the pump's figures and the sweep's coverage document.
func (b *OrgBench) Sweep(ctx context.Context, between func() error) (PumpStats, *Coverage, error) {
	out, err := b.Enabler().Invoke(ctx, b.Stack.SweepEvent())
	if err != nil {
		return PumpStats{}, nil, fmt.Errorf("the scheduled sweep: %w", err)
	}
	var sum reconcile.SweepSummary
	if err := json.Unmarshal(out, &sum); err != nil {
		return PumpStats{}, nil, fmt.Errorf("decoding the scheduled sweep's answer %s: %w", out, err)
	}
	if sum.SweepID == "" {
		return PumpStats{}, nil, fmt.Errorf("the scheduled sweep answered %s: no sweep id", out)
	}
	if between != nil {
		if err := between(); err != nil {
			return PumpStats{}, nil, err
		}
	}
	p, err := b.Pump(b.Stack.Enabler, invokers(b.st.enablers))
	if err != nil {
		return PumpStats{}, nil, err
	}
	stats, err := p.Drain(ctx)
	if err != nil {
		return stats, nil, err
	}
	cov, err := ReadCoverage(ctx, b.Clients, b.Stack.DigestLogGroup, sum.SweepID)
	return stats, cov, err
}

// Coverage is a sweep's coverage document, its parts joined.
type Coverage struct {
	reconcile.CoverageDocument
	Entries []reconcile.AccountRegionCoverage
}

// Entry returns the entry of account/region, or nil.
func (c *Coverage) Entry(account, region string) *reconcile.AccountRegionCoverage {
	for i := range c.Entries {
		if c.Entries[i].Account == account && c.Entries[i].Region == region {
			return &c.Entries[i]
		}
	}
	return nil
}

// ReadCoverage reads the coverage document of sweepID from the digest
// group's coverage stream: every part, each once.
func ReadCoverage(ctx context.Context, c Clients, group, sweepID string) (*Coverage, error) {
	docs, err := ReadGroup(ctx, c, group)
	if err != nil {
		return nil, err
	}
	var cov *Coverage
	seen := map[int]bool{}
	for _, msg := range docs[reconcile.CoverageStream] {
		var d reconcile.CoverageDocument
		if err := json.Unmarshal([]byte(msg), &d); err != nil {
			return nil, fmt.Errorf("decoding a coverage document: %w", err)
		}
		if d.SweepID != sweepID || seen[d.Part] {
			continue
		}
		seen[d.Part] = true
		if cov == nil {
			cov = &Coverage{CoverageDocument: d}
		}
		for _, raw := range d.AccountRegions {
			var e reconcile.AccountRegionCoverage
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("decoding an account-region of the coverage document: %w", err)
			}
			cov.Entries = append(cov.Entries, e)
		}
	}
	if cov == nil {
		return nil, fmt.Errorf("no coverage document of sweep %s in %s", sweepID, group)
	}
	if len(seen) != cov.Parts {
		return cov, fmt.Errorf("the coverage document of sweep %s has %d of its %d parts", sweepID, len(seen), cov.Parts)
	}
	return cov, nil
}
