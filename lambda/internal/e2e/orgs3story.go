package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// OrgS3StoryOptions size the organization story in S3 mode.
type OrgS3StoryOptions struct {
	// Accounts are the member accounts, each in an OU of the
	// organization: prod and dev in workloads when empty.
	Accounts []OrgAccountSpec
	// Records is how many flow log records the first account-region's
	// objects hold; each next one holds 300 more.
	Records int
	Seed    int64
}

// OrgAccountSpec names a member account and its OU.
type OrgAccountSpec struct{ Name, OU string }

// OrgS3StoryResult is what OrgS3Story saw, by account-region
// ("account/region", the hub's digest streams).
type OrgS3StoryResult struct {
	Bucket    OrgS3
	Accounts  map[string]string // name to account ID
	Delivered map[string]S3Delivery
	Digests   map[string]digest.Digest
	Rollup    digest.Rollup
}

// OrgS3Story plays the organization mode delivering to one central bucket
// with the real bootstraps, checking each step as it goes (steps 3 to 8;
// the harness's are 1 and 2): the central bucket and the member accounts,
// the spokes the StackSet deploys (no log group, no delivery role, the
// two roles the hub assumes); VPCs in every account-region, one tagged;
// the enabler's Create and sweep, after which the hub owns exactly one
// flow log in each account-region, on its tagged VPC, to the central
// bucket with the hub's destination options; AWS's delivery of each
// account-region's objects into the bucket; the summarizer's schedule and
// work queue; and one digest per account-region equal to the generator's
// tally of its objects, with a roll-up adding them up exactly. What the
// harness plays in S3 mode is in orgs3.go.
func (oh *OrgHarness) OrgS3Story(ctx context.Context, r Reporter, o OrgS3StoryOptions) (*OrgS3StoryResult, error) {
	if len(o.Accounts) == 0 {
		o.Accounts = []OrgAccountSpec{{"prod", "workloads"}, {"dev", "workloads"}}
	}
	if o.Records <= 0 {
		o.Records = 500
	}
	res := &OrgS3StoryResult{Accounts: map[string]string{}, Delivered: map[string]S3Delivery{}, Digests: map[string]digest.Digest{}}
	st := &orgS3Story{oh: oh, r: r, o: o, res: res}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"accounts", st.accounts}, {"vpcs", st.vpcs}, {"sweep", st.sweep}, {"deliver", st.deliver}, {"digest", st.digest}, {"check", st.check},
	}
	defer st.close()
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return res, nil
}

type orgS3Story struct {
	oh   *OrgHarness
	r    Reporter
	o    OrgS3StoryOptions
	res  *OrgS3StoryResult
	step int
	// tagged is each account-region's tagged VPC, flowLogs the hub's
	// flow log on it.
	tagged, flowLogs    map[string]string
	enabler, summarizer *Function
}

func (st *orgS3Story) title(format string, args ...any) {
	st.step++
	st.r.Step(st.step+2, fmt.Sprintf(format, args...))
}

func (st *orgS3Story) close() {
	for _, f := range []*Function{st.enabler, st.summarizer} {
		if f != nil {
			f.Close()
		}
	}
}

// accountRegions lists "account/region" for every member account and
// region, in order.
func (st *orgS3Story) accountRegions() []string {
	var out []string
	for _, a := range st.o.Accounts {
		for _, region := range st.oh.Regions {
			out = append(out, st.res.Accounts[a.Name]+"/"+region)
		}
	}
	return out
}

// accounts creates the central bucket and the member accounts, plays the
// StackSet and checks what it deployed.
func (st *orgS3Story) accounts(ctx context.Context) error {
	oh := st.oh
	st.title("Creating the central bucket and the member accounts, and playing the StackSet (moto deploys no StackSet instance)")
	var err error
	if st.res.Bucket, err = oh.PrepareOrgS3(ctx); err != nil {
		return err
	}
	l := st.res.Bucket.Layout
	st.r.Info("central bucket %s in the hub's account %s: prefix %q, file format %s, Hive-compatible %v, per hour %v",
		st.res.Bucket.Bucket, Account, l.Prefix, l.FileFormat, l.HiveCompatible, l.PerHour)
	for _, spec := range st.o.Accounts {
		a, err := oh.Org.AddAccount(ctx, spec.Name, spec.OU)
		if err != nil {
			return err
		}
		st.res.Accounts[spec.Name] = a.ID
		st.r.Info("%-6s %s in %s", spec.Name, a.ID, spec.OU)
	}
	added, err := oh.PlayStackSet(ctx)
	if err != nil {
		return err
	}
	if want := len(st.o.Accounts) * len(oh.Regions); len(added) != want {
		return fmt.Errorf("the StackSet deployed %d instances, want %d (one per account-region)", len(added), want)
	}
	// IAM is global: the spoke's roles are in one of its account's
	// instances (the hub's region), its rules in each.
	byAccount := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(oh.Spokes)) {
		created := strings.Join(oh.Spokes[key].Stack.Created, "\n")
		if strings.Contains(created, "log group") || strings.Contains(created, settings.SpokeDeliveryRolePrefix) {
			return fmt.Errorf("spoke %s created a log group or a delivery role in S3 mode:\n%s", key, created)
		}
		acct, _, _ := strings.Cut(key, "/")
		byAccount[acct] += created + "\n"
	}
	for _, a := range st.o.Accounts {
		acct := st.res.Accounts[a.Name]
		for _, role := range []string{settings.SpokeEnablerRoleName, settings.SpokeReaderRoleName} {
			if !strings.Contains(byAccount[acct], role) {
				return fmt.Errorf("the spokes of %s lack %s:\n%s", acct, role, byAccount[acct])
			}
		}
		st.r.Info("spokes of %s in %s: %s and %s, no flow log group, no delivery role",
			acct, strings.Join(oh.Regions, " and "), settings.SpokeEnablerRoleName, settings.SpokeReaderRoleName)
	}
	return nil
}

// vpcs creates in every account-region one tagged VPC and one untagged.
func (st *orgS3Story) vpcs(ctx context.Context) error {
	st.title("Creating VPCs in every account and region, each account with its own credentials")
	key := envLookup(st.oh.Stack.Names, st.oh.Stack.Enabler)(settings.EnvTagKey)
	st.tagged = map[string]string{}
	for _, a := range st.o.Accounts {
		name := a.Name
		for _, region := range st.oh.Regions {
			acct := st.res.Accounts[name]
			vpcs, err := CreateVPCs(ctx, st.oh.Org.Admin(acct, region), []VPCSpec{
				{Name: name + "-app", Tags: map[string]string{key: tagOn}, Subnets: 1, ENIsPerSubnet: 2},
				{Name: name + "-scratch", Subnets: 1, ENIsPerSubnet: 1},
			})
			if err != nil {
				return fmt.Errorf("%s/%s: %w", acct, region, err)
			}
			st.tagged[acct+"/"+region] = vpcs[0].ID
			st.r.Info("%-6s %s/%s: %s tagged %s=%s; %s untagged", name, acct, region, vpcs[0].ID, key, tagOn, vpcs[1].ID)
		}
	}
	return nil
}

// sweep sends the custom resource's Create, drains the enabler's queue
// and checks the hub's flow logs in every account-region.
func (st *orgS3Story) sweep(ctx context.Context) error {
	oh := st.oh
	st.title("CloudFormation Create: the enabler enqueues the account-regions, answers, and its work queue creates the flow logs")
	var err error
	if st.enabler, err = oh.StartEnabler(oh.Proxy.URL); err != nil {
		return err
	}
	req, err := oh.Stack.CustomResourceEvent(cfn.RequestCreate, "")
	if err != nil {
		return err
	}
	answers, err := SendCustomResource(ctx, st.enabler, oh.CFN, req)
	if err != nil {
		return fmt.Errorf("the Create: %w\n%s", err, st.enabler.Log())
	}
	if len(answers) != 1 || answers[0].Body.Status != "SUCCESS" {
		return fmt.Errorf("the Create got %+v, want one SUCCESS\n%s", answers, st.enabler.Log())
	}
	st.r.Info("answer %s, data %v", answers[0].Body.Status, answers[0].Body.Data)
	p, err := oh.Pump(oh.Stack.Enabler, []Invoker{st.enabler})
	if err != nil {
		return err
	}
	stats, err := p.Drain(ctx)
	if err != nil {
		return fmt.Errorf("the enabler's queue: %w\n%s", err, st.enabler.Log())
	}
	if stats.Failed != 0 {
		return fmt.Errorf("the enabler's queue: %d messages left for redelivery, want 0\n%s", stats.Failed, st.enabler.Log())
	}
	st.r.Info("the work queue: %d invocations, %d messages, %d deleted", stats.Invocations, stats.Received, stats.Deleted)
	dest := "arn:aws:s3:::" + st.res.Bucket.Bucket
	if p := st.res.Bucket.Layout.Prefix; p != "" {
		dest += "/" + p
	}
	st.flowLogs = map[string]string{}
	for _, key := range st.accountRegions() {
		acct, region, _ := strings.Cut(key, "/")
		f, err := st.hubFlowLog(ctx, acct, region)
		if err != nil {
			return err
		}
		o := f.DestinationOptions
		if aws.ToString(f.ResourceId) != st.tagged[key] || f.LogDestinationType != types.LogDestinationTypeS3 || aws.ToString(f.LogDestination) != dest ||
			aws.ToString(f.DeliverLogsPermissionArn) != "" || o == nil || o.FileFormat != types.DestinationFileFormatParquet ||
			!aws.ToBool(o.HiveCompatiblePartitions) || !aws.ToBool(o.PerHourPartition) {
			return fmt.Errorf("%s: the hub's flow log on %s (want %s): %s", key, aws.ToString(f.ResourceId), st.tagged[key],
				describeS3FlowLog(f, dest, flowrecordtest.S3Layout{FileFormat: string(types.DestinationFileFormatParquet), HiveCompatible: true, PerHour: true}))
		}
		st.flowLogs[key] = aws.ToString(f.FlowLogId)
		st.r.Info("%s: %s on %s to %s (%s, Hive-compatible, per hour, no delivery role)", key, aws.ToString(f.FlowLogId), st.tagged[key], dest, o.FileFormat)
	}
	return nil
}

// hubFlowLog is the one flow log the hub owns in the account-region.
func (st *orgS3Story) hubFlowLog(ctx context.Context, account, region string) (types.FlowLog, error) {
	fls, err := st.oh.S3FlowLogs(ctx, account, region)
	if err != nil {
		return types.FlowLog{}, err
	}
	var ours []types.FlowLog
	for _, f := range fls {
		for _, tag := range f.Tags {
			if aws.ToString(tag.Key) == settings.OwnerTagKey && aws.ToString(tag.Value) == st.oh.Stack.Names.StackID {
				ours = append(ours, f)
			}
		}
	}
	if len(ours) != 1 {
		return types.FlowLog{}, fmt.Errorf("%s/%s: the hub owns %d flow logs, want 1", account, region, len(ours))
	}
	return ours[0], nil
}

// deliver plays the delivery service: each account-region's objects of
// the past hour in the central bucket.
func (st *orgS3Story) deliver(ctx context.Context) error {
	st.title("Delivery (played by the harness: moto writes no flow records): each account-region's objects in the central bucket")
	for i, key := range st.accountRegions() {
		acct, region, _ := strings.Cut(key, "/")
		d, err := st.oh.DeliverOrgS3(ctx, st.res.Bucket, acct, region, st.flowLogs[key], st.o.Seed+int64(20+i), st.o.Records+300*i)
		if err != nil {
			return err
		}
		st.res.Delivered[key] = d
		st.r.Info("%s: %d records in %d objects, e.g. %s", key, d.Records, len(d.Objects), d.Objects[0].Key)
	}
	return nil
}

// digest runs the summarizer's schedule and drains its work queue.
func (st *orgS3Story) digest(ctx context.Context) error {
	oh := st.oh
	st.title("The summarizer's schedule: one message per account-region, each digesting its folder of the bucket")
	var err error
	if st.summarizer, err = oh.StartSummarizer(oh.Proxy.URL, settings.EnvSettleLag+"=0s"); err != nil {
		return err
	}
	out, err := st.summarizer.Invoke(ctx, oh.Stack.SummaryEvent())
	if err != nil {
		return fmt.Errorf("the scheduled digest run: %w\n%s", err, st.summarizer.Log())
	}
	st.r.Info("the schedule's run answered %s", truncate(string(out), 300))
	p, err := oh.Pump(oh.Stack.Summarizer, []Invoker{st.summarizer})
	if err != nil {
		return err
	}
	stats, err := p.Drain(ctx)
	if err != nil {
		return fmt.Errorf("the summarizer's queue: %w\n%s", err, st.summarizer.Log())
	}
	if stats.Failed != 0 {
		return fmt.Errorf("the summarizer's queue: %d messages left for redelivery, want 0\n%s", stats.Failed, st.summarizer.Log())
	}
	st.r.Info("the work queue: %d invocations, %d messages, %d deleted", stats.Invocations, stats.Received, stats.Deleted)
	return nil
}

// check reads the hub's documents: one digest per account-region equal to
// the generator's tally of its objects, and one roll-up adding them up.
func (st *orgS3Story) check(ctx context.Context) error {
	oh := st.oh
	st.title("What the hub holds: a digest per account-region and the organization roll-up, in %s", oh.Stack.DigestLogGroup)
	docs, err := ReadGroup(ctx, oh.Clients, oh.Stack.DigestLogGroup)
	if err != nil {
		return err
	}
	var records, bytes uint64
	for _, key := range st.accountRegions() {
		stream := docs[key]
		if len(stream) != 1 {
			return fmt.Errorf("%s: %d digests, want 1; streams %v", key, len(stream), slices.Sorted(maps.Keys(docs)))
		}
		var d digest.Digest
		if err := json.Unmarshal([]byte(stream[0]), &d); err != nil {
			return fmt.Errorf("decoding the digest of %s: %w", key, err)
		}
		want := st.res.Delivered[key].Expected
		if diffs := DiffDigest(d, want); len(diffs) > 0 || d.Totals.Records == 0 || d.Read.BadObjects != 0 {
			return fmt.Errorf("%s: the digest of %d records, %d bad objects, differs from what was delivered:\n  %s",
				key, d.Totals.Records, d.Read.BadObjects, strings.Join(diffs, "\n  "))
		}
		st.res.Digests[key] = d
		records, bytes = records+want.Totals.Records, bytes+want.Totals.Bytes
		st.r.Info("digest %s: %d objects, %d records, %d accepted, %d rejected, %d new interfaces: equal to the generator's tally",
			key, d.Read.Objects, d.Totals.Records, d.Totals.Accepted, d.Totals.Rejected, d.NewInterfaces.Count)
	}
	rolls := docs[digest.RollupStreamName]
	if len(rolls) != 1 {
		return fmt.Errorf("%d roll-ups, want 1", len(rolls))
	}
	roll := &st.res.Rollup
	if err := json.Unmarshal([]byte(rolls[0]), roll); err != nil {
		return fmt.Errorf("decoding the roll-up: %w", err)
	}
	n := len(st.accountRegions())
	if roll.AccountRegions != (digest.RollupCounts{Expected: n, Digested: n}) || roll.Totals.Records != records || roll.Totals.Bytes != bytes {
		return fmt.Errorf("roll-up %+v with %d records, %d bytes; want %d digested of %d, %d records, %d bytes",
			roll.AccountRegions, roll.Totals.Records, roll.Totals.Bytes, n, n, records, bytes)
	}
	st.r.Info("the organization roll-up (stream %s), as text:", digest.RollupStreamName)
	for _, line := range strings.Split(strings.TrimRight(roll.Text(), "\n"), "\n") {
		st.r.Info("  | %s", line)
	}
	return nil
}
