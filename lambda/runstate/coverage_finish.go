package runstate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Finish records account-region's coverage in the sweep and counts it, once:
// a second delivery of the same account-region's message finds its item and
// counts nothing. last is true for exactly one caller per sweep, the one
// that claims the coverage document after every account-region finished
// (or the same account-region again, should its first claim's document
// have failed: the claim names the account-region).
func (s *SweepStore) Finish(ctx context.Context, sweepID, account, region string, coverage []byte) (last bool, err error) {
	if err := ValidateSweepID(sweepID); err != nil {
		return false, fmt.Errorf("finishing in a sweep: %w", err)
	}
	if err := (Key{Account: account, Region: region, Source: "sweep"}).validate(); err != nil {
		return false, fmt.Errorf("finishing in sweep %s: %w", sweepID, err)
	}
	if len(coverage) > MaxCoverageBytes {
		return false, fmt.Errorf("finishing %s/%s in sweep %s: coverage of %d bytes, at most %d", account, region, sweepID, len(coverage), MaxCoverageBytes)
	}
	if err := s.count(ctx, sweepID, account, region, coverage); err != nil {
		return false, err
	}
	return s.claim(ctx, sweepID, account+"/"+region)
}

// Transactions on the sweep item conflict when account-regions finish at
// the same moment (TransactionConflict: DynamoDB cancels a transaction
// that meets another in progress on the same item). count tries again with
// a jittered backoff before failing, which makes SQS deliver the whole
// message again.
const (
	conflictAttempts = 6
	conflictBackoff  = 50 * time.Millisecond
)

// count writes the coverage item and increments the counter in one
// transaction; an item already there (a redelivery) is not an error.
func (s *SweepStore) count(ctx context.Context, sweepID, account, region string, coverage []byte) error {
	return retryConflicts(ctx, func() error { return s.countOnce(ctx, sweepID, account, region, coverage) })
}

// retryConflicts runs op again, after a jittered wait, while DynamoDB
// refuses it for a conflict with another transaction: concurrent account-
// regions increment the same counter, and a conflict is no answer about
// the write itself. A transaction is cancelled with the reason
// TransactionConflict; a single-item write (the claims' UpdateItem) on an
// item a transaction is writing fails with TransactionConflictException.
// The SDK retries neither (aws/retry's DefaultRetryables list throttling,
// which it already retries, but no conflict), and handing the message back
// to SQS would wait for the message to come back.
func retryConflicts(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if !isConflict(err) || attempt == conflictAttempts {
			return err
		}
		wait := time.Duration(rand.Int64N(int64(conflictBackoff) << attempt))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isConflict reports whether err is DynamoDB refusing a write for a
// concurrent transaction on the same item.
func isConflict(err error) bool {
	var tce *types.TransactionCanceledException
	var single *types.TransactionConflictException
	return (errors.As(err, &tce) && conflicted(tce)) || errors.As(err, &single)
}

func conflicted(tce *types.TransactionCanceledException) bool {
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

func (s *SweepStore) countOnce(ctx context.Context, sweepID, account, region string, coverage []byte) error {
	member := s.key(sweepID, coverageSortKeyPrefix+account+"#"+region)
	member[sweepAttrCoverage] = sAttr(string(coverage))
	member[sweepAttrExpiresAt] = s.expiry()
	_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.table), Item: member,
			ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")")}},
		{Update: &types.Update{TableName: aws.String(s.table), Key: s.key(sweepID, SweepSortKey),
			UpdateExpression:          aws.String("ADD #finished :one"),
			ConditionExpression:       aws.String("attribute_exists(" + PartitionKey + ")"),
			ExpressionAttributeNames:  map[string]string{"#finished": sweepAttrFinished},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": nAttr(1)}}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return nil // counted already: a redelivered message
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return fmt.Errorf("finishing %s/%s: sweep %s does not exist", account, region, sweepID)
		}
		if conflicted(tce) {
			return fmt.Errorf("finishing %s/%s in sweep %s: %w", account, region, sweepID, err)
		}
	}
	if err != nil {
		return fmt.Errorf("finishing %s/%s in sweep %s: %w", account, region, sweepID, err)
	}
	return nil
}

// claim sets documentBy to who when every account-region has finished and
// nobody else claimed the document.
//
// Every finisher but the last few reads that the sweep is not finished
// and writes nothing: a strongly consistent GetItem of the sweep item
// costs half a write unit and, unlike a write, is not refused while
// another account's transaction increments the item. Only a finisher that
// reads every account-region finished makes the conditional write, which
// exactly one of them wins; the one whose increment finished the sweep
// always reads it finished. The write meets the transactions' conflicts
// and is retried as they are.
func (s *SweepStore) claim(ctx context.Context, sweepID, who string) (bool, error) {
	sw, ok, err := s.Load(ctx, sweepID)
	if err != nil {
		return false, fmt.Errorf("claiming the coverage document: %w", err)
	}
	if !ok || sw.Finished < sw.Expected || (sw.DocumentBy != "" && sw.DocumentBy != who) {
		return false, nil
	}
	err = retryConflicts(ctx, func() error { return s.claimOnce(ctx, sweepID, who) })
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claiming the coverage document of sweep %s: %w", sweepID, err)
	}
	return true, nil
}

func (s *SweepStore) claimOnce(ctx context.Context, sweepID, who string) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(sweepID, SweepSortKey),
		UpdateExpression:    aws.String("SET #by = :who"),
		ConditionExpression: aws.String("#finished >= #expected AND (attribute_not_exists(#by) OR #by = :who)"),
		ExpressionAttributeNames: map[string]string{"#by": sweepAttrDocumentBy, "#finished": sweepAttrFinished,
			"#expected": sweepAttrExpected},
		ExpressionAttributeValues: map[string]types.AttributeValue{":who": sAttr(who)},
	})
	return err
}

// Members reads every coverage item of a sweep (a paged Query).
func (s *SweepStore) Members(ctx context.Context, sweepID string) ([]SweepMember, error) {
	pk := s.key(sweepID, "")[PartitionKey]
	p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#pk": PartitionKey, "#sk": SortKey},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": pk, ":prefix": sAttr(coverageSortKeyPrefix)},
	})
	var out []SweepMember
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the coverage of sweep %s: %w", sweepID, err)
		}
		for _, item := range page.Items {
			m, err := decodeMember(item)
			if err != nil {
				return nil, fmt.Errorf("reading the coverage of sweep %s: %w", sweepID, err)
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func decodeMember(item map[string]types.AttributeValue) (SweepMember, error) {
	f := &fields{m: item}
	sk := f.str(SortKey)
	cov := f.str(sweepAttrCoverage)
	if f.err != nil {
		return SweepMember{}, f.err
	}
	var m SweepMember
	rest, _ := strings.CutPrefix(sk, coverageSortKeyPrefix)
	m.Account, m.Region, _ = strings.Cut(rest, "#")
	if settings.ValidateAccountID(m.Account) != nil || settings.ValidateRegion(m.Region) != nil {
		return SweepMember{}, fmt.Errorf("coverage item %q does not name an account and region", sk)
	}
	m.Coverage = []byte(cov)
	return m, nil
}

// RegionCoverage is one region's coverage of an account, for FinishAccount.
type RegionCoverage struct {
	Region   string
	Coverage []byte
}

// maxTransactItems is DynamoDB's limit of items in one transaction.
const maxTransactItems = 100

// FinishAccount records several regions of one account as Finish does,
// in one transaction (the regions' items and one increment of the
// counter by their number) instead of one a region: a message names an
// account's regions, and 17 regions then cost one transaction and one
// claim. When any region is already recorded (a redelivered message),
// the transaction is cancelled as a whole and each region goes through
// Finish on its own, which counts only the new ones.
func (s *SweepStore) FinishAccount(ctx context.Context, sweepID, account string, regions []RegionCoverage) (last bool, err error) {
	if len(regions) == 0 || len(regions) >= maxTransactItems {
		return false, fmt.Errorf("finishing %s in sweep %s: %d regions, want 1 to %d", account, sweepID, len(regions), maxTransactItems-1)
	}
	if err := ValidateSweepID(sweepID); err != nil {
		return false, fmt.Errorf("finishing in a sweep: %w", err)
	}
	items := make([]types.TransactWriteItem, 0, len(regions)+1)
	for _, r := range regions {
		if err := (Key{Account: account, Region: r.Region, Source: "sweep"}).validate(); err != nil {
			return false, fmt.Errorf("finishing in sweep %s: %w", sweepID, err)
		}
		if len(r.Coverage) > MaxCoverageBytes {
			return false, fmt.Errorf("finishing %s/%s in sweep %s: coverage of %d bytes, at most %d", account, r.Region, sweepID, len(r.Coverage), MaxCoverageBytes)
		}
		member := s.key(sweepID, coverageSortKeyPrefix+account+"#"+r.Region)
		member[sweepAttrCoverage] = sAttr(string(r.Coverage))
		member[sweepAttrExpiresAt] = s.expiry()
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: member,
			ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")")}})
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: aws.String(s.table), Key: s.key(sweepID, SweepSortKey),
		UpdateExpression:          aws.String("ADD #finished :n"),
		ConditionExpression:       aws.String("attribute_exists(" + PartitionKey + ")"),
		ExpressionAttributeNames:  map[string]string{"#finished": sweepAttrFinished},
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": nAttr(int64(len(regions)))}}})
	err = retryConflicts(ctx, func() error {
		_, err := s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && !conflicted(tce) {
		// A region already recorded, or the sweep missing: region by
		// region, count tells which. The claim names the account, as the
		// first delivery's did, so a redelivery whose document failed
		// writes it again.
		for _, r := range regions {
			if err := s.count(ctx, sweepID, account, r.Region, r.Coverage); err != nil {
				return false, err
			}
		}
		return s.claim(ctx, sweepID, account)
	}
	if err != nil {
		return false, fmt.Errorf("finishing %s (%d regions) in sweep %s: %w", account, len(regions), sweepID, err)
	}
	return s.claim(ctx, sweepID, account)
}
