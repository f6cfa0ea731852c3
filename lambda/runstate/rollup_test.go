package runstate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// An organization run counts each account-region once, however often its
// message is delivered and however many finishers race, and exactly one
// finisher claims the roll-up.
func TestOrgRunCountsEachAccountRegionOnce(t *testing.T) {
	db := newTable(t)
	s, err := runstate.NewRunStore(db, table, "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := runstate.NewRunID(at("2026-11-25T19:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	run := runstate.OrgRun{ID: id, Accounts: []string{"111111111111", "222222222222"}, Regions: []string{"eu-west-1", "us-east-1"}, StartedAt: at("2026-11-25T19:00:00Z")}
	if err := s.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, run); err == nil {
		t.Fatal("creating the same run twice succeeded")
	}
	// Every account-region's message delivered three times, concurrently.
	var mu sync.Mutex
	recorded := map[string]int{}
	var wg sync.WaitGroup
	for _, a := range run.Accounts {
		for _, r := range run.Regions {
			for range 3 {
				wg.Go(func() {
					ok, err := s.Record(ctx, id, a, r, []byte(`{"status":"digested","account":"`+a+`"}`))
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						recorded[a+" "+r]++
						mu.Unlock()
					}
				})
			}
		}
	}
	wg.Wait()
	got, ok, err := s.Load(ctx, id)
	if err != nil || !ok {
		t.Fatalf("loading the run: %v, %v", ok, err)
	}
	if got.Finished != run.Expected() || len(recorded) != run.Expected() {
		t.Fatalf("finished %d, recorded %v; want each of %d account-regions once", got.Finished, recorded, run.Expected())
	}
	for k, n := range recorded {
		if n != 1 {
			t.Errorf("%s recorded %d times", k, n)
		}
	}
	if has, err := s.HasMember(ctx, id, "111111111111", "eu-west-1"); err != nil || !has {
		t.Errorf("HasMember of a recorded account-region: %v, %v", has, err)
	}
	if has, err := s.HasMember(ctx, id, "333333333333", "eu-west-1"); err != nil || has {
		t.Errorf("HasMember of an unknown account-region: %v, %v", has, err)
	}

	var members []string
	if err := s.Members(ctx, id, func(a, r string, sum []byte) error {
		if !strings.Contains(string(sum), a) {
			t.Errorf("%s %s holds %s", a, r, sum)
		}
		members = append(members, a+" "+r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(members) != run.Expected() {
		t.Errorf("members %v, want %d", members, run.Expected())
	}

	for _, tc := range []struct {
		name, claimer string
		want          bool
	}{
		{"the first claimer wins", "111111111111#eu-west-1", true},
		{"another loses", "222222222222#us-east-1", false},
		{"the winner may claim again after a crash", "111111111111#eu-west-1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			won, err := s.Claim(ctx, id, tc.claimer)
			if err != nil || won != tc.want {
				t.Errorf("Claim(%s) = %v, %v; want %v", tc.claimer, won, err, tc.want)
			}
		})
	}
}

// Recording into a run that does not exist, or a summary over the bound,
// fails with an error naming the run or the size, and counts nothing.
func TestOrgRunRecordRefuses(t *testing.T) {
	db := newTable(t)
	s, err := runstate.NewRunStore(db, table, "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := runstate.NewRunID(time.Now())
	for _, tc := range []struct {
		name, summary, want string
	}{
		{"no such run", "{}", "does not exist"},
		{"summary too large", strings.Repeat("x", runstate.MaxMemberSummaryBytes+1), fmt.Sprintf("the limit is %d", runstate.MaxMemberSummaryBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := s.Record(t.Context(), id, "111111111111", "eu-west-1", []byte(tc.summary))
			if ok || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Record = %v, %v; want an error saying %q", ok, err, tc.want)
			}
		})
	}
}

func TestValidateRunID(t *testing.T) {
	good, err := runstate.NewRunID(at("2026-11-25T19:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, id string
		ok       bool
	}{
		{"a new id", good, true},
		{"empty", "", false},
		{"a key injection", "20261125T190000Z-0123456789abcdef#sk", false},
		{"upper-case hex", "20261125T190000Z-0123456789ABCDEF", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := runstate.ValidateRunID(tc.id); (err == nil) != tc.ok {
				t.Errorf("ValidateRunID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
			}
		})
	}
}

// conflictOnce cancels the first transaction with TransactionConflict, as
// DynamoDB does when another account-region's transaction holds the run's
// counter, and passes every later call to the table.
type conflictOnce struct {
	runstate.RunAPI
	calls atomic.Int32
}

func (c *conflictOnce) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.calls.Add(1) == 1 {
		code := "TransactionConflict"
		return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{{Code: &code}, {Code: &code}}}
	}
	return c.RunAPI.TransactWriteItems(ctx, in, opts...)
}

// TestOrgRunRecordRetriesConflicts proves a conflict on the run's counter
// is retried in the invocation: without the retry, Record failed and its
// message waited out the queue's 30-minute visibility timeout.
func TestOrgRunRecordRetriesConflicts(t *testing.T) {
	db := &conflictOnce{RunAPI: newTable(t)}
	s, err := runstate.NewRunStore(db, table, "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := runstate.NewRunID(time.Now())
	run := runstate.OrgRun{ID: id, Accounts: []string{"111111111111"}, Regions: []string{"eu-west-1"}, StartedAt: time.Now()}
	if err := s.Create(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	recorded, err := s.Record(t.Context(), id, "111111111111", "eu-west-1", []byte("{}"))
	if err != nil || !recorded {
		t.Fatalf("Record after a conflict: recorded %v, %v; want recorded", recorded, err)
	}
	if n := db.calls.Load(); n != 2 {
		t.Errorf("%d transactions, want 2 (the conflict, then the retry)", n)
	}
}
