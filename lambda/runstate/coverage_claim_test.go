package runstate_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// conflictingClaims refuses the first n UpdateItem calls with
// TransactionConflictException, as DynamoDB refuses a single-item write
// to an item that another account's transaction is writing (the sweep or
// run item, whose counter every finisher increments), and passes every
// other call, and the later UpdateItems, to moto's table. moto never
// answers so: it does not isolate transactions.
type conflictingClaims struct {
	*dynamodb.Client
	n       int32
	updates atomic.Int32
}

func (c *conflictingClaims) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if c.updates.Add(1) <= c.n {
		return nil, &types.TransactionConflictException{Message: aws.String("Transaction is ongoing for the item")}
	}
	return c.Client.UpdateItem(ctx, in, opts...)
}

// TestSweepClaimRetriesConflicts proves that the claim of the coverage
// document retries a conflict with another account's transaction within
// the invocation, a bounded number of times, and that a finisher that is
// not the last writes nothing (its read of the counter says so). Without
// the retry, the one conflicted claim failed the message, which waited for
// SQS to deliver it again.
func TestSweepClaimRetriesConflicts(t *testing.T) {
	for _, tc := range []struct {
		name                string
		conflicts           int32
		expected            int // account-regions of the sweep; one finishes
		wantLast, wantError bool
		wantUpdates         int32
	}{
		{name: "one conflict, then the claim", conflicts: 1, expected: 1, wantLast: true, wantUpdates: 2},
		{name: "no conflict", conflicts: 0, expected: 1, wantLast: true, wantUpdates: 1},
		{name: "not every account-region finished: read, not written", conflicts: 0, expected: 2, wantUpdates: 0},
		{name: "conflicts past the bound fail, naming the conflict", conflicts: 100, expected: 1, wantError: true, wantUpdates: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &conflictingClaims{Client: newTable(t), n: tc.conflicts}
			store, err := runstate.NewSweepStore(db, table, "999999999999", "us-east-1")
			if err != nil {
				t.Fatal(err)
			}
			id, _ := runstate.NewSweepID(time.Now())
			if err := store.Create(t.Context(), id, tc.expected); err != nil {
				t.Fatal(err)
			}
			last, err := store.Finish(t.Context(), id, "111111111111", "eu-west-1", []byte(`{}`))
			var conflict *types.TransactionConflictException
			if tc.wantError != (err != nil) || (err != nil && !errors.As(err, &conflict)) {
				t.Fatalf("Finish: %v, want an error %v (a TransactionConflictException)", err, tc.wantError)
			}
			if last != tc.wantLast {
				t.Errorf("last = %v, want %v", last, tc.wantLast)
			}
			if n := db.updates.Load(); n != tc.wantUpdates {
				t.Errorf("%d UpdateItem calls, want %d", n, tc.wantUpdates)
			}
		})
	}
}

// TestRunClaimRetriesConflicts proves the same of the roll-up's claim.
func TestRunClaimRetriesConflicts(t *testing.T) {
	db := &conflictingClaims{Client: newTable(t), n: 2}
	s, err := runstate.NewRunStore(db, table, "123456789012", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := runstate.NewRunID(time.Now())
	run := runstate.OrgRun{ID: id, Accounts: []string{"111111111111"}, Regions: []string{"eu-west-1"}, StartedAt: time.Now()}
	if err := s.Create(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(t.Context(), id, "111111111111/eu-west-1")
	if err != nil || !claimed {
		t.Fatalf("Claim after two conflicts: claimed %v, %v; want claimed", claimed, err)
	}
	if n := db.updates.Load(); n != 3 {
		t.Errorf("%d UpdateItem calls, want 3 (two conflicts, then the claim)", n)
	}
}
