package org

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// OrganizationsAPI is the part of AWS Organizations that Discover calls;
// *organizations.Client satisfies it.
type OrganizationsAPI interface {
	DescribeOrganization(context.Context, *organizations.DescribeOrganizationInput, ...func(*organizations.Options)) (*organizations.DescribeOrganizationOutput, error)
	ListAccountsForParent(context.Context, *organizations.ListAccountsForParentInput, ...func(*organizations.Options)) (*organizations.ListAccountsForParentOutput, error)
	ListOrganizationalUnitsForParent(context.Context, *organizations.ListOrganizationalUnitsForParentInput, ...func(*organizations.Options)) (*organizations.ListOrganizationalUnitsForParentOutput, error)
}

// Bounds of one discovery. AWS's default quotas are 10,000 accounts
// (raisable) and 2,000 OUs with a depth of five under the root; these are
// well above them and keep a listing that never ends (a buggy or hostile
// answer) from holding unbounded memory.
const (
	MaxAccounts = 50_000
	MaxOUs      = 10_000
	// MaxNameLen caps an account name kept in memory and documents: AWS
	// allows 50 characters, but the name is the account owner's to write.
	MaxNameLen = 64
	// pageSize is MaxResults of every listing: Organizations' maximum.
	pageSize = 20
)

// Shapes of the ids Organizations uses (from its API reference).
var (
	rootIDPattern = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDPattern   = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
)

// ValidateTarget checks that id is a root id (r-…) or an OU id (ou-…).
func ValidateTarget(id string) error {
	if rootIDPattern.MatchString(id) || ouIDPattern.MatchString(id) {
		return nil
	}
	return fmt.Errorf("target %q is neither a root id (r-…) nor an organizational unit id (ou-…)", clip(id, 80))
}

// Account is one member account to cover.
type Account struct {
	ID string `json:"id"`
	// Name is the account's name, capped at MaxNameLen runes; the owner
	// of the account chose it: escape it wherever it is rendered.
	Name string `json:"name,omitempty"`
}

// Discovery is what Discover found.
type Discovery struct {
	// Accounts are the ACTIVE accounts under the targets, by id, each
	// once however many targets hold it.
	Accounts []Account
	// Inactive counts the accounts skipped for their state (SUSPENDED,
	// PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION).
	Inactive int
	// Management is the organization's management account, never among
	// Accounts: no service-managed StackSet deploys there.
	Management string
	// Calls counts the Organizations calls made.
	Calls int
}

// IDs returns the account ids, in order.
func (d Discovery) IDs() []string {
	out := make([]string, len(d.Accounts))
	for i, a := range d.Accounts {
		out[i] = a.ID
	}
	return out
}

// Discover lists the ACTIVE accounts under each target and, recursively,
// under every OU below it. An account or OU reached from two targets (an
// OU and its parent, or the root) is listed once. An id of the wrong shape
// in an answer is an error: it would become a key and an ARN.
func Discover(ctx context.Context, api OrganizationsAPI, targets []string) (Discovery, error) {
	var d Discovery
	for _, t := range targets {
		if err := ValidateTarget(t); err != nil {
			return Discovery{}, fmt.Errorf("discovering accounts: %w", err)
		}
	}
	seenOU := map[string]bool{}
	seenAccount := map[string]bool{}
	// The management account is left out: a service-managed StackSet
	// never deploys the spoke there, so it could only ever be reported
	// unreachable, keeping the organization's alarms in ALARM.
	d.Calls++
	out, err := api.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	if err != nil {
		return Discovery{}, fmt.Errorf("discovering accounts: describing the organization: %w", err)
	}
	if out.Organization != nil {
		d.Management = aws.ToString(out.Organization.MasterAccountId)
		if err := settings.ValidateAccountID(d.Management); err != nil {
			return Discovery{}, fmt.Errorf("discovering accounts: the management account: %w", err)
		}
		seenAccount[d.Management] = true
	}
	queue := slices.Clone(targets)
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		if seenOU[parent] {
			continue
		}
		seenOU[parent] = true
		if len(seenOU) > MaxOUs {
			return Discovery{}, fmt.Errorf("discovering accounts: more than %d organizational units", MaxOUs)
		}
		if err := d.listAccounts(ctx, api, parent, seenAccount); err != nil {
			return Discovery{}, err
		}
		children, err := d.listOUs(ctx, api, parent)
		if err != nil {
			return Discovery{}, err
		}
		queue = append(queue, children...)
	}
	slices.SortFunc(d.Accounts, func(a, b Account) int { return strings.Compare(a.ID, b.ID) })
	return d, nil
}

func (d *Discovery) listAccounts(ctx context.Context, api OrganizationsAPI, parent string, seen map[string]bool) error {
	p := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{
		ParentId: aws.String(parent), MaxResults: aws.Int32(pageSize),
	})
	for p.HasMorePages() {
		d.Calls++
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing the accounts of %s: %w", parent, err)
		}
		for _, a := range page.Accounts {
			id := aws.ToString(a.Id)
			if err := settings.ValidateAccountID(id); err != nil {
				return fmt.Errorf("listing the accounts of %s: %w", parent, err)
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			if !active(a) {
				d.Inactive++
				continue
			}
			if len(d.Accounts) >= MaxAccounts {
				return fmt.Errorf("listing the accounts of %s: more than %d active accounts", parent, MaxAccounts)
			}
			d.Accounts = append(d.Accounts, Account{ID: id, Name: clip(aws.ToString(a.Name), MaxNameLen)})
		}
	}
	return nil
}

func (d *Discovery) listOUs(ctx context.Context, api OrganizationsAPI, parent string) ([]string, error) {
	var out []string
	p := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{
		ParentId: aws.String(parent), MaxResults: aws.Int32(pageSize),
	})
	for p.HasMorePages() {
		d.Calls++
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the organizational units of %s: %w", parent, err)
		}
		for _, ou := range page.OrganizationalUnits {
			id := aws.ToString(ou.Id)
			if !ouIDPattern.MatchString(id) {
				return nil, fmt.Errorf("listing the organizational units of %s: %q is not an OU id", parent, clip(id, 80))
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// active reports whether a is ACTIVE. State replaces Status (retired on
// 9 September 2026, per the SDK's documentation); an answer with only
// Status is read from it.
func active(a types.Account) bool {
	if a.State != "" {
		return a.State == types.AccountStateActive
	}
	return a.Status == types.AccountStatusActive
}

// clip cuts s to at most n runes and drops invalid UTF-8.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
