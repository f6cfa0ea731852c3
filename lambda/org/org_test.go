package org_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

var shared testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// emulator returns a proxy in front of a freshly reset moto, closed at the
// end of the test.
func emulator(t *testing.T) *motoproxy.Proxy {
	t.Helper()
	m := shared.Moto(t)
	if err := m.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, err := motoproxy.New(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func hubConfig(url string) aws.Config {
	cfg := testenv.AWSConfig(url)
	cfg.Retryer = awsconfig.NewRetryer
	return cfg
}

// fixture is a simulated organization:
//
//	root ── ouA ── ouA1 ── a1 (ACTIVE), a1s (SUSPENDED)
//	     │      └─ a (ACTIVE)
//	     └─ ouB ── b (ACTIVE)
//	root also holds the management account and c (ACTIVE).
type fixture struct {
	root, ouA, ouA1, ouB string
	byName               map[string]string // account name → id
}

func newOrganization(t *testing.T, api *organizations.Client) fixture {
	t.Helper()
	ctx := t.Context()
	if _, err := api.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := api.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{root: aws.ToString(roots.Roots[0].Id), byName: map[string]string{}}
	ou := func(parent, name string) string {
		out, err := api.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.OrganizationalUnit.Id)
	}
	f.ouA = ou(f.root, "A")
	f.ouA1 = ou(f.ouA, "A1")
	f.ouB = ou(f.root, "B")
	for _, a := range []struct{ name, parent string }{{"a", f.ouA}, {"a1", f.ouA1}, {"a1s", f.ouA1}, {"b", f.ouB}, {"c", f.root}} {
		f.byName[a.name] = createAccount(t, api, a.name, f.root, a.parent)
	}
	if _, err := api.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(f.byName["a1s"])}); err != nil {
		t.Fatal(err)
	}
	return f
}

func createAccount(t *testing.T, api *organizations.Client, name, root, parent string) string {
	t.Helper()
	out, err := api.CreateAccount(t.Context(), &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if parent != root {
		_, err = api.MoveAccount(t.Context(), &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: aws.String(parent)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// TestDiscover proves that discovery walks OUs recursively from each
// target, keeps only ACTIVE accounts (moto's CloseAccount suspends one),
// lists an account reached from two targets once, and pages (moto pages
// these listings with MaxResults).
func TestDiscover(t *testing.T) {
	p := emulator(t)
	api := organizations.NewFromConfig(hubConfig(p.URL))
	f := newOrganization(t, api)
	names := func(d org.Discovery) []string {
		var out []string
		for _, a := range d.Accounts {
			out = append(out, a.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name         string
		targets      []string
		want         []string
		wantInactive int
	}{
		{"an OU and its nested OU", []string{f.ouA}, []string{"a", "a1"}, 1},
		{"an OU named twice, nested and parent", []string{f.ouA1, f.ouA, f.ouA1}, []string{"a", "a1"}, 1},
		{"two OUs", []string{f.ouA, f.ouB}, []string{"a", "a1", "b"}, 1},
		{"the nested OU alone", []string{f.ouA1}, []string{"a1"}, 1},
		{"the OU without suspended accounts", []string{f.ouB}, []string{"b"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := org.Discover(t.Context(), api, tc.targets)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(d); !slices.Equal(got, tc.want) || d.Inactive != tc.wantInactive {
				t.Errorf("accounts %v (%d inactive), want %v (%d inactive)", got, d.Inactive, tc.want, tc.wantInactive)
			}
		})
	}
	t.Run("the root", func(t *testing.T) {
		d, err := org.Discover(t.Context(), api, []string{f.root})
		if err != nil {
			t.Fatal(err)
		}
		// The management account is under the root too, but left out: no
		// service-managed StackSet deploys a spoke there, so it could only
		// be reported unreachable on every run.
		got := names(d)
		if !slices.Equal(got, []string{"a", "a1", "b", "c"}) || d.Inactive != 1 {
			t.Errorf("the root's accounts %v (%d inactive), want a, a1, b, c (not the management account), 1 inactive", got, d.Inactive)
		}
		if err := settings.ValidateAccountID(d.Management); err != nil || slices.Contains(d.IDs(), d.Management) {
			t.Errorf("management account %q: %v; want a valid id, not among the accounts %v", d.Management, err, d.IDs())
		}
	})
}

// TestDiscoverRejectsBadTargets proves that a target of the wrong shape
// fails before any call (it would otherwise reach Organizations as a
// ParentId).
func TestDiscoverRejectsBadTargets(t *testing.T) {
	for _, tc := range []struct{ name, target string }{
		{"empty", ""},
		{"an account id", "123456789012"},
		{"an OU id too short", "ou-ab-1234"},
		{"a root id with upper case", "r-ABCD"},
		{"a newline", "r-abcd\nou-x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := org.Discover(t.Context(), nil, []string{tc.target})
			if err == nil || !strings.Contains(err.Error(), "target") {
				t.Errorf("Discover(%q) = %v, want an error naming the target", tc.target, err)
			}
		})
	}
}

// denyAssumeRole makes AssumeRole of the named role ARNs fail as STS
// answers a role that does not exist or does not trust the caller: HTTP
// 403 AccessDenied. moto lets anyone assume any ARN, existing or not.
func denyAssumeRole(arns ...string) motoproxy.Hook {
	return func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "AssumeRole" || !slices.Contains(arns, c.Form.Get("RoleArn")) {
			return false
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/VpcFlowLogsHubEnabler/x is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, c.Form.Get("RoleArn"))
		return true
	}
}

// denyRegion makes every EC2 call in region fail as an opt-in region the
// account has not enabled answers.
func denyRegion(region string) motoproxy.Hook {
	return func(w http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Form == nil || c.Form.Get("Version") != "2016-11-15" || !strings.Contains(r.Header.Get("Authorization"), "/"+region+"/ec2/") {
			return false
		}
		motoproxy.WriteError(w, http.StatusUnauthorized, "OptInRequired", "You are not subscribed to this service.")
		return true
	}
}

// TestForEachAcrossAccounts proves, against moto, that each account's role
// is assumed once whatever its number of regions (AssumeRole counted by
// the proxy), that the credentials act in that account (the default VPC
// moto makes in each account-region is owned by it), and that a missing
// role in one account and a region that is not enabled are reported by
// account-region, classified, without stopping the others.
func TestForEachAcrossAccounts(t *testing.T) {
	p := emulator(t)
	hub := hubConfig(p.URL)
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	roles, err := org.NewRoles(sts.NewFromConfig(hub), "aws", settings.SpokeEnablerRoleName, org.SessionEnablerSweep)
	if err != nil {
		t.Fatal(err)
	}
	var assumed sync.Map // role ARN → *atomic.Int32
	p.AddHook(func(_ http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action == "AssumeRole" {
			n, _ := assumed.LoadOrStore(c.Form.Get("RoleArn"), new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}
		return false
	})
	p.AddHook(denyAssumeRole(roles.RoleARN("333333333333")))
	p.AddHook(denyRegion("ap-southeast-2"))

	var owners sync.Map
	outcomes := org.ForEach(t.Context(), org.Cross(accounts, regions), 4, func(ctx context.Context, ar org.AccountRegion) error {
		cfg, err := roles.Config(hub, ar.Account, ar.Region)
		if err != nil {
			return err
		}
		out, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if err != nil {
			return err
		}
		for _, v := range out.Vpcs {
			owners.Store(ar.String()+" "+aws.ToString(v.OwnerId), true)
		}
		return nil
	})

	// A denied AssumeRole is not cached: the role may appear (its
	// StackSet instance finishing) before the next account-region.
	for _, a := range accounts {
		n, _ := assumed.LoadOrStore(roles.RoleARN(a), new(atomic.Int32))
		got, want := n.(*atomic.Int32).Load(), int32(1)
		if a == "333333333333" {
			want = int32(len(regions))
		}
		if got != want {
			t.Errorf("AssumeRole of %s called %d times for %d regions, want %d", a, got, len(regions), want)
		}
	}
	for _, o := range outcomes {
		want := org.ClassOK
		switch {
		case o.Account == "333333333333":
			want = org.ClassRoleUnavailable
		case o.Region == "ap-southeast-2":
			want = org.ClassRegionNotEnabled
		}
		if o.Class != want {
			t.Errorf("%s: %s (%s), want %s", o.AccountRegion, o.Class, o.Reason, want)
		}
		if want == org.ClassOK {
			if _, ok := owners.Load(o.String() + " " + o.Account); !ok {
				t.Errorf("%s: no VPC owned by %s seen: the assumed credentials did not act in the account", o.AccountRegion, o.Account)
			}
		} else if o.Reason == "" || o.Code == "" {
			t.Errorf("%s: failed without a reason or code: %+v", o.AccountRegion, o)
		}
	}
}

// TestForEachBoundsConcurrency proves that no more than the given number
// of account-regions run at once, that every one gets an outcome in the
// order given, and that a cancelled context leaves the rest unstarted and
// reported.
func TestForEachBoundsConcurrency(t *testing.T) {
	items := org.Cross([]string{"111111111111", "222222222222", "333333333333", "444444444444"}, []string{"us-east-1", "eu-west-1", "eu-central-1"})
	for _, limit := range []int{1, 3, 12} {
		t.Run(fmt.Sprint("concurrency ", limit), func(t *testing.T) {
			var running, peak atomic.Int32
			out := org.ForEach(t.Context(), items, limit, func(context.Context, org.AccountRegion) error {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
				return nil
			})
			if int(peak.Load()) > limit {
				t.Errorf("peak %d concurrent, want at most %d", peak.Load(), limit)
			}
			for i, o := range out {
				if o.AccountRegion != items[i] || o.Class != org.ClassOK {
					t.Errorf("outcome %d = %+v, want %v ok", i, o, items[i])
				}
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		out := org.ForEach(ctx, items, 2, func(context.Context, org.AccountRegion) error { return nil })
		var notStarted int
		for _, o := range out {
			if o.Class == org.ClassOther && errors.Is(o.Err, context.Canceled) {
				notStarted++
			}
		}
		// select picks at random between a free slot and Done: some may start.
		if notStarted == 0 {
			t.Errorf("no account-region reported unstarted after cancellation: %+v", out)
		}
	})
}
