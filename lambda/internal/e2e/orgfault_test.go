package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// down is an account-region a case expects unreachable, and why.
type down struct {
	account, region string
	class           org.Class
	or              org.Class // another class the case accepts, if any
}

// TestOrgFaults is the fault suite of the organization mode: each case
// puts one fault on one account (or account-region) and sweeps the
// organization through the work queue. The faulted account-regions are
// reported unreachable by name, with the class and reason; every other
// account-region is reconciled and counted exactly; none blocks the rest.
// legacy's StackSet instance failed, so its two account-regions are
// unreachable (role-unavailable: STS's AccessDenied for a missing role,
// which the proxy's Accounts hook plays because moto's AssumeRole does
// not check) in every case.
func TestOrgFaults(t *testing.T) {
	h := startOrg(t)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	b, err := h.NewOrgBench(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	prod, dev, late := b.Accounts["prod"], b.Accounts["dev"], b.Accounts[e2e.LateAccount]
	second := h.Regions[1]
	throttle, err := motoproxy.NewFaults(motoproxy.FaultConfig{Seed: 3, Rate: 0.4, Mix: map[motoproxy.FaultKind]float64{motoproxy.Throttle: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		fault   motoproxy.Hook
		between func() error
		// down are the unreachable account-regions besides legacy's.
		down     []down
		accounts int // ACTIVE accounts the sweep covers
		// after checks what the fault did, when the outcome alone does
		// not show it.
		after func(t *testing.T)
	}{
		// First: the enabler's processes cache a spoke role's credentials
		// (for their hour) once assumed, as they would in Lambda, and a
		// denial stops only new AssumeRole calls.
		{name: "AssumeRole denied in prod (an SCP)", accounts: 4,
			between: func() error { h.Accounts.Deny(prod, "an SCP denies sts:AssumeRole"); return nil },
			down:    []down{{prod, h.Regions[0], org.ClassRoleUnavailable, ""}, {prod, second, org.ClassRoleUnavailable, ""}}},
		{name: "no fault", accounts: 4},
		{name: "region not enabled in dev", accounts: 4, fault: b.Failing(dev, second, "", http.StatusUnauthorized, "AuthFailure"),
			down: []down{{dev, second, org.ClassRegionNotEnabled, ""}}},
		{name: "EC2 denied in dev by an SCP", accounts: 4, fault: b.Failing(dev, "", "DescribeVpcs", http.StatusForbidden, "UnauthorizedOperation"),
			down: []down{{dev, h.Regions[0], org.ClassDenied, ""}, {dev, second, org.ClassDenied, ""}}},
		{name: "40% of prod's calls throttled", accounts: 4, fault: h.Accounts.ForAccount(prod, "", throttle.Hook),
			after: func(t *testing.T) {
				// The SDK's retries outlast the throttling: prod is covered.
				if st := throttle.Stats(); st.Faults[motoproxy.Throttle] == 0 || st.Retries == 0 {
					t.Errorf("throttle stats %+v: want throttled calls, retried", st)
				}
			}},
		{name: "analytics suspended after the sweep began", accounts: 4,
			between: func() error {
				// A suspended account's roles can no longer be assumed, and
				// the credentials the enabler holds from the sweep before
				// are refused (modelled as EC2's UnauthorizedOperation).
				h.Accounts.Deny(late, "the account is suspended")
				b.SetFault(b.Failing(late, "", "", http.StatusForbidden, "UnauthorizedOperation"))
				return h.Org.Suspend(ctx, late)
			},
			// Which refusal comes depends on which of the function's
			// instances takes the account's message: one that holds the
			// account's credentials from the sweep before calls EC2 and
			// is denied; another must assume the role, and cannot.
			down: []down{
				{late, h.Regions[0], org.ClassDenied, org.ClassRoleUnavailable},
				{late, second, org.ClassDenied, org.ClassRoleUnavailable},
			}},
		{name: "the next sweep leaves the suspended account out", accounts: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.SetFault(tc.fault)
			defer b.SetFault(nil)
			defer h.Accounts.Deny(prod, "")
			stats, cov, err := b.Sweep(ctx, tc.between)
			if err != nil {
				t.Fatalf("%v\n%s", err, tail(b.Enabler().Log(), 30))
			}
			t.Logf("pump %+v; totals %+v", stats, cov.Totals)
			want := append([]down{{b.Accounts["legacy"], h.Regions[0], org.ClassRoleUnavailable, ""}, {b.Accounts["legacy"], second, org.ClassRoleUnavailable, ""}}, tc.down...)
			checkSweep(t, b, cov, tc.accounts, want)
			if tc.after != nil {
				tc.after(t)
			}
		})
	}
	t.Run("events from outside, duplicated and out of order", func(t *testing.T) { outsideAndDuplicates(t, b) })
	t.Run("digest: Logs denied in dev, 40% of prod's calls throttled", func(t *testing.T) {
		b.SetFault(func(w http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
			return b.FailingJSON(dev, "FilterLogEvents", http.StatusBadRequest, "AccessDeniedException")(w, r, c) ||
				h.Accounts.ForAccount(prod, "", throttle.Hook)(w, r, c)
		})
		defer b.SetFault(nil)
		stats, roll, delivered, err := b.Digest(ctx, 11)
		if err != nil {
			t.Fatalf("%v\n%s", err, tail(b.Enabler().Log(), 30))
		}
		// The covered accounts are prod, dev and legacy (analytics is
		// suspended): legacy has no reader role, dev's reads are denied,
		// prod's are throttled and retried through.
		var records uint64
		for _, r := range h.Regions {
			records += delivered[prod+"/"+r].Expected.Totals.Records
		}
		unreadable := map[string]bool{}
		for _, u := range roll.Unreadable {
			unreadable[u.Account+"/"+u.Region] = true
		}
		t.Logf("pump %+v; roll-up account-regions %+v, %d records", stats, roll.AccountRegions, roll.Totals.Records)
		if roll.AccountRegions.Expected != 6 || roll.AccountRegions.Digested != 2 || roll.AccountRegions.Failed != 4 || len(unreadable) != 4 ||
			!unreadable[dev+"/"+second] || !unreadable[b.Accounts["legacy"]+"/"+second] || roll.Totals.Records != records {
			t.Errorf("roll-up: account-regions %+v, unreadable %v, %d records; want 6 expected, prod's 2 digested with exactly %d records, dev's and legacy's 4 unreadable",
				roll.AccountRegions, unreadable, roll.Totals.Records, records)
		}
	})
}

// checkSweep checks a sweep's coverage document: accounts × regions
// entries, exactly the down ones unreachable with their class and a
// reason, and every reachable one with its two tagged VPCs covered by us.
func checkSweep(t *testing.T, b *e2e.OrgBench, cov *e2e.Coverage, accounts int, down []down) {
	t.Helper()
	regions := len(b.Regions) / len(b.Accounts)
	if cov.Totals.AccountRegions != accounts*regions || len(cov.Entries) != accounts*regions {
		t.Errorf("%d account-regions, %d entries; want %d", cov.Totals.AccountRegions, len(cov.Entries), accounts*regions)
	}
	isDown := map[string]org.Class{}
	for _, d := range down {
		isDown[d.account+"/"+d.region] = d.class
		e := cov.Entry(d.account, d.region)
		if e == nil || e.Reachable || e.Class != d.class && (d.or == "" || e.Class != d.or) || e.Reason == "" {
			t.Errorf("%s/%s: %+v, want unreachable (%s) with a reason", d.account, d.region, e, d.class)
		}
	}
	covered := 0
	for _, e := range cov.Entries {
		if _, bad := isDown[e.Account+"/"+e.Region]; bad {
			continue
		}
		if !e.Reachable || e.Counts.CoveredByUs < 2 {
			t.Errorf("%s/%s: reachable %v (%s %s), %d covered by us; want reachable with its tagged VPCs covered", e.Account, e.Region, e.Reachable, e.Class, e.Reason, e.Counts.CoveredByUs)
		}
		covered += e.Counts.CoveredByUs
	}
	if cov.Totals.Unreachable != len(down) || cov.Totals.VPCs.CoveredByUs != covered || cov.Totals.VPCs.Uncovered != 0 {
		t.Errorf("totals %+v: want %d unreachable, %d covered by us, none uncovered", cov.Totals, len(down), covered)
	}
}

// outsideAndDuplicates gives the enabler, directly (past the bus), an
// event from an account outside the organization: it is ignored; then the
// same member event twice, and an older one after a newer: each leaves
// exactly one flow log of the hub on the VPC.
func outsideAndDuplicates(t *testing.T, b *e2e.OrgBench) {
	ctx := t.Context()
	ar := b.Regions[b.Accounts["prod"]+"/"+b.OrgHarness.Regions[0]]
	vpc := ar.VPCs[0]
	tags := map[string]string{"Name": vpc.Name}
	out, err := b.Enabler().Invoke(ctx, e2e.TagChangeEvent(ar.Region, "999999999999", vpc.ID, tags, "Name"))
	if err != nil {
		t.Fatalf("an outside event failed the enabler: %v", err)
	}
	var res reconcile.Result
	if err := json.Unmarshal(out, &res); err != nil || !strings.Contains(res.Stopped, "999999999999") || res.Created+res.Removed != 0 {
		t.Errorf("the enabler's answer to an outside event: %s (%v), want it stopped, naming the account, changing nothing", out, err)
	}
	older := e2e.TagChangeEvent(ar.Region, ar.Account, vpc.ID, vpc.Tags, "Name")
	newer := e2e.TagChangeEvent(ar.Region, ar.Account, vpc.ID, vpc.Tags, "Name")
	for _, ev := range []map[string]any{newer, newer, older} {
		if _, err := b.Enabler().Invoke(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	fls, err := e2e.FlowLogs(ctx, b.Org.Admin(ar.Account, ar.Region))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e2e.OwnedBy(fls, b.Stack.Names.StackID)[vpc.ID]); n != 1 {
		b, _ := json.Marshal(fls)
		t.Errorf("%s has %d flow logs of the hub after duplicate and out-of-order events, want 1: %s", vpc.ID, n, b)
	}
}
