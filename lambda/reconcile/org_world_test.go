package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The organization tests play what the StackSet would deploy: moto creates
// no StackSet instances, so each member account-region gets its flow log
// group here (the delivery role is not needed: moto does not check it),
// and moto lets any ARN be assumed, so a missing spoke role is played by
// the proxy answering AccessDenied (denyAssumeRole).
const (
	hubAccount  = "123456789012" // moto's default account: the hub's credentials
	orgTable    = "VpcFlowLogs-State"
	digestGroup = testGroup + "/digests"
)

// orgWorld is a hub, an organization and its member accounts in moto.
type orgWorld struct {
	t   *testing.T
	ctx context.Context

	// dbHeld is how long (ns) DynamoDB calls held serializeDynamoDB's lock.
	dbHeld atomic.Int64
	// shards, when not nil, serve the member accounts (sharded).
	shards    *motoproxy.Shards
	shardURLs []string

	direct   aws.Config // straight to moto, uncounted
	directDB aws.Config // straight to the DynamoDB moto, uncounted
	h        *reconcile.Handler
	o        *reconcile.OrgMode
	sqs      *sqs.Client
	queueURL string
	root, ou string
	accounts []string // ACTIVE members under ou
	regions  []string
	metrics  *syncBuffer
	env      map[string]string
	// extraEnv is added to the hub enabler's environment by handler.
	extraEnv map[string]string
}

// worldOption changes how newOrgWorld builds the world.
type worldOption func(*orgWorld)

// newOrgWorld makes an organization with n ACTIVE member accounts under an
// OU (half of them in an OU nested under it), one SUSPENDED account under
// the same OU and one ACTIVE account outside it, and the hub's queue,
// table and digest group.
func newOrgWorld(t *testing.T, n int, regions []string, opts ...worldOption) *orgWorld {
	t.Helper()
	emulator(t)
	ctx := t.Context()
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	// DynamoDB runs in a moto process of its own, as it is a service of
	// its own in AWS: its transactions, which must run one at a time
	// (isolatedScript, or serializeDynamoDB without it), then do not queue
	// behind the other services' calls in one Python process.
	dynamo := dynamoMoto(t)
	if err := dynamo.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	w := &orgWorld{t: t, ctx: ctx, direct: clientConfig(moto.URL), directDB: clientConfig(dynamo.URL), regions: regions, metrics: &syncBuffer{}}
	for _, o := range opts {
		o(w)
	}
	w.route()
	w.organization(n)
	w.hubResources()
	w.handler(false)
	return w
}

func (w *orgWorld) organization(n int) {
	t, ctx := w.t, w.ctx
	api := organizations.NewFromConfig(w.direct)
	if _, err := api.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := api.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	w.root = aws.ToString(roots.Roots[0].Id)
	mkOU := func(parent, name string) string {
		out, err := api.CreateOrganizationalUnit(ctx, &organizations.CreateOrganizationalUnitInput{ParentId: aws.String(parent), Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.OrganizationalUnit.Id)
	}
	w.ou = mkOU(w.root, "Workloads")
	nested := mkOU(w.ou, "Prod")
	account := func(name, parent string) string {
		out, err := api.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.CreateAccountStatus.AccountId)
		if _, err := api.MoveAccount(ctx, &organizations.MoveAccountInput{AccountId: aws.String(id), SourceParentId: aws.String(w.root), DestinationParentId: aws.String(parent)}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	for i := range n {
		parent := w.ou
		if i%2 == 1 {
			parent = nested
		}
		w.accounts = append(w.accounts, account(fmt.Sprintf("member-%03d", i), parent))
	}
	suspended := account("suspended", nested)
	if _, err := api.CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(suspended)}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(w.accounts)
	w.spokes()
}

// spokes creates what the spoke template holds that moto checks: the flow
// log group in each member account-region.
func (w *orgWorld) spokes() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, ar := range org.Cross(w.accounts, w.regions) {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			logs := cloudwatchlogs.NewFromConfig(w.spoke(ar.Account, ar.Region))
			if _, err := logs.CreateLogGroup(w.ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(testGroup)}); err != nil {
				w.t.Error(err)
			}
		})
	}
	wg.Wait()
	if w.t.Failed() {
		w.t.FailNow()
	}
}

// warmEC2 makes moto create every member account-region's EC2 backend
// (its default VPC, subnets, …), which it does on the first EC2 call in
// an account-region and which costs it far more than a call: a timed run
// that came first would pay for it, and AWS has no such cost.
func (w *orgWorld) warmEC2() {
	org.ForEach(w.ctx, org.Cross(w.accounts, w.regions), 8, func(ctx context.Context, ar org.AccountRegion) error {
		_, err := ec2.NewFromConfig(w.spoke(ar.Account, ar.Region)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		if err != nil {
			w.t.Errorf("warming %s: %v", ar, err)
		}
		return err
	})
	if w.t.Failed() {
		w.t.FailNow()
	}
}

// route adds the hooks that send each call to its moto: DynamoDB's to the
// DynamoDB moto, one at a time, and a member account's to its shard.
func (w *orgWorld) route() {
	proxy.AddHook(w.serializeDynamoDB())
	if w.shards != nil {
		proxy.AddHook(w.shards.Hook)
	}
}

// spoke is an uncounted configuration acting in account and region, at
// the account's shard when the members are sharded.
func (w *orgWorld) spoke(account, region string) aws.Config {
	base := w.direct
	if w.shards != nil {
		base = clientConfig(w.shards.URL(account))
	}
	cfg := base.Copy()
	cfg.Region = region
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base),
		"arn:aws:iam::"+account+":role/test-setup"))
	return cfg
}

// recreateTable empties the run state table (uncounted).
func (w *orgWorld) recreateTable() {
	db := dynamodb.NewFromConfig(w.directDB)
	if _, err := db.DeleteTable(w.ctx, &dynamodb.DeleteTableInput{TableName: aws.String(orgTable)}); err != nil {
		w.t.Fatal(err)
	}
	w.createTable()
}

func (w *orgWorld) createTable() {
	_, err := dynamodb.NewFromConfig(w.directDB).CreateTable(w.ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(orgTable),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange},
		},
		BillingMode: ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *orgWorld) hubResources() {
	t, ctx := w.t, w.ctx
	q, err := sqs.NewFromConfig(w.direct).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("enabler-work"),
		Attributes: map[string]string{"VisibilityTimeout": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	w.queueURL = aws.ToString(q.QueueUrl)
	w.createTable()
	logs := cloudwatchlogs.NewFromConfig(w.direct)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(digestGroup)}); err != nil {
		t.Fatal(err)
	}
}

// handler builds the hub enabler in organization mode, its clients
// through the proxy.
func (w *orgWorld) handler(compliance bool) {
	hub := clientConfig(proxy.URL)
	regions, _ := json.Marshal(w.regions)
	w.env = testEnv()
	for k, v := range map[string]string{
		settings.EnvOrganizationID: "o-abcdefghij", settings.EnvOrganizationTargets: `["` + w.ou + `"]`,
		settings.EnvOrganizationRegions: string(regions), settings.EnvWorkQueueURL: w.queueURL,
		settings.EnvHubAccount: hubAccount, settings.EnvStateTable: orgTable,
		settings.EnvSummaryLogGroupName: digestGroup, settings.EnvComplianceMode: strconv.FormatBool(compliance),
	} {
		w.env[k] = v
	}
	for k, v := range w.extraEnv {
		w.env[k] = v
	}
	o, err := settings.OrgEnablerFromEnv(getenv(w.env))
	if err != nil {
		w.t.Fatal(err)
	}
	sweeps, err := runstate.NewSweepStore(dynamodb.NewFromConfig(hub), orgTable, hubAccount, testRegion)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sqs = sqs.NewFromConfig(hub)
	w.h = reconcile.NewHandler(&reconcile.Reconciler{API: ec2.NewFromConfig(hub), Region: testRegion}, getenv(w.env))
	w.o = &reconcile.OrgMode{
		Settings: o, Organizations: organizations.NewFromConfig(hub), STS: sts.NewFromConfig(hub),
		Base: hub, Partition: "aws", Queue: w.sqs, Sweeps: sweeps,
		Logs: cloudwatchlogs.NewFromConfig(hub), Metrics: w.metrics,
	}
	w.h.EnableOrganization(w.o)
}

// vpc creates a VPC in a member account-region with tags (key, value, …).
func (w *orgWorld) vpc(account, region string, kv ...string) string {
	w.t.Helper()
	in := &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")}
	if len(kv) > 0 {
		spec := types.TagSpecification{ResourceType: types.ResourceTypeVpc}
		for i := 0; i+1 < len(kv); i += 2 {
			spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		in.TagSpecifications = []types.TagSpecification{spec}
	}
	out, err := ec2.NewFromConfig(w.spoke(account, region)).CreateVpc(w.ctx, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return aws.ToString(out.Vpc.VpcId)
}

// flowLogs lists the flow logs of a VPC in a member account-region.
func (w *orgWorld) flowLogs(account, region, vpc string) []types.FlowLog {
	w.t.Helper()
	out, err := ec2.NewFromConfig(w.spoke(account, region)).DescribeFlowLogs(w.ctx, &ec2.DescribeFlowLogsInput{
		Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{vpc}}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out.FlowLogs
}

// invoke hands raw to the handler as Lambda would.
func (w *orgWorld) invoke(raw []byte) (any, error) {
	return w.h.Handle(w.ctx, raw)
}

// sweep sends the scheduled event, then plays the event source mapping:
// receives the queue's messages and hands each to the handler (at most
// concurrency at once, batch size 1), deleting those it does not report
// failed, until the queue is empty.
func (w *orgWorld) sweep(concurrency int) reconcile.SweepSummary {
	w.t.Helper()
	out, err := w.invoke([]byte(`{"detail-type":"Scheduled Event","source":"aws.events"}`))
	if err != nil {
		w.t.Fatal(err)
	}
	w.drain(concurrency)
	return out.(reconcile.SweepSummary)
}

func (w *orgWorld) drain(concurrency int) {
	w.t.Helper()
	direct := sqs.NewFromConfig(w.direct)
	for {
		msgs := w.receiveAll()
		if len(msgs) > 0 {
			w.deliver(direct, msgs, concurrency)
			continue
		}
		// Messages reported failed come back after their visibility
		// timeout; the queue is drained when none is in flight either.
		attrs, err := direct.GetQueueAttributes(w.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(w.queueURL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			w.t.Fatal(err)
		}
		if attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0" {
			return
		}
		time.Sleep(time.Second)
	}
}

// receiveAll takes every visible message off the queue. Each stays
// invisible for 5 s, longer than the receiving takes, so that none is
// received twice in one round; one reported failed comes back then.
func (w *orgWorld) receiveAll() []events.SQSMessage {
	w.t.Helper()
	direct := sqs.NewFromConfig(w.direct)
	var msgs []events.SQSMessage
	for {
		out, err := direct.ReceiveMessage(w.ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.queueURL), MaxNumberOfMessages: 10,
			VisibilityTimeout:           5,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
		if err != nil {
			w.t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return msgs
		}
		for _, m := range out.Messages {
			msgs = append(msgs, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), EventSource: "aws:sqs", Attributes: m.Attributes})
		}
	}
}

// deliver hands each message to the handler as an SQS event of one record.
func (w *orgWorld) deliver(direct *sqs.Client, msgs []events.SQSMessage, concurrency int) {
	items := make([]org.AccountRegion, len(msgs))
	for i := range msgs {
		items[i] = org.AccountRegion{Account: strconv.Itoa(i)}
	}
	org.ForEach(w.ctx, items, concurrency, func(ctx context.Context, it org.AccountRegion) error {
		i, _ := strconv.Atoi(it.Account)
		raw, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{msgs[i]}})
		out, err := w.h.Handle(ctx, raw)
		if err != nil {
			w.t.Errorf("message %s: %v", msgs[i].Body, err)
			return err
		}
		if resp, ok := out.(events.SQSEventResponse); ok && len(resp.BatchItemFailures) > 0 {
			return nil // left for the visibility timeout, as SQS does
		}
		_, err = direct.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(w.queueURL), ReceiptHandle: aws.String(msgs[i].ReceiptHandle)})
		return err
	})
}

// coverage reads the coverage documents written so far, parts in order.
func (w *orgWorld) coverage() []reconcile.CoverageDocument {
	w.t.Helper()
	out, err := cloudwatchlogs.NewFromConfig(w.direct).GetLogEvents(w.ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(digestGroup), LogStreamName: aws.String(reconcile.CoverageStream), StartFromHead: aws.Bool(true)})
	if err != nil {
		w.t.Fatal(err)
	}
	var docs []reconcile.CoverageDocument
	for _, e := range out.Events {
		var d reconcile.CoverageDocument
		if err := json.Unmarshal([]byte(aws.ToString(e.Message)), &d); err != nil {
			w.t.Fatalf("coverage event is not a JSON document: %v", err)
		}
		docs = append(docs, d)
	}
	return docs
}

// entries decodes the account-regions of a coverage document's parts.
func entries(t *testing.T, docs []reconcile.CoverageDocument) map[string]reconcile.AccountRegionCoverage {
	t.Helper()
	out := map[string]reconcile.AccountRegionCoverage{}
	for _, d := range docs {
		for _, raw := range d.AccountRegions {
			var c reconcile.AccountRegionCoverage
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			out[c.Account+"/"+c.Region] = c
		}
	}
	return out
}

// denyAssumeRole answers AssumeRole of the spoke enabler role in the given
// accounts as STS answers a role that does not exist (its StackSet
// instance still deploying): HTTP 403 AccessDenied.
func denyAssumeRole(accounts ...string) motoproxy.Hook {
	return func(rw http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		arn := c.Form.Get("RoleArn")
		if c.Action != "AssumeRole" || !slices.ContainsFunc(accounts, func(a string) bool { return strings.Contains(arn, "::"+a+":") }) {
			return false
		}
		rw.Header().Set("Content-Type", "text/xml")
		rw.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(rw, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, arn)
		return true
	}
}

// keyOwners records which account each access key moto issues through
// AssumeRole acts in, so that a hook can fail one account's calls: the hook
// sends AssumeRole on to moto itself and reads the key from the answer.
type keyOwners struct {
	mu    sync.Mutex
	owner map[string]string // access key id → account
}

func (k *keyOwners) hook(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
	if c.Action != "AssumeRole" {
		return false
	}
	answer := forwardTo(moto.URL, rw, r)
	if _, rest, ok := strings.Cut(string(answer), "<AccessKeyId>"); ok {
		key, _, _ := strings.Cut(rest, "<")
		_, acct, _ := strings.Cut(c.Form.Get("RoleArn"), "::")
		acct, _, _ = strings.Cut(acct, ":")
		k.mu.Lock()
		k.owner[key] = acct
		k.mu.Unlock()
	}
	return true
}

// forwardTo sends r to the moto at url itself, writes moto's answer to rw and
// returns its body: for hooks that act around the call.
func forwardTo(url string, rw http.ResponseWriter, r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, url+r.URL.Path, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadGateway)
		return nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	for _, h := range []string{"Content-Type", "X-Amz-Crc32"} {
		if v := resp.Header.Get(h); v != "" {
			rw.Header().Set(h, v)
		}
	}
	rw.WriteHeader(resp.StatusCode)
	_, _ = rw.Write(answer)
	return answer
}

// serializeDynamoDB sends every DynamoDB call to the world's DynamoDB moto
// and, when that is plain moto_server, holds the calls here to run them
// one at a time. moto runs a transaction by deep-copying the table and
// restoring the copy when the transaction fails, and copying while
// another thread writes can fail ("dictionary changed size during
// iteration"): the restore then loses writes made meanwhile. DynamoDB
// isolates transactions; this stands in for that isolation, not for our
// code's. The DynamoDB moto that runs isolatedScript isolates its actions
// itself, and its calls go through at once: its transactions back up only
// their items, so the threads reading other requests no longer keep a long
// transaction from the interpreter lock. Measured at 100 accounts × 3
// regions, machine nearly idle: 21.0× to 23.4× with every call held here,
// 24.1× and 25.8× let through (lambda/org/PERFORMANCE.md).
func (w *orgWorld) serializeDynamoDB() motoproxy.Hook {
	url := w.directDB.BaseEndpoint
	hold := !orgDynamo.isolated
	var mu sync.Mutex
	return func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			return false
		}
		if !hold {
			forwardTo(aws.ToString(url), rw, r)
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		start := time.Now()
		forwardTo(aws.ToString(url), rw, r)
		w.dbHeld.Add(int64(time.Since(start)))
		return true
	}
}

func (k *keyOwners) is(account string) func(string) bool {
	return func(key string) bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.owner[key] == account
	}
}

// optInRequired answers every EC2 call in region whose access key keyOf
// accepts as an opt-in region the account has not enabled.
func optInRequired(region string, keyOf func(string) bool) motoproxy.Hook {
	return func(rw http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		auth := r.Header.Get("Authorization")
		if c.Form == nil || c.Form.Get("Version") != "2016-11-15" || !strings.Contains(auth, "/"+region+"/ec2/") {
			return false
		}
		_, cred, _ := strings.Cut(auth, "Credential=")
		key, _, _ := strings.Cut(cred, "/")
		if !keyOf(key) {
			return false
		}
		motoproxy.WriteError(rw, http.StatusUnauthorized, "OptInRequired", "You are not subscribed to this service.")
		return true
	}
}
