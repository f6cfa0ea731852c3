package digest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The emulator is started once, on first use, so that benchmarks and pure
// tests run without it; TestMain stops it.
var (
	emuOnce  sync.Once
	emuErr   error
	moto     *testenv.Moto
	proxy    *motoproxy.Proxy
	emuClose = func() {}
)

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	code := m.Run()
	emuClose()
	os.Exit(code)
}

// emulator returns moto behind the pagination proxy, with the process's
// AWS SDK environment pointing at the proxy.
func emulator(t testing.TB) (*testenv.Moto, *motoproxy.Proxy) {
	t.Helper()
	testenv.Need(t, testenv.MotoServer)
	emuOnce.Do(func() {
		moto, emuErr = testenv.StartMoto()
		if emuErr != nil {
			return
		}
		proxy, emuErr = motoproxy.New(moto.URL)
		if emuErr != nil {
			_ = moto.Close()
			return
		}
		for _, kv := range testenv.EndpointEnv(proxy.URL) {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		emuClose = func() { proxy.Close(); _ = moto.Close() }
	})
	if emuErr != nil {
		t.Fatalf("starting the emulator: %v", emuErr)
	}
	return moto, proxy
}

const (
	flowGroup    = "/vpc/flow-logs"
	summaryGroup = "/vpc/flow-logs/digests"
	stateTable   = "VpcFlowLogs-State"
	account      = "123456789012"
	lag          = 15 * time.Minute
)

// fixture is one test's world in moto: the flow log group, the summary
// group and the run state table as the stack creates them, SDK clients,
// and a clock the test moves.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	logs *cloudwatchlogs.Client
	ec2  *ec2.Client
	db   *dynamodb.Client
	// state, when set, stands in for db as the summarizer's client.
	state runstate.API
	sns   *sns.Client
	cfg   digest.Config
	now   time.Time
	// real is the wall-clock minute the fixture started: moto stamps
	// streams with the real time, so generated records sit around it.
	real time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m, p := emulator(t)
	ctx := t.Context()
	if err := m.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		t:    t,
		ctx:  ctx,
		logs: cloudwatchlogs.NewFromConfig(awsCfg),
		ec2:  ec2.NewFromConfig(awsCfg),
		db:   dynamodb.NewFromConfig(awsCfg),
		sns:  sns.NewFromConfig(awsCfg),
		real: time.Now().UTC().Truncate(time.Minute),
	}
	f.now = f.real.Add(lag + 5*time.Minute)
	f.cfg = digest.Config{
		Summarizer: settings.Summarizer{
			LogGroupName:        flowGroup,
			SummaryLogGroupName: summaryGroup,
			StateTable:          stateTable,
			Account:             account,
			Region:              testenv.Region,
			SettleLag:           lag,
			SchedulePeriod:      2 * time.Hour,
			TopK:                10,
			MetricsNamespace:    "Test",
		},
		ReadRate:      -1, // moto has no quotas
		MetricsOutput: &strings.Builder{},
		Now:           func() time.Time { return f.now },
	}
	for _, g := range []string{flowGroup, summaryGroup} {
		if _, err := f.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	f.createTable()
	return f
}

// createTable creates the run state table as the stack defines it.
func (f *fixture) createTable() {
	f.t.Helper()
	_, err := f.db.CreateTable(f.ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(stateTable),
		AttributeDefinitions: []dbtypes.AttributeDefinition{
			{AttributeName: aws.String(runstate.PartitionKey), AttributeType: dbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(runstate.SortKey), AttributeType: dbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []dbtypes.KeySchemaElement{
			{AttributeName: aws.String(runstate.PartitionKey), KeyType: dbtypes.KeyTypeHash},
			{AttributeName: aws.String(runstate.SortKey), KeyType: dbtypes.KeyTypeRange},
		},
		BillingMode: dbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// store is the summarizer's run state store, as the tests read and set it.
func (f *fixture) store() *runstate.Store {
	f.t.Helper()
	s, err := runstate.New(f.db, stateTable, runstate.Key{Account: account, Region: testenv.Region, Source: runstate.LogGroupSource(flowGroup)})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// setCheckpoint overwrites the checkpoint as a finished run would leave it.
func (f *fixture) setCheckpoint(end time.Time) {
	f.t.Helper()
	s := f.store()
	cp, err := s.Load(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := s.Save(f.ctx, cp, runstate.Checkpoint{End: end, UpdatedAt: f.now}, "test"); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) checkpoint() runstate.Checkpoint {
	f.t.Helper()
	cp, err := f.store().Load(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return cp
}

func (f *fixture) clients() digest.Clients {
	c := digest.Clients{Logs: f.logs, EC2: f.ec2, State: f.db, Topic: f.sns}
	if f.state != nil {
		c.State = f.state
	}
	return c
}

// run runs one digest with the fixture's configuration and clock.
func (f *fixture) run(ctx context.Context) (digest.Result, error) {
	f.t.Helper()
	s, err := digest.New(f.cfg, f.clients())
	if err != nil {
		f.t.Fatal(err)
	}
	return s.Run(ctx)
}

// line is one delivered flow log line: its stream and event timestamp.
type line struct {
	stream string
	ts     int64 // milliseconds
	text   string
}

// generate writes g's lines as the delivery service would, each in the
// -all stream of its interface with the record's start as timestamp, and
// returns them. A malformed line keeps the previous line's timestamp.
func (f *fixture) generate(g *flowrecordtest.Generator) []line {
	f.t.Helper()
	p := flowrecord.NewParser(g.Format())
	var rec flowrecord.Record
	var out []line
	ts := int64(0)
	for g.Next() {
		text := g.Line()
		if err := p.Parse(text, &rec); err == nil && rec.Has(flowrecord.FieldStart) {
			ts = rec.Start * 1000
		}
		out = append(out, line{stream: g.InterfaceID() + "-all", ts: ts, text: text})
	}
	f.put(out)
	return out
}

// put delivers lines with PutLogEvents: per stream, in time order, in
// batches within the service's limits, creating streams as needed.
func (f *fixture) put(lines []line) {
	f.t.Helper()
	byStream := map[string][]line{}
	for _, l := range lines {
		byStream[l.stream] = append(byStream[l.stream], l)
	}
	for _, name := range slices.Sorted(maps.Keys(byStream)) {
		ls := byStream[name]
		slices.SortStableFunc(ls, func(a, b line) int { return cmp.Compare(a.ts, b.ts) })
		_, err := f.logs.CreateLogStream(f.ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(flowGroup), LogStreamName: aws.String(name)})
		var exists *logstypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			f.t.Fatal(err)
		}
		var batch []logstypes.InputLogEvent
		size := 0
		flush := func() {
			if len(batch) == 0 {
				return
			}
			if _, err := f.logs.PutLogEvents(f.ctx, &cloudwatchlogs.PutLogEventsInput{
				LogGroupName: aws.String(flowGroup), LogStreamName: aws.String(name), LogEvents: batch,
			}); err != nil {
				f.t.Fatal(err)
			}
			batch, size = nil, 0
		}
		for _, l := range ls {
			if len(batch) == 10_000 || size+len(l.text)+26 > 1_048_576 {
				flush()
			}
			batch = append(batch, logstypes.InputLogEvent{Message: aws.String(l.text), Timestamp: aws.Int64(l.ts)})
			size += len(l.text) + 26
		}
		flush()
	}
}

// digests returns every digest in the summary group, oldest first.
func (f *fixture) digests() []digest.Digest {
	f.t.Helper()
	out, err := f.logs.GetLogEvents(f.ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName: aws.String(summaryGroup), LogStreamName: aws.String(digest.DigestStreamName), StartFromHead: aws.Bool(true),
	})
	var nf *logstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var ds []digest.Digest
	for _, e := range out.Events {
		var d digest.Digest
		if err := json.Unmarshal([]byte(aws.ToString(e.Message)), &d); err != nil {
			f.t.Fatalf("digest %q: %v", aws.ToString(e.Message), err)
		}
		ds = append(ds, d)
	}
	return ds
}

// expectWindow aggregates the lines whose timestamps fall in [from, to),
// as an independent tally of what a digest of that window must say.
func expectWindow(lines []line, format *flowrecord.Format, from, to time.Time) (sum flowrecord.Summary, accRej [2]uint64) {
	a := flowrecord.NewAggregator(flowrecord.Options{TopK: 10})
	p := flowrecord.NewParser(format)
	var rec flowrecord.Record
	for _, l := range lines {
		if l.ts < from.UnixMilli() || l.ts >= to.UnixMilli() {
			continue
		}
		if err := p.Parse(l.text, &rec); err != nil {
			a.AddMalformed(l.text, err)
			continue
		}
		switch rec.Action {
		case flowrecord.ActionAccept:
			accRej[0] += rec.Bytes
		case flowrecord.ActionReject:
			accRej[1] += rec.Bytes
		}
		a.Add(&rec)
	}
	return a.Summary(), accRej
}

// sumTotals adds the totals of digests.
func sumTotals(ds []digest.Digest) (t flowrecord.Totals, malformed, skip, noData uint64) {
	for _, d := range ds {
		t.Records += d.Totals.Records
		t.Accepted += d.Totals.Accepted
		t.Rejected += d.Totals.Rejected
		t.Bytes += d.Totals.Bytes
		t.Packets += d.Totals.Packets
		if d.Totals.FirstStart != 0 && (t.FirstStart == 0 || d.Totals.FirstStart < t.FirstStart) {
			t.FirstStart = d.Totals.FirstStart
		}
		t.LastEnd = max(t.LastEnd, d.Totals.LastEnd)
		malformed += d.Malformed.Count
		skip += d.SkipData.Records
		noData += d.NoData.Records
	}
	return t, malformed, skip, noData
}

// checkContiguous fails unless the digests' windows follow each other.
func checkContiguous(t *testing.T, ds []digest.Digest) {
	t.Helper()
	for i := 1; i < len(ds); i++ {
		if !ds[i].Window.From.Equal(ds[i-1].Window.To) {
			t.Errorf("digest %d starts at %s, digest %d ended at %s", i, ds[i].Window.From, i-1, ds[i-1].Window.To)
		}
	}
}

func jsonOf(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
