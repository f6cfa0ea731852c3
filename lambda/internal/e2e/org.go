package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// AdminRoleName is the role AWS Organizations creates in every account it
// creates, trusting the management account; moto creates it too
// (moto/organizations/models.py). The harness assumes it to act as the
// account's administrator, as a StackSet's service-managed deployment
// does.
const AdminRoleName = "OrganizationAccountAccessRole"

// OrgAccount is a member account of the simulated organization.
type OrgAccount struct {
	ID, Name string
	// OU is the id of the account's parent: an OU, or the root.
	OU string
}

// Organization is an AWS Organization simulated in moto, managed from the
// harness's own account (Account), which is its management account and
// the hub.
type Organization struct {
	ID, RootID string
	// OUs maps each OU's name to its id.
	OUs      map[string]string
	Accounts []OrgAccount
	// Org is the management account's Organizations client.
	Org *organizations.Client

	url   string
	sts   *sts.Client
	mu    sync.Mutex
	creds map[string]aws.CredentialsProvider
}

// NewOrganization creates an organization with every feature, and an OU
// under the root for each name.
func NewOrganization(ctx context.Context, url string, ous ...string) (*Organization, error) {
	cfg := testenv.AWSConfig(url)
	o := &Organization{
		OUs: map[string]string{}, Org: organizations.NewFromConfig(cfg),
		url: url, sts: sts.NewFromConfig(cfg), creds: map[string]aws.CredentialsProvider{},
	}
	out, err := o.Org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		return nil, fmt.Errorf("creating the organization: %w", err)
	}
	o.ID = aws.ToString(out.Organization.Id)
	roots, err := o.Org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		return nil, fmt.Errorf("listing the organization's root: %w", err)
	}
	if len(roots.Roots) != 1 {
		return nil, fmt.Errorf("listing the organization's root: %d roots, want 1", len(roots.Roots))
	}
	o.RootID = aws.ToString(roots.Roots[0].Id)
	for _, name := range ous {
		ou, err := o.Org.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(o.RootID), Name: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("creating the OU %s: %w", name, err)
		}
		o.OUs[name] = aws.ToString(ou.OrganizationalUnit.Id)
	}
	return o, nil
}

// AddAccount creates a member account (moto gives its id and creates its
// AdminRoleName role) and moves it into the OU named ou ("" keeps it
// under the root).
func (o *Organization) AddAccount(ctx context.Context, name, ou string) (OrgAccount, error) {
	out, err := o.Org.CreateAccount(ctx, &organizations.CreateAccountInput{
		AccountName: aws.String(name), Email: aws.String(name + "@example.com"),
	})
	if err != nil {
		return OrgAccount{}, fmt.Errorf("creating the account %s: %w", name, err)
	}
	id := aws.ToString(out.CreateAccountStatus.AccountId)
	if id == "" {
		return OrgAccount{}, fmt.Errorf("creating the account %s: state %s, no account id", name, out.CreateAccountStatus.State)
	}
	acct := OrgAccount{ID: id, Name: name, OU: o.RootID}
	if ou != "" {
		ouID, ok := o.OUs[ou]
		if !ok {
			return OrgAccount{}, fmt.Errorf("moving the account %s: no OU named %q", name, ou)
		}
		if _, err := o.Org.MoveAccount(ctx, &organizations.MoveAccountInput{
			AccountId: aws.String(id), SourceParentId: aws.String(o.RootID), DestinationParentId: aws.String(ouID),
		}); err != nil {
			return OrgAccount{}, fmt.Errorf("moving the account %s into %s: %w", name, ou, err)
		}
		acct.OU = ouID
	}
	o.mu.Lock()
	o.Accounts = append(o.Accounts, acct)
	o.mu.Unlock()
	return acct, nil
}

// Suspend closes an account: Organizations lists it as SUSPENDED from then
// on.
func (o *Organization) Suspend(ctx context.Context, id string) error {
	if _, err := o.Org.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(id)}); err != nil {
		return fmt.Errorf("closing the account %s: %w", id, err)
	}
	return nil
}

// Member reports whether id is an account of the organization, the
// management account included.
func (o *Organization) Member(id string) bool {
	if id == Account {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range o.Accounts {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Statuses lists every account's status as Organizations reports it, by
// account id.
func (o *Organization) Statuses(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	p := organizations.NewListAccountsPaginator(o.Org, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the organization's accounts: %w", err)
		}
		for _, a := range page.Accounts {
			out[aws.ToString(a.Id)] = string(a.Status)
		}
	}
	return out, nil
}

// AccountIDs are the member accounts' ids, sorted.
func (o *Organization) AccountIDs() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]string, 0, len(o.Accounts))
	for _, a := range o.Accounts {
		ids = append(ids, a.ID)
	}
	sort.Strings(ids)
	return ids
}

// Admin returns clients acting in account and region as its administrator:
// credentials from assuming its AdminRoleName, which moto honours by
// acting in the role's account. One AssumeRole per account, cached.
func (o *Organization) Admin(account, region string) Clients {
	o.mu.Lock()
	creds, ok := o.creds[account]
	if !ok {
		role := fmt.Sprintf("arn:aws:iam::%s:role/%s", account, AdminRoleName)
		creds = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(o.sts, role, func(p *stscreds.AssumeRoleOptions) {
			p.RoleSessionName = "vpcflowlogs-harness-stackset"
			p.Duration = time.Hour
		}))
		o.creds[account] = creds
	}
	o.mu.Unlock()
	return ClientsFor(o.url, region, creds)
}

// ClientsFor returns clients for url in region with creds.
func ClientsFor(url, region string, creds aws.CredentialsProvider) Clients {
	cfg := testenv.AWSConfig(url)
	cfg.Region = region
	cfg.Credentials = creds
	return Clients{
		EC2:      ec2.NewFromConfig(cfg),
		Logs:     cloudwatchlogs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
		IAM:      iam.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
	}
}
