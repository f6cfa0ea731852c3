package runstate_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
)

// TestSweepCountsEachAccountRegionOnce proves, against moto's DynamoDB
// transactions, that a sweep counts each account-region once however often
// it finishes (redelivered messages), that exactly one finisher claims the
// coverage document, only after every account-region finished, and that
// the coverage items read back as written.
func TestSweepCountsEachAccountRegionOnce(t *testing.T) {
	db := newTable(t)
	store, err := runstate.NewSweepStore(db, table, "999999999999", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, err := runstate.NewSweepID(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	regions := []string{"us-east-1", "eu-west-1"}
	if err := store.Create(t.Context(), id, len(accounts)*len(regions)); err != nil {
		t.Fatal(err)
	}
	// Every account-region finishes, then each again (a redelivered
	// message). Sequentially: moto runs a transaction by copying the table
	// and restoring the copy when the transaction is cancelled, which
	// undoes writes made concurrently; DynamoDB isolates transactions (a
	// concurrent one is cancelled with TransactionConflict, an error here,
	// and SQS delivers the message again).
	var claims []string
	for range 2 {
		for _, a := range accounts {
			for _, r := range regions {
				last, err := store.Finish(t.Context(), id, a, r, fmt.Appendf(nil, `{"account":%q}`, a))
				if err != nil {
					t.Fatal(err)
				}
				if last {
					claims = append(claims, a+"/"+r)
				}
			}
		}
	}
	sw, ok, err := store.Load(t.Context(), id)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if sw.Finished != 6 || sw.Expected != 6 {
		t.Errorf("finished %d of %d, want 6 of 6", sw.Finished, sw.Expected)
	}
	// The last account-region claims; its redelivery claims again (the
	// claim names it, so a retry rewrites a document that may have
	// failed); no other does.
	if want := []string{"333333333333/eu-west-1", "333333333333/eu-west-1"}; !slices.Equal(claims, want) {
		t.Errorf("claims %v, want %v", claims, want)
	}
	members, err := store.Members(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 6 {
		t.Fatalf("%d coverage items, want 6", len(members))
	}
	for _, m := range members {
		if want := fmt.Sprintf(`{"account":%q}`, m.Account); string(m.Coverage) != want {
			t.Errorf("%s/%s coverage %s, want %s", m.Account, m.Region, m.Coverage, want)
		}
	}
}

// TestSweepNotLastUntilAllFinish proves that no finisher claims the
// document while account-regions are missing, and that bad ids and a
// missing sweep are errors naming them.
func TestSweepNotLastUntilAllFinish(t *testing.T) {
	db := newTable(t)
	store, err := runstate.NewSweepStore(db, table, "999999999999", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := runstate.NewSweepID(time.Now())
	if err := store.Create(t.Context(), id, 2); err != nil {
		t.Fatal(err)
	}
	if last, err := store.Finish(t.Context(), id, "111111111111", "us-east-1", []byte("{}")); err != nil || last {
		t.Errorf("first of two: last=%v err=%v, want not last", last, err)
	}
	if last, err := store.Finish(t.Context(), id, "111111111111", "us-east-1", []byte("{}")); err != nil || last {
		t.Errorf("the first again: last=%v err=%v, want not last (counted once)", last, err)
	}
	if last, err := store.Finish(t.Context(), id, "222222222222", "us-east-1", []byte("{}")); err != nil || !last {
		t.Errorf("second of two: last=%v err=%v, want last", last, err)
	}
	for _, tc := range []struct{ name, sweep, account, region string }{
		{"bad sweep id", "../x", "111111111111", "us-east-1"},
		{"bad account", id, "1111", "us-east-1"},
		{"bad region", id, "111111111111", "us east"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := store.Finish(t.Context(), tc.sweep, tc.account, tc.region, nil); err == nil {
				t.Error("no error")
			}
		})
	}
	other, _ := runstate.NewSweepID(time.Now())
	if _, err := store.Finish(t.Context(), other, "111111111111", "us-east-1", nil); err == nil {
		t.Error("finishing in a sweep that does not exist: no error")
	}
}

// TestSweepFinishAccount proves that an account's regions are recorded in
// one transaction, that a redelivered account (all or some of its regions
// already recorded) counts only what is new, and that the last account
// claims the document, again on redelivery.
func TestSweepFinishAccount(t *testing.T) {
	db := newTable(t)
	store, err := runstate.NewSweepStore(db, table, "999999999999", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := runstate.NewSweepID(time.Now())
	if err := store.Create(t.Context(), id, 6); err != nil {
		t.Fatal(err)
	}
	regions := func(names ...string) []runstate.RegionCoverage {
		var out []runstate.RegionCoverage
		for _, n := range names {
			out = append(out, runstate.RegionCoverage{Region: n, Coverage: []byte(`{}`)})
		}
		return out
	}
	steps := []struct {
		name, account string
		regions       []runstate.RegionCoverage
		wantLast      bool
		wantFinished  int
	}{
		{"first account", "111111111111", regions("us-east-1", "eu-west-1", "ap-south-1"), false, 3},
		{"first account again", "111111111111", regions("us-east-1", "eu-west-1", "ap-south-1"), false, 3},
		{"second account, one region", "222222222222", regions("us-east-1"), false, 4},
		{"second account, all regions", "222222222222", regions("us-east-1", "eu-west-1", "ap-south-1"), true, 6},
		{"second account again", "222222222222", regions("us-east-1", "eu-west-1", "ap-south-1"), true, 6},
	}
	for _, st := range steps {
		last, err := store.FinishAccount(t.Context(), id, st.account, st.regions)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		sw, _, err := store.Load(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if last != st.wantLast || sw.Finished != st.wantFinished {
			t.Errorf("%s: last %v, finished %d; want %v, %d", st.name, last, sw.Finished, st.wantLast, st.wantFinished)
		}
	}
}
