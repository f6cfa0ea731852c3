package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// OrgOptions shape the simulated organization of an OrgHarness.
type OrgOptions struct {
	// OUs are created under the root; the StackSet targets them all.
	OUs []string
	// Regions are the organization's regions (the hub's first).
	Regions []string
}

// DefaultOrgOptions are the demo's: two OUs, two regions.
var DefaultOrgOptions = OrgOptions{OUs: []string{"workloads", "sandbox"}, Regions: []string{testenv.Region, "eu-west-1"}}

// OrgHarness is a Harness whose hub runs in organization mode, over an
// organization simulated in moto: the hub account is moto's default
// account (Account), the organization's management account; the harness
// plays the StackSet (DeploySpoke), Lambda's event source mappings (Pump)
// and the hub bus (OrgBus).
type OrgHarness struct {
	*Harness
	Org *Organization
	// Accounts sits in the functions' proxy: it knows which account each
	// call acts in, and refuses AssumeRole of a missing role as STS does.
	Accounts *motoproxy.Accounts
	StackSet *StackSet
	Bus      *OrgBus
	Regions  []string
	// Spokes are the deployed stack instances, by "account/region".
	Spokes map[string]*Spoke
	// Failing are the accounts whose StackSet instances fail.
	Failing map[string]bool
	// Workarounds lists what the harness adds to the template's function
	// environment because the template lacks it: each is a finding.
	Workarounds []string
}

// StartEnabler runs a process of the hub's enabler, with the harness's
// workarounds (see Workarounds).
func (oh *OrgHarness) StartEnabler(endpoint string) (*Function, error) {
	env := envLookup(oh.Stack.Names, oh.Stack.Enabler)
	var extra []string
	// The enabler writes the coverage document to the digest group and
	// reads its name from SUMMARY_LOG_GROUP_NAME in organization mode.
	if env(settings.EnvSummaryLogGroupName) == "" {
		kv := settings.EnvSummaryLogGroupName + "=" + oh.Stack.DigestLogGroup
		extra = append(extra, kv)
		if !slices.Contains(oh.Workarounds, "enabler "+kv) {
			oh.Workarounds = append(oh.Workarounds, "enabler "+kv)
		}
	}
	return oh.Harness.StartEnabler(endpoint, extra...)
}

// StartOrg starts moto, creates the organization, synthesizes the app in
// organization mode for it (the organization's id and OUs are moto's, so
// they are known only now), and deploys the hub. It deploys no spoke: the
// story adds the accounts and plays the StackSet.
func StartOrg(ctx context.Context, c Config, o OrgOptions) (oh *OrgHarness, err error) {
	if m := Missing(); len(m) > 0 {
		return nil, fmt.Errorf("missing tools (or run: make tools):\n  %s", strings.Join(m, "\n  "))
	}
	step := c.Step
	if step == nil {
		step = func(string) {}
	}
	h := &Harness{Config: c, Bootstraps: map[string]string{}}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	if h.Root, err = testenv.ModuleRoot(); err != nil {
		return nil, err
	}
	step("starting moto")
	if h.Moto, err = testenv.StartMoto(); err != nil {
		return nil, err
	}
	oh = &OrgHarness{Harness: h, Regions: o.Regions, Spokes: map[string]*Spoke{}, Failing: map[string]bool{}, Accounts: motoproxy.NewAccounts(h.Moto.URL)}
	step("creating the organization")
	if oh.Org, err = NewOrganization(ctx, h.Moto.URL, o.OUs...); err != nil {
		return nil, err
	}
	targets := make([]string, 0, len(o.OUs))
	for _, name := range o.OUs {
		targets = append(targets, oh.Org.OUs[name])
	}
	h.Context = maps.Clone(c.Context)
	if h.Context == nil {
		h.Context = map[string]any{}
	}
	h.Context["organizationId"] = oh.Org.ID
	h.Context["organizationTargets"] = targets
	h.Context["organizationRegions"] = o.Regions
	h.Context["organizationDeployedBy"] = settings.DeployedByManagement
	if err := oh.synthHub(ctx, step); err != nil {
		return nil, err
	}
	return oh, oh.deployHub(ctx, step)
}

// synthHub synthesizes the app in organization mode and locates the hub.
func (oh *OrgHarness) synthHub(ctx context.Context, step func(string)) error {
	h := oh.Harness
	step("synthesizing the CDK app")
	for _, name := range Functions {
		b, err := testenv.Bootstrap(name, h.WorkDir+"/build")
		if err != nil {
			return err
		}
		h.Bootstraps[name] = b
	}
	began := time.Now()
	file, err := Synth(ctx, h.Root, h.WorkDir, h.Bootstraps, h.Context)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("synthesized in %.1fs", time.Since(began).Seconds()))
	t, err := ReadTemplate(file)
	if err != nil {
		return err
	}
	h.Stack, err = LocateHub(t, NewStackID(testenv.Region, Account, StackName, NewID()))
	return err
}

// LocateHub is Locate for the hub of the organization mode, which has no
// flow log group or delivery role of its own (the spokes have them).
func LocateHub(t *Template, stackID string) (*Stack, error) {
	n := NameResources(t, StackName, stackID, Account, testenv.Region)
	n.Params, n.Conditions = map[string]string{}, map[string]bool{}
	s := &Stack{Template: t, Names: n, NotCreated: map[string]int{}}
	var errs []error
	find := func(suffix string) *Resource {
		r, err := t.ByPath(suffix)
		errs = append(errs, err)
		return r
	}
	digests, state := find("/DigestLogGroup/Resource"), find("/State/Resource")
	s.Enabler, s.Summarizer = find("/Enabler/Resource"), find("/Summarizer/Resource")
	s.Reconcile = find("/Reconcile/Default")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.DigestLogGroup, s.StateTable = n.Ref[digests.LogicalID], n.Ref[state.LogicalID]
	return s, nil
}

// deployHub deploys the hub, reads its StackSet and bus, and puts the
// Accounts hook in front of the functions.
func (oh *OrgHarness) deployHub(ctx context.Context, step func(string)) (err error) {
	h := oh.Harness
	h.Clients = NewClients(h.Moto.URL)
	if err := h.startProxy(); err != nil {
		return err
	}
	oh.Accounts.RequireRoles(true)
	h.Proxy.AddHook(oh.Accounts.Hook)
	h.CFN = testenv.StartCFNResponder()
	step("deploying the hub")
	if err := Deploy(ctx, h.Clients, h.Stack); err != nil {
		return err
	}
	if oh.StackSet, err = ReadStackSet(h.Stack); err != nil {
		return err
	}
	oh.Bus, err = ReadOrgBus(h.Stack, settings.HubEventBusName, oh.Org.Member)
	return err
}

// PlayStackSet deploys the spoke template into every instance the
// StackSet has now that has none yet, as CloudFormation does on creation
// and, with automatic deployment, when an account joins a targeted OU.
// failing adds accounts whose instances fail, now and later (their spoke
// roles stay missing). It returns the instances it deployed.
func (oh *OrgHarness) PlayStackSet(ctx context.Context, failing ...string) ([]string, error) {
	for _, a := range failing {
		oh.Failing[a] = true
	}
	instances, err := oh.StackSet.Instances(ctx, oh.Org)
	if err != nil {
		return nil, err
	}
	var added []string
	for _, in := range instances {
		key := in[0] + "/" + in[1]
		if _, done := oh.Spokes[key]; done || oh.Failing[in[0]] {
			continue
		}
		sp, err := oh.Org.DeploySpoke(ctx, oh.StackSet.Template, in[0], in[1], oh.StackSet.Params)
		if err != nil {
			return added, err
		}
		oh.Spokes[key] = sp
		added = append(added, key)
	}
	return added, nil
}

// Pump returns the pump of fn's work queue (the template's event source
// mapping), with one worker per Invoker: give one Function each.
func (oh *OrgHarness) Pump(fn *Resource, workers []Invoker) (*Pump, error) {
	m, err := ReadMapping(oh.Stack, fn)
	if err != nil {
		return nil, err
	}
	return &Pump{Mapping: m, SQS: oh.Clients.SQS, Workers: workers, Region: oh.Stack.Names.Region}, nil
}

// ReadGroup returns every event message of every stream of a log group,
// by stream, in the order written.
func ReadGroup(ctx context.Context, c Clients, group string) (map[string][]string, error) {
	out := map[string][]string{}
	p := cloudwatchlogs.NewDescribeLogStreamsPaginator(c.Logs, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var nf *logstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing the streams of %s: %w", group, err)
		}
		for _, s := range page.LogStreams {
			name := aws.ToString(s.LogStreamName)
			in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(name), StartFromHead: aws.Bool(true)}
			for {
				ev, err := c.Logs.GetLogEvents(ctx, in)
				if err != nil {
					return nil, fmt.Errorf("reading %s %s: %w", group, name, err)
				}
				for _, e := range ev.Events {
					out[name] = append(out[name], aws.ToString(e.Message))
				}
				next := aws.ToString(ev.NextForwardToken)
				if next == "" || next == aws.ToString(in.NextToken) || len(ev.Events) == 0 {
					break
				}
				in.NextToken = aws.String(next)
			}
		}
	}
	return out, nil
}
