package runstate_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// shared is moto, started by the first test that needs it.
var shared testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

const table = "VpcFlowLogs-State"

var key = runstate.Key{Account: "123456789012", Region: "us-east-1", Source: runstate.LogGroupSource("/vpc/flow-logs")}

// newTable returns a client of a fresh moto holding the table as the stack
// defines it (pk and sk strings).
func newTable(t *testing.T) *dynamodb.Client {
	t.Helper()
	moto := shared.Moto(t)
	if err := moto.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := testenv.AWSConfig(moto.URL)
	cfg.HTTPClient = &http.Client{Transport: &oneAtATime{next: http.DefaultTransport}}
	db := dynamodb.NewFromConfig(cfg)
	_, err := db.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// oneAtATime sends moto one request at a time, as the organization tests'
// DynamoDB does (lambda/reconcile/org_emulators_test.go). A transaction in
// moto that fails its condition restores each table it names from a copy
// taken when it began, undoing what other threads wrote there meanwhile: two deliveries
// of one message racing a third account-region's record lost its ADD to
// the run's count. DynamoDB isolates each transaction; the callers here
// still race as they would against it, and each condition still decides.
type oneAtATime struct {
	mu   sync.Mutex
	next http.RoundTripper
}

func (o *oneAtATime) RoundTrip(r *http.Request) (*http.Response, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next.RoundTrip(r) // moto has applied the request when it answers
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSaveAndLoadRoundTrip(t *testing.T) {
	db := newTable(t)
	s, err := runstate.New(db, table, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cp, err := s.Load(ctx)
	if err != nil || cp.Version != 0 || cp.Intent != nil {
		t.Fatalf("before any write: %+v, %v; want the zero checkpoint", cp, err)
	}
	intent := &runstate.Intent{Nonce: "00112233445566778899aabbccddeeff", From: at("2026-11-25T18:00:00Z"), To: at("2026-11-25T19:00:00Z"),
		Attempts: 2, FirstStartedAt: at("2026-11-25T19:15:00.123456789Z"), StartedAt: at("2026-11-25T20:15:00.5Z")}
	for _, tc := range []struct {
		name string
		next runstate.Checkpoint
	}{
		{"first write creates the item", runstate.Checkpoint{End: at("2026-11-25T18:00:00Z"), UpdatedAt: at("2026-11-25T18:15:00.000000001Z")}},
		{"an intent is kept", runstate.Checkpoint{End: at("2026-11-25T18:00:00Z"), SliceSeconds: 300, Intent: intent}},
		{"clearing the intent removes it", runstate.Checkpoint{End: at("2026-11-25T19:00:00Z"), Partial: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved, err := s.Save(ctx, cp, tc.next, "run-"+tc.name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != cp.Version+1 || saved.Version != got.Version || got.WrittenBy != "run-"+tc.name ||
				!got.End.Equal(tc.next.End) || got.Partial != tc.next.Partial || got.SliceSeconds != tc.next.SliceSeconds ||
				!got.UpdatedAt.Equal(tc.next.UpdatedAt) || (got.Intent == nil) != (tc.next.Intent == nil) {
				t.Fatalf("read back %+v, want %+v at version %d", got, tc.next, cp.Version+1)
			}
			if in := got.Intent; in != nil && (in.Nonce != intent.Nonce || !in.From.Equal(intent.From) || !in.To.Equal(intent.To) ||
				in.Attempts != intent.Attempts || !in.FirstStartedAt.Equal(intent.FirstStartedAt) || !in.StartedAt.Equal(intent.StartedAt)) {
				t.Fatalf("intent read back %+v, want %+v", *in, *intent)
			}
			cp = got
		})
	}
}

// Two runs that read the same version both try to advance the checkpoint:
// exactly one wins, the other gets a ConflictError naming the item, and the
// item holds the winner's write. This is what makes "advance the checkpoint
// once" exact; the SSM parameter it replaces had no conditional write, so
// both runs won there.
func TestRacingWritesOneWins(t *testing.T) {
	for _, tc := range []struct {
		name  string
		exist bool // the item exists before the race (UpdateItem) or not (PutItem)
	}{
		{"first write", false},
		{"later write", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newTable(t)
			s, err := runstate.New(db, table, key)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			var seen runstate.Checkpoint
			if tc.exist {
				if seen, err = s.Save(ctx, seen, runstate.Checkpoint{End: at("2026-11-25T17:00:00Z")}, "setup"); err != nil {
					t.Fatal(err)
				}
			}
			_, errA := s.Save(ctx, seen, runstate.Checkpoint{End: at("2026-11-25T18:00:00Z")}, "run-a")
			_, errB := s.Save(ctx, seen, runstate.Checkpoint{End: at("2026-11-25T19:00:00Z")}, "run-b")
			if errA != nil {
				t.Fatalf("first writer: %v", errA)
			}
			var conflict *runstate.ConflictError
			if !errors.As(errB, &conflict) || !strings.Contains(errB.Error(), `pk="123456789012#us-east-1#cwlogs:/vpc/flow-logs"`) {
				t.Fatalf("second writer: %v, want a ConflictError naming the item", errB)
			}
			got, err := s.Load(ctx)
			if err != nil || got.WrittenBy != "run-a" || !got.End.Equal(at("2026-11-25T18:00:00Z")) || got.Version != seen.Version+1 {
				t.Errorf("item %+v, %v; want run-a's write at version %d", got, err, seen.Version+1)
			}
		})
	}
}

// retried applies each write twice, as the SDK's retryer does when the
// first answer is lost after DynamoDB applied the write.
type retried struct{ runstate.API }

func (r retried) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if _, err := r.API.PutItem(ctx, in, o...); err != nil {
		return nil, err
	}
	return r.API.PutItem(ctx, in, o...)
}

func (r retried) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if _, err := r.API.UpdateItem(ctx, in, o...); err != nil {
		return nil, err
	}
	return r.API.UpdateItem(ctx, in, o...)
}

// A write whose answer was lost and that was retried meets its own first
// attempt: the retry's condition fails, and the store must see that the
// item is its own write, not a lost race.
func TestRetriedWriteIsNotAConflict(t *testing.T) {
	db := newTable(t)
	s, err := runstate.New(retried{db}, table, key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var cp runstate.Checkpoint
	for i, end := range []string{"2026-11-25T18:00:00Z", "2026-11-25T19:00:00Z"} {
		next, err := s.Save(ctx, cp, runstate.Checkpoint{End: at(end)}, "run")
		if err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
		if next.Version != int64(i+1) {
			t.Fatalf("write %d: version %d", i+1, next.Version)
		}
		cp = next
	}
}

func TestNewValidatesTheKey(t *testing.T) {
	db := dynamodb.NewFromConfig(testenv.AWSConfig("http://127.0.0.1:1"))
	for _, tc := range []struct {
		name  string
		table string
		key   runstate.Key
		want  string
	}{
		{"unresolved account token", table, runstate.Key{Account: "${Token[AWS.AccountId.5]}", Region: "us-east-1", Source: "s"}, "account id"},
		{"region", table, runstate.Key{Account: "123456789012", Region: "", Source: "s"}, "region"},
		{"source", table, runstate.Key{Account: "123456789012", Region: "us-east-1"}, "source"},
		{"table", "x", key, "table name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runstate.New(db, tc.table, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one about the %s", err, tc.want)
			}
		})
	}
}

func TestNewNonce(t *testing.T) {
	a, err := runstate.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := runstate.NewNonce()
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("nonces %q and %q, want two different 32-digit hex strings", a, b)
	}
}
