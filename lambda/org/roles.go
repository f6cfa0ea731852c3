package org

import (
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Session names say who assumed a spoke role and why; they appear in the
// spoke's CloudTrail as the assumed-role session.
const (
	SessionEnablerSweep    = "vpcflowlogs-enabler-sweep"
	SessionEnablerEvent    = "vpcflowlogs-enabler-event"
	SessionEnablerTeardown = "vpcflowlogs-enabler-teardown"
	SessionSummarizer      = "vpcflowlogs-summarizer-digest"
)

// roleDuration is how long assumed credentials last: AWS's minimum, 15
// minutes, the Lambda timeout's maximum, so that a leaked set expires
// soon. The cache renews them before they expire.
const roleDuration = 15 * time.Minute

// Roles hands out the credentials of one spoke role (by name) in each
// account, assuming it at most once per account while the credentials
// last: every region of an account shares one aws.CredentialsCache, which
// also makes concurrent first uses share one AssumeRole call.
type Roles struct {
	sts       stscreds.AssumeRoleAPIClient
	partition string
	role      string
	session   string

	mu    sync.Mutex
	cache map[string]*aws.CredentialsCache
}

// NewRoles assumes the role named role (settings.SpokeEnablerRoleName or
// SpokeReaderRoleName) in each account of partition through api, with
// session as the session name (one of the Session… constants).
func NewRoles(api stscreds.AssumeRoleAPIClient, partition, role, session string) (*Roles, error) {
	if api == nil {
		return nil, fmt.Errorf("spoke role %s: no STS client", role)
	}
	if partition == "" || role == "" || session == "" {
		return nil, fmt.Errorf("spoke role %q: partition %q and session %q must be set", role, partition, session)
	}
	return &Roles{sts: api, partition: partition, role: role, session: session, cache: map[string]*aws.CredentialsCache{}}, nil
}

// RoleARN is the spoke role's ARN in account.
func (r *Roles) RoleARN(account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", r.partition, account, r.role)
}

// Credentials returns the provider of account's role credentials, the same
// one for every region. account must be twelve digits.
func (r *Roles) Credentials(account string) (aws.CredentialsProvider, error) {
	if err := settings.ValidateAccountID(account); err != nil {
		return nil, fmt.Errorf("spoke role credentials: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.cache[account]; ok {
		return c, nil
	}
	c := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(r.sts, r.RoleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.session
		o.Duration = roleDuration
	}))
	r.cache[account] = c
	return c, nil
}

// Config returns base for account and region: the same settings (endpoint,
// retryer constructor, HTTP client) with the spoke role's credentials.
// Each client built from it gets its own retryer (aws.Config.Retryer is a
// constructor), so one throttled account does not drain another's quota.
func (r *Roles) Config(base aws.Config, account, region string) (aws.Config, error) {
	creds, err := r.Credentials(account)
	if err != nil {
		return aws.Config{}, err
	}
	if err := settings.ValidateRegion(region); err != nil {
		return aws.Config{}, fmt.Errorf("spoke configuration for %s: %w", account, err)
	}
	cfg := base.Copy()
	cfg.Credentials = creds
	cfg.Region = region
	return cfg, nil
}
