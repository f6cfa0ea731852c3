package reconcile

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// QueueAPI is the part of SQS the organization mode calls;
// *sqs.Client satisfies it.
type QueueAPI interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Defaults of the organization mode.
const (
	// DefaultRegionConcurrency is how many regions of one account a
	// message reconciles at once: each region has its own EC2 throttling
	// buckets, so they do not compete.
	DefaultRegionConcurrency = 17
	// DefaultTeardownConcurrency is how many account-regions the stack's
	// Delete works on at once.
	DefaultTeardownConcurrency = 50
	// accountsTTL is how long a process keeps the organization's account
	// set for checking events: one discovery (one call per OU plus one per
	// 20 accounts) per warm instance per TTL, however many events.
	accountsTTL = 5 * time.Minute
)

// OrgMode is the enabler's organization mode: the hub reconciles the member
// accounts' regions through their VpcFlowLogsSpokeEnabler roles.
type OrgMode struct {
	Settings      settings.OrgEnabler
	Organizations org.OrganizationsAPI
	STS           stscreds.AssumeRoleAPIClient
	// Base is the hub's SDK configuration; spoke clients copy it with the
	// assumed role's credentials and the spoke's region.
	Base      aws.Config
	Partition string // "aws" unless the hub is elsewhere
	Queue     QueueAPI
	Sweeps    *runstate.SweepStore
	Logs      CoverageLogsAPI
	// Metrics receives the organization-level EMF lines; nil discards.
	Metrics io.Writer
	// NewEC2 builds a spoke's EC2 client; nil means ec2.NewFromConfig.
	NewEC2 func(aws.Config) FlowLogAPI
	// RegionConcurrency and TeardownConcurrency override the defaults.
	RegionConcurrency, TeardownConcurrency int
	// RetryDelayMin and RetryDelayMax override the window a transient
	// failure's message waits in (org.DefaultRetryDelayMin/Max).
	RetryDelayMin, RetryDelayMax time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	roles    map[string]*org.Roles // by session name
	accounts map[string]org.Account
	listedAt time.Time
}

// EnableOrganization switches h to organization mode.
func (h *Handler) EnableOrganization(o *OrgMode) { h.org = o }

func (o *OrgMode) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// rolesFor returns the spoke enabler role's cache for one session name:
// one per purpose, so that the spoke's CloudTrail says why the hub came.
func (o *OrgMode) rolesFor(session string) (*org.Roles, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if r, ok := o.roles[session]; ok {
		return r, nil
	}
	r, err := org.NewRoles(o.STS, o.Partition, settings.SpokeEnablerRoleName, session)
	if err != nil {
		return nil, err
	}
	if o.roles == nil {
		o.roles = map[string]*org.Roles{}
	}
	o.roles[session] = r
	return r, nil
}

// discover lists the organization's ACTIVE accounts under the targets and
// keeps them for events.
func (o *OrgMode) discover(ctx context.Context) (org.Discovery, error) {
	d, err := org.Discover(ctx, o.Organizations, o.Settings.Targets)
	if err != nil {
		return org.Discovery{}, err
	}
	set := make(map[string]org.Account, len(d.Accounts))
	for _, a := range d.Accounts {
		set[a.ID] = a
	}
	o.mu.Lock()
	o.accounts, o.listedAt = set, o.now()
	o.mu.Unlock()
	return d, nil
}

// member reports whether account is an ACTIVE account under the targets,
// from a listing at most accountsTTL old.
func (o *OrgMode) member(ctx context.Context, account string) (org.Account, bool, error) {
	o.mu.Lock()
	fresh := o.accounts != nil && o.now().Sub(o.listedAt) < accountsTTL
	a, ok := o.accounts[account]
	o.mu.Unlock()
	if fresh {
		return a, ok, nil
	}
	if _, err := o.discover(ctx); err != nil {
		return org.Account{}, false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok = o.accounts[account]
	return a, ok, nil
}

// coversRegion reports whether region is one the organization mode covers.
func (o *OrgMode) coversRegion(region string) bool {
	return slices.Contains(o.Settings.Regions, region)
}

// spokeConfig is cfg for one account-region: the spoke's delivery role in
// that region; the owner (the hub's stack) and every other setting stay.
// In S3 mode there is no role: every spoke delivers to the hub's central
// bucket with the same destination options (destination.go).
func (o *OrgMode) spokeConfig(cfg settings.Enabler, ar org.AccountRegion) settings.Enabler {
	if cfg.Destination.IsS3() {
		cfg.DeliveryRoleARN = ""
		return cfg
	}
	cfg.DeliveryRoleARN = fmt.Sprintf("arn:%s:iam::%s:role/%s%s", o.Partition, ar.Account, settings.SpokeDeliveryRolePrefix, ar.Region)
	return cfg
}

// spokeRun reconciles one account-region through the spoke role assumed
// with session. The run writes no metrics of its own: the organization's
// come from the coverage document, without a dimension per account.
func (o *OrgMode) spokeRun(ctx context.Context, cfg settings.Enabler, ar org.AccountRegion, session string, t Target) (Result, error) {
	roles, err := o.rolesFor(session)
	if err != nil {
		return Result{}, err
	}
	awsCfg, err := roles.Config(o.Base, ar.Account, ar.Region)
	if err != nil {
		return Result{}, err
	}
	var api FlowLogAPI
	if o.NewEC2 != nil {
		api = o.NewEC2(awsCfg)
	} else {
		api = ec2.NewFromConfig(awsCfg)
	}
	rec := &Reconciler{API: api, Region: ar.Region, Now: o.Now}
	res, err := rec.Run(ctx, o.spokeConfig(cfg, ar), t)
	if err != nil {
		return res, fmt.Errorf("reconciling %s: %w", ar, err)
	}
	return res, nil
}
