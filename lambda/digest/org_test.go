package digest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The organization tests run the hub summarizer against moto with several
// accounts: credentials that sts:AssumeRole returns for a role ARN in
// another account act in that account, so each spoke's flow log group is
// its own. moto deploys no StackSet instances, so the test creates what
// the spoke template would (the flow log group) in each member
// account-region itself; moto lets anyone assume any role ARN, so a
// missing spoke role is played by a proxy hook that answers AssumeRole as
// STS does (403 AccessDenied). The test also plays the SQS event source
// mapping (pump): it receives, invokes the handler with one message per
// batch, deletes what succeeded and makes the rest visible again.

var orgRegions = []string{"us-east-1", "eu-west-1"}

type orgWorld struct {
	f        *fixture
	p        *motoproxy.Proxy
	o        *digest.Org
	sqs      *sqs.Client
	queueURL string
	ok       []string // member accounts with their spoke deployed
	missing  string   // a member account whose reader role is missing
	spokeLog func(account, region string) *cloudwatchlogs.Client
	assumed  map[string]int // role ARN → AssumeRole calls
	mu       sync.Mutex
	state    *flakyRunState
	lines    map[string][]line // "account/region" → lines delivered
	// settings and clients made o, for a test to make another.
	settings settings.SummarizerOrg
	clients  digest.OrgClients
}

func newOrgWorld(t *testing.T) *orgWorld {
	t.Helper()
	f := newFixture(t)
	_, p := emulator(t)
	ctx := f.ctx
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &orgWorld{f: f, p: p, sqs: sqs.NewFromConfig(awsCfg), assumed: map[string]int{}, lines: map[string][]line{},
		state: &flakyRunState{RunAPI: f.db}}
	orgs := organizations.NewFromConfig(awsCfg)
	orgID, ou := w.organization(t, orgs)
	q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("summarizer-work")})
	if err != nil {
		t.Fatal(err)
	}
	w.queueURL = aws.ToString(q.QueueUrl)

	roles, err := org.NewRoles(sts.NewFromConfig(awsCfg), "aws", settings.SpokeReaderRoleName, org.SessionSummarizer)
	if err != nil {
		t.Fatal(err)
	}
	p.AddHook(w.assumeRole(roles.RoleARN(w.missing)))
	t.Cleanup(p.Reset)
	spokeCfg := func(account, region string) (aws.Config, error) {
		cfg, err := roles.Config(awsCfg, account, region)
		if err != nil {
			return cfg, err
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return cfg, fmt.Errorf("assuming %s: %w", roles.RoleARN(account), err)
		}
		return cfg, nil
	}
	spoke := func(_ context.Context, account, region string) (digest.LogsAPI, digest.EC2API, error) {
		cfg, err := spokeCfg(account, region)
		if err != nil {
			return nil, nil, err
		}
		// Few, quick retries: a test that throttles a region waits for the
		// SDK to give up.
		quick := func(o *cloudwatchlogs.Options) {
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts, so.MaxBackoff = 3, 10*time.Millisecond })
		}
		return cloudwatchlogs.NewFromConfig(cfg, quick), ec2.NewFromConfig(cfg), nil
	}
	// The test's own spoke client, with the hub's static credentials
	// swapped for an assumed role's, acts in the account without counting.
	w.spokeLog = func(account, region string) *cloudwatchlogs.Client {
		out, err := sts.NewFromConfig(awsCfg).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + account + ":role/OrganizationAccountAccessRole"), RoleSessionName: aws.String("test"),
		})
		if err != nil {
			t.Fatal(err)
		}
		c := awsCfg.Copy()
		c.Region = region
		c.Credentials = aws.NewCredentialsCache(staticCreds{out})
		return cloudwatchlogs.NewFromConfig(c)
	}
	w.settings = settings.SummarizerOrg{OrganizationID: orgID, Targets: []string{ou}, Regions: orgRegions, QueueURL: w.queueURL, HubAccount: account}
	w.clients = digest.OrgClients{Logs: f.logs, State: w.state, Organizations: orgs, Queue: w.sqs, Spoke: spoke}
	w.o, err = digest.NewOrg(f.cfg, w.settings, w.clients)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type staticCreds struct{ out *sts.AssumeRoleOutput }

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	c := s.out.Credentials
	return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: time.Now().Add(time.Hour)}, nil
}

// organization creates the organization, an OU with three member accounts
// (the third without its reader role), and returns the ids.
func (w *orgWorld) organization(t *testing.T, api *organizations.Client) (orgID, ou string) {
	t.Helper()
	ctx := w.f.ctx
	o, err := api.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	if err != nil {
		t.Fatal(err)
	}
	roots, err := api.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	root := aws.ToString(roots.Roots[0].Id)
	u, err := api.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(root), Name: aws.String("Workloads")})
	if err != nil {
		t.Fatal(err)
	}
	ou = aws.ToString(u.OrganizationalUnit.Id)
	for i := range 3 {
		a, err := api.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String("member" + itoa(i)), Email: aws.String(itoa(i) + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(a.CreateAccountStatus.AccountId)
		if _, err := api.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(root), DestinationParentId: aws.String(ou)}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			w.ok = append(w.ok, id)
		} else {
			w.missing = id
		}
	}
	return aws.ToString(o.Organization.Id), ou
}

// assumeRole counts AssumeRole calls per role and answers the missing
// role's as STS answers a role that does not exist or does not trust the
// caller.
func (w *orgWorld) assumeRole(missing string) motoproxy.Hook {
	return func(rw http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action != "AssumeRole" || strings.HasSuffix(c.Form.Get("RoleArn"), "/OrganizationAccountAccessRole") {
			return false
		}
		arn := c.Form.Get("RoleArn")
		w.mu.Lock()
		w.assumed[arn]++
		w.mu.Unlock()
		if arn != missing {
			return false
		}
		rw.Header().Set("Content-Type", "text/xml")
		rw.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(rw, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, arn)
		return true
	}
}

// deliver creates the spoke's flow log group (what the spoke template
// holds) in every deployed account-region, and plays the delivery service
// there: records of [start, start+40m), a seed of their own per
// account-region.
func (w *orgWorld) deliver(t *testing.T, start time.Time, seed int64) {
	t.Helper()
	for i, a := range w.ok {
		for j, r := range orgRegions {
			logs := w.spokeLog(a, r)
			_, err := logs.CreateLogGroup(w.f.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(flowGroup)})
			var exists *logstypes.ResourceAlreadyExistsException
			if err != nil && !errors.As(err, &exists) {
				t.Fatal(err)
			}
			sf := *w.f
			sf.logs = logs
			g := flowrecordtest.NewGenerator(flowrecordtest.Config{
				Seed: seed + int64(10*i+j), Records: 1500 + 500*i + 250*j, Interfaces: 3 + i + j,
				StartTime: start.Unix(), Span: int64((40 * time.Minute).Seconds()), MalformedShare: 0.002, SkipDataShare: 0.01,
			})
			w.lines[a+"/"+r] = append(w.lines[a+"/"+r], sf.generate(g)...)
		}
	}
}

// tick runs the schedule's invocation.
func (w *orgWorld) tick(t *testing.T) digest.TickResult {
	t.Helper()
	return w.tickEvent(t, `{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`)
}

func (w *orgWorld) tickEvent(t *testing.T, event string) digest.TickResult {
	t.Helper()
	out, err := w.o.Handle(w.f.ctx, json.RawMessage(event))
	if err != nil {
		t.Fatal(err)
	}
	return out.(digest.TickResult)
}

// pump plays the event source mapping until the queue is empty: one
// message a batch, failures made visible again, and a message that fails
// its last delivery dropped as the redrive policy would move it to the
// dead-letter queue. It returns the messages dead-lettered.
func (w *orgWorld) pump(t *testing.T) int {
	t.Helper()
	dead, _ := w.pumpFor(t, 50, true)
	return dead
}

// pumpFor receives at most rounds times; with retry, failed messages are
// made visible again at once, else they stay invisible and their receipt
// handles are returned.
func (w *orgWorld) pumpFor(t *testing.T, rounds int, retry bool) (dead int, held []*string) {
	t.Helper()
	ctx := w.f.ctx
	for range rounds {
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(w.queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 30,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return dead, held
		}
		for _, m := range out.Messages {
			receives := m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
			ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body),
				EventSource: "aws:sqs", Attributes: map[string]string{"ApproximateReceiveCount": receives}}}}
			raw, _ := json.Marshal(ev)
			res, err := w.o.Handle(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			failed := len(res.(events.SQSEventResponse).BatchItemFailures) > 0
			switch {
			case failed && !retry:
				held = append(held, m.ReceiptHandle)
				continue
			case failed && receives != itoa(settings.DigestQueueMaxReceiveCount):
				_, err = w.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
			default:
				if failed {
					dead++
				}
				_, err = w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: m.ReceiptHandle})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if retry {
		t.Fatalf("the queue did not drain in %d receives", rounds)
	}
	return dead, held
}

// events reads every JSON event of a stream of the hub's digest group.
func (w *orgWorld) events(t *testing.T, stream string) []string {
	t.Helper()
	out, err := w.f.logs.GetLogEvents(w.f.ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(summaryGroup), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
	})
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range out.Events {
		s = append(s, aws.ToString(e.Message))
	}
	return s
}

func (w *orgWorld) digestsOf(t *testing.T, account, region string) []digest.Digest {
	t.Helper()
	var ds []digest.Digest
	for _, e := range w.events(t, account+"/"+region) {
		var d digest.Digest
		if err := json.Unmarshal([]byte(e), &d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func (w *orgWorld) rollups(t *testing.T) []digest.Rollup {
	t.Helper()
	var rs []digest.Rollup
	for _, e := range w.events(t, digest.RollupStreamName) {
		var r digest.Rollup
		if err := json.Unmarshal([]byte(e), &r); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestOrgDigestsEachAccountRegionAndRollsUp proves the organization mode
// end to end against moto: the tick enqueues one message per ACTIVE
// account × region; each deployed account-region gets one digest in its
// own stream of the hub's group, labelled with its account, region and
// run, counting exactly the records delivered there (an independent
// tally); the account whose reader role is missing is retried up to the
// last delivery and then reported by account-region, classified, while
// the others are digested; the reader role is assumed once per account
// across its regions; and the one roll-up's totals, per-account figures
// and lost records equal the sums of the account-region digests, with
// merged top lists whose every count brackets the true one.
func TestOrgDigestsEachAccountRegionAndRollsUp(t *testing.T) {
	w := newOrgWorld(t)
	w.deliver(t, w.f.real.Add(-50*time.Minute), 1)
	tick := w.tick(t)
	if tick.Accounts != 3 || tick.Regions != 2 || tick.Messages != 6 {
		t.Fatalf("tick %+v, want 3 accounts × 2 regions = 6 messages", tick)
	}
	if dead := w.pump(t); dead != 0 {
		t.Errorf("%d messages dead-lettered, want 0: the last delivery records the failure", dead)
	}

	var sum digest.Totals
	var skip uint64
	perAccount := map[string]digest.Totals{}
	for _, a := range w.ok {
		for _, r := range orgRegions {
			ds := w.digestsOf(t, a, r)
			if len(ds) != 1 {
				t.Fatalf("%s %s: %d digests, want 1", a, r, len(ds))
			}
			d := ds[0]
			if d.Account != a || d.Region != r || d.OrgRun != tick.RunID {
				t.Errorf("%s %s: digest labelled %s %s run %s, want run %s", a, r, d.Account, d.Region, d.OrgRun, tick.RunID)
			}
			want, accRej := expectWindow(w.lines[a+"/"+r], flowrecord.DefaultFormat(), d.Window.From, d.Window.To)
			checkDigest(t, d, want, accRej)
			// Each account-region's digest has its findings, as a
			// single-account digest does (with its own baseline).
			if d.FindingsBasis == nil || d.FindingsBasis.Baseline == "" {
				t.Errorf("%s %s: digest without findings (basis %+v)", a, r, d.FindingsBasis)
			}
			if d.Totals.Records == 0 {
				t.Fatalf("%s %s: an empty digest proves nothing", a, r)
			}
			addTo(&sum, d.Totals)
			at := perAccount[a]
			addTo(&at, d.Totals)
			perAccount[a] = at
			skip += d.SkipData.Records
		}
	}

	rs := w.rollups(t)
	if len(rs) != 1 {
		t.Fatalf("%d roll-ups, want 1", len(rs))
	}
	r := rs[0]
	if r.RunID != tick.RunID || r.AccountRegions != (digest.RollupCounts{Expected: 6, Digested: 4, Failed: 2}) {
		t.Errorf("roll-up run %s counts %+v, want run %s with 4 digested and 2 failed of 6", r.RunID, r.AccountRegions, tick.RunID)
	}
	if r.Totals.Totals != sum.Totals || r.Totals.AcceptedBytes != sum.AcceptedBytes || r.Totals.RejectedBytes != sum.RejectedBytes || r.SkipData != skip || skip == 0 {
		t.Errorf("roll-up totals %+v, SKIPDATA %d; the digests sum to %+v, %d", r.Totals, r.SkipData, sum, skip)
	}
	for _, a := range r.ByAccount {
		if want := perAccount[a.Account]; a.Totals.Totals != want.Totals {
			t.Errorf("account %s: roll-up totals %+v, its digests sum to %+v", a.Account, a.Totals.Totals, want.Totals)
		}
	}
	if len(r.Unreadable) != 2 {
		t.Fatalf("unreadable %+v, want the missing account in both regions", r.Unreadable)
	}
	for _, u := range r.Unreadable {
		if u.Account != w.missing || u.Class != string(org.ClassRoleUnavailable) || !strings.Contains(u.Reason, settings.SpokeReaderRoleName) {
			t.Errorf("unreadable %+v, want %s role-unavailable naming the reader role", u, w.missing)
		}
	}
	w.checkAssumedOnce(t)
	checkMergedTopTalkers(t, r, w.lines)
	if txt := r.Text(); !strings.Contains(txt, "UNREADABLE") || !strings.Contains(txt, w.missing) {
		t.Errorf("the roll-up's text does not report the unreadable account:\n%s", txt)
	}
}

// checkAssumedOnce: each deployed account's reader role was assumed once
// for its two regions; the missing one on each delivery.
func (w *orgWorld) checkAssumedOnce(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for arn, n := range w.assumed {
		if strings.Contains(arn, w.missing) {
			if n != len(orgRegions)*settings.DigestQueueMaxReceiveCount {
				t.Errorf("%s assumed %d times, want once per delivery (%d)", arn, n, len(orgRegions)*settings.DigestQueueMaxReceiveCount)
			}
			continue
		}
		if n != 1 {
			t.Errorf("%s assumed %d times, want 1 across its regions", arn, n)
		}
	}
	if len(w.assumed) != 3 {
		t.Errorf("roles assumed: %v, want the 3 members' reader roles", w.assumed)
	}
}

// checkMergedTopTalkers: each merged count overstates the organization's
// true count by at most its MaxError, and never understates it.
func checkMergedTopTalkers(t *testing.T, r digest.Rollup, lines map[string][]line) {
	t.Helper()
	a := flowrecord.NewAggregator(flowrecord.Options{TopK: 1 << 20, MaxTracked: 1 << 20})
	p := flowrecord.NewParser(flowrecord.DefaultFormat())
	var rec flowrecord.Record
	for _, ls := range lines {
		for _, l := range ls {
			if p.Parse(l.text, &rec) == nil && l.ts >= r.Window.From.UnixMilli() && l.ts < r.Window.To.UnixMilli() {
				a.Add(&rec)
			}
		}
	}
	truth := map[[2]string]uint64{}
	for _, x := range a.Summary().TopTalkers {
		truth[[2]string{x.Src.String(), x.Dst.String()}] = x.Bytes
	}
	if len(r.TopTalkers) == 0 {
		t.Fatal("no merged top talkers")
	}
	for _, x := range r.TopTalkers {
		real := truth[[2]string{x.Src.String(), x.Dst.String()}]
		if real > x.Bytes || x.Bytes-x.MaxError > real {
			t.Errorf("talker %s -> %s: merged %d ± %d, true %d", x.Src, x.Dst, x.Bytes, x.MaxError, real)
		}
	}
}

func addTo(t *digest.Totals, o digest.Totals) {
	t.Records += o.Records
	t.Accepted += o.Accepted
	t.Rejected += o.Rejected
	t.Bytes += o.Bytes
	t.Packets += o.Packets
	t.AcceptedBytes += o.AcceptedBytes
	t.RejectedBytes += o.RejectedBytes
	if o.FirstStart != 0 && (t.FirstStart == 0 || o.FirstStart < t.FirstStart) {
		t.FirstStart = o.FirstStart
	}
	t.LastEnd = max(t.LastEnd, o.LastEnd)
}

// flakyRunState fails, once each, the run state writes a test arms.
type flakyRunState struct {
	runstate.RunAPI
	mu sync.Mutex
	// failRecord fails the transaction recording this account's member.
	failRecord string
	// failCheckpoint fails the checkpoint write that clears this
	// account's intent (the run's last state write).
	failCheckpoint string
}

func denied(op string) error {
	return &smithy.GenericAPIError{Code: "InternalServerError", Message: op + " failed (injected)"}
}

func (f *flakyRunState) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.mu.Lock()
	arm := f.failRecord
	if arm != "" && strings.Contains(jsonOf(in.TransactItems[0].Put.Item), "ar#"+arm) {
		f.failRecord = ""
		f.mu.Unlock()
		return nil, denied("TransactWriteItems")
	}
	f.mu.Unlock()
	return f.RunAPI.TransactWriteItems(ctx, in, o...)
}

func (f *flakyRunState) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.mu.Lock()
	arm := f.failCheckpoint
	if arm != "" && strings.Contains(aws.ToString(in.UpdateExpression), "REMOVE #intent") && strings.Contains(jsonOf(in.Key), arm+"#") {
		f.failCheckpoint = ""
		f.mu.Unlock()
		return nil, denied("UpdateItem")
	}
	f.mu.Unlock()
	return f.RunAPI.UpdateItem(ctx, in, o...)
}

// failDigestWrite makes the hub's first PutLogEvents to stream fail, as
// a denial does: the SDK does not retry it.
func failDigestWrite(p *motoproxy.Proxy, stream string) {
	var once sync.Once
	p.AddHook(func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Action != "PutLogEvents" {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"logStreamName":"`+stream+`"`) {
			return false
		}
		hit := false
		once.Do(func() { hit = true })
		if !hit {
			return false
		}
		rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
		rw.WriteHeader(http.StatusBadRequest) // not retried by the SDK: the attempt fails
		_, _ = rw.Write([]byte(`{"__type":"AccessDeniedException","message":"injected"}`))
		return true
	})
}

// TestOrgExactlyOnceAcrossAFailedRun proves that an account-region whose
// attempt fails at each step after it began (the digest write, the
// recording in the run, the checkpoint) counts each record once across
// that run and the next: its digests' windows follow each other, their
// totals equal every record delivered, the first run's roll-up counts the
// digest once, and the second run reads on from where the first ended.
func TestOrgExactlyOnceAcrossAFailedRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		arm  func(w *orgWorld, account, region string)
	}{
		{"the digest write fails", func(w *orgWorld, a, r string) { failDigestWrite(w.p, a+"/"+r) }},
		{"recording in the run fails after the digest is written", func(w *orgWorld, a, r string) { w.state.failRecord = a + "#" + r }},
		{"the checkpoint write fails after the recording", func(w *orgWorld, a, r string) { w.state.failCheckpoint = a + "#" + r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOrgWorld(t)
			a, r := w.ok[0], orgRegions[1]
			real := w.f.real
			w.deliver(t, real.Add(-120*time.Minute), 7)
			w.f.now = real.Add(-70*time.Minute + lag)
			tc.arm(w, a, r)
			first := w.tick(t)
			w.pump(t)

			w.deliver(t, real.Add(-50*time.Minute), 8)
			w.f.now = real.Add(lag + 5*time.Minute)
			second := w.tick(t)
			w.pump(t)

			ds := w.digestsOf(t, a, r)
			checkContiguous(t, ds)
			var got digest.Totals
			for _, d := range ds {
				addTo(&got, d.Totals)
			}
			want, _ := expectWindow(w.lines[a+"/"+r], flowrecord.DefaultFormat(), ds[0].Window.From, ds[len(ds)-1].Window.To)
			if got.Totals != want.Totals || len(ds) != 2 {
				t.Errorf("%d digests totalling %+v; every record once is %+v in 2", len(ds), got.Totals, want.Totals)
			}
			rs := w.rollups(t)
			if len(rs) != 2 || rs[0].RunID != first.RunID || rs[1].RunID != second.RunID {
				t.Fatalf("roll-ups %v, want one for each run", rollupIDs(rs))
			}
			// Each roll-up counts account a as the sum of a's digests
			// that carry its run: the failed digest once, in its run.
			for _, ro := range rs {
				var runRecords uint64
				for _, region := range orgRegions {
					for _, d := range w.digestsOf(t, a, region) {
						if d.OrgRun == ro.RunID {
							runRecords += d.Totals.Records
						}
					}
				}
				if got := accountOf(ro, a).Totals.Records; got != runRecords || got == 0 {
					t.Errorf("roll-up of run %s counts %d records of %s, its digests %d", ro.RunID, got, a, runRecords)
				}
			}
		})
	}
}

func rollupIDs(rs []digest.Rollup) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.RunID)
	}
	return ids
}

func accountOf(r digest.Rollup, account string) digest.AccountRollup {
	i := slices.IndexFunc(r.ByAccount, func(a digest.AccountRollup) bool { return a.Account == account })
	if i < 0 {
		return digest.AccountRollup{}
	}
	return r.ByAccount[i]
}

// TestOrgRunFinishedByTheNextTick proves that a schedule event delivered
// twice starts one run, and that a run whose last account-regions are
// still being retried when the next tick comes gets its roll-up from that
// tick, listing them with the class and reason of their last failed
// delivery; their later final deliveries record them without a second
// roll-up.
func TestOrgRunFinishedByTheNextTick(t *testing.T) {
	w := newOrgWorld(t)
	w.deliver(t, w.f.real.Add(-50*time.Minute), 3)
	event := `{"id":"7bf73129-1428-4cd3-a780-95db273d1602","source":"aws.events","detail-type":"Scheduled Event","time":"2026-12-03T23:00:00Z","detail":{}}`
	first := w.tickEvent(t, event)
	if again := w.tickEvent(t, event); again.RunID != first.RunID || again.Messages != 0 || first.Messages != 6 {
		t.Fatalf("ticks %+v then %+v; want one run of 6 messages, the same event starting nothing", first, again)
	}
	// One delivery each: the missing account's two fail and stay in flight.
	_, held := w.pumpFor(t, 1, false)
	if len(held) != 2 || len(w.rollups(t)) != 0 {
		t.Fatalf("%d messages in flight, %d roll-ups; want the missing account's 2 and none", len(held), len(w.rollups(t)))
	}
	w.f.now = w.f.now.Add(time.Hour)
	second := w.tick(t)
	rs := w.rollups(t)
	if len(rs) != 1 || rs[0].RunID != first.RunID || rs[0].AccountRegions != (digest.RollupCounts{Expected: 6, Digested: 4, Failed: 2}) {
		t.Fatalf("roll-ups after the next tick: %+v; want the first run's, 4 digested and 2 without an outcome", rs)
	}
	for _, u := range rs[0].Unreadable {
		if u.Account != w.missing || u.Class != string(org.ClassRoleUnavailable) || !strings.Contains(u.Reason, "still being retried after delivery 1 failed") {
			t.Errorf("unreadable %+v, want %s still being retried, with its last failure", u, w.missing)
		}
	}
	for _, h := range held {
		if _, err := w.sqs.ChangeMessageVisibility(w.f.ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: h, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
	}
	w.pump(t)
	rs = w.rollups(t)
	if len(rs) != 2 || rs[1].RunID != second.RunID {
		t.Errorf("roll-ups %v, want the first run's once and the second's", rollupIDs(rs))
	}
}

// failRegionLogs answers every spoke CloudWatch Logs call of action (any,
// when empty) in region with a JSON error of status and code.
func failRegionLogs(p *motoproxy.Proxy, region, action string, status int, code string) {
	p.AddHook(func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "Logs_") || (action != "" && c.Action != action) ||
			!strings.Contains(r.Header.Get("Authorization"), "/"+region+"/logs/") {
			return false
		}
		rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
		rw.WriteHeader(status)
		_, _ = rw.Write([]byte(`{"__type":"` + code + `","message":"injected in ` + region + `"}`))
		return true
	})
}

// TestOrgOneRegionFailsOthersDigested proves that a region that is not
// enabled (every call refused, as an opt-in region answers) and a region
// throttled past the SDK's retries are reported by account-region with
// their class, while every account-region of the other region is digested
// exactly and rolled up.
func TestOrgOneRegionFailsOthersDigested(t *testing.T) {
	bad, good := orgRegions[1], orgRegions[0]
	for _, tc := range []struct {
		name, class string
		arm         func(p *motoproxy.Proxy)
	}{
		{"region not enabled", string(org.ClassRegionNotEnabled), func(p *motoproxy.Proxy) {
			failRegionLogs(p, bad, "", http.StatusBadRequest, "UnrecognizedClientException")
		}},
		{"throttled", string(org.ClassThrottled), func(p *motoproxy.Proxy) {
			failRegionLogs(p, bad, "FilterLogEvents", http.StatusBadRequest, "ThrottlingException")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newOrgWorld(t)
			w.deliver(t, w.f.real.Add(-50*time.Minute), 5)
			tc.arm(w.p)
			w.tick(t)
			w.pump(t)
			rs := w.rollups(t)
			if len(rs) != 1 {
				t.Fatalf("%d roll-ups, want 1", len(rs))
			}
			r := rs[0]
			if r.AccountRegions != (digest.RollupCounts{Expected: 6, Digested: 2, Failed: 4}) {
				t.Errorf("counts %+v, want %s digested in both deployed accounts, the rest failed", r.AccountRegions, good)
			}
			classes := map[string]int{}
			for _, u := range r.Unreadable {
				if u.Account != w.missing {
					classes[u.Region+" "+u.Class]++
				}
			}
			if classes[bad+" "+tc.class] != 2 || len(classes) != 1 {
				t.Errorf("unreadable %+v, want both deployed accounts in %s as %s", r.Unreadable, bad, tc.class)
			}
			var sum digest.Totals
			for _, a := range w.ok {
				ds := w.digestsOf(t, a, good)
				if len(ds) != 1 {
					t.Fatalf("%s %s: %d digests, want 1", a, good, len(ds))
				}
				want, accRej := expectWindow(w.lines[a+"/"+good], flowrecord.DefaultFormat(), ds[0].Window.From, ds[0].Window.To)
				checkDigest(t, ds[0], want, accRej)
				addTo(&sum, ds[0].Totals)
			}
			if r.Totals.Totals != sum.Totals || sum.Records == 0 {
				t.Errorf("roll-up totals %+v, the digests sum to %+v", r.Totals.Totals, sum.Totals)
			}
		})
	}
}
