package runstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// An organization digest run (the summarizer in organization mode) keeps,
// under pk = "<hub account>#<hub region>#digest-run:<run id>":
//   - one run item (sk "run"): the accounts and regions it covers, how many
//     account-regions have finished (finished), and who wrote the roll-up;
//   - one member item per finished account-region (sk "ar#<account>#<region>")
//     holding a compact summary of its digest or the reason it failed.
//
// A member item is created and the run's counter incremented in one
// transaction, conditional on the member not existing: an account-region
// counts once however often its message is delivered, and a crash between
// the two writes cannot leave them disagreeing. The finisher that sees the
// counter reach the run's size claims the roll-up (a conditional write) and
// writes it. Every item carries expiresAt (Unix seconds) for the table's
// time to live.

// RunAPI is the part of DynamoDB the organization run store calls.
type RunAPI interface {
	API
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Sort keys and attributes of an organization run's items.
const (
	RunSortKey        = "run"
	memberSortKey     = "ar#"
	attemptSortKey    = "try#"
	attrAccounts      = "accounts"
	attrRegions       = "regions"
	attrExpected      = "expected"
	attrFinished      = "finished"
	attrRollupBy      = "rollupBy"
	attrRollupAt      = "rollupAt"
	attrSummary       = "summary"
	attrExpiresAt     = "expiresAt"
	attrMemberAccount = "account"
	attrMemberRegion  = "region"
)

// MaxMemberSummaryBytes bounds the summary an account-region stores: the
// roll-up reads every member of a run, so 17,000 account-regions read at
// most 136 MB (about 34,000 read units, eventually consistent: cents).
const MaxMemberSummaryBytes = 8 * 1024

// RunRetention is how long a run's items live (expiresAt).
const RunRetention = 30 * 24 * time.Hour

// runIDPattern is the shape of a run id: when the run started, to the
// second, and 64 random bits in hex.
var runIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$`)

// ValidateRunID checks a run id read from a message.
func ValidateRunID(id string) error {
	if !runIDPattern.MatchString(id) {
		return fmt.Errorf("run id %q is not valid: want yyyymmddThhmmssZ-<16 hex>", capText(id))
	}
	return nil
}

// NewRunID returns a run id for a run starting at t.
func NewRunID(t time.Time) (string, error) {
	n, err := NewNonce()
	if err != nil {
		return "", err
	}
	return t.UTC().Format("20060102T150405Z") + "-" + n[:16], nil
}

// RunIDFor returns the run id of a schedule event, the same for every
// delivery of the event: its time and the first 64 bits of the SHA-256 of
// its id.
func RunIDFor(t time.Time, eventID string) string {
	h := sha256.Sum256([]byte(eventID))
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(h[:8])
}

// OrgRun is an organization run's item.
type OrgRun struct {
	ID        string
	Accounts  []string
	Regions   []string
	StartedAt time.Time
	// Finished counts the account-regions recorded so far.
	Finished int
	// RollupBy names the finisher that claimed the roll-up; RollupAt is
	// when it was written (zero until then).
	RollupBy string
	RollupAt time.Time
}

// Expected is how many account-regions the run covers.
func (r OrgRun) Expected() int { return len(r.Accounts) * len(r.Regions) }

// RunStore keeps the organization runs of one hub.
type RunStore struct {
	api        RunAPI
	table      string
	hubAccount string
	hubRegion  string
	now        func() time.Time
}

// NewRunStore returns the store of the hub's runs in table.
func NewRunStore(api RunAPI, table, hubAccount, hubRegion string) (*RunStore, error) {
	if api == nil {
		return nil, errors.New("creating the run store: no DynamoDB client")
	}
	if err := settings.ValidateTableName(table); err != nil {
		return nil, fmt.Errorf("creating the run store: %w", err)
	}
	k := Key{Account: hubAccount, Region: hubRegion, Source: "digest-run"}
	if err := k.validate(); err != nil {
		return nil, fmt.Errorf("creating the run store: %w", err)
	}
	return &RunStore{api: api, table: table, hubAccount: hubAccount, hubRegion: hubRegion, now: time.Now}, nil
}

func (s *RunStore) pk(runID string) string {
	return Key{Account: s.hubAccount, Region: s.hubRegion, Source: "digest-run:" + runID}.PK()
}

func (s *RunStore) key(runID, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{PartitionKey: sAttr(s.pk(runID)), SortKey: sAttr(sk)}
}

func memberKey(account, region string) string { return memberSortKey + account + "#" + region }

func (s *RunStore) expiry() types.AttributeValue {
	return nAttr(s.now().Add(RunRetention).Unix())
}

// Create writes a new run's item; a run id already used is an error.
func (s *RunStore) Create(ctx context.Context, r OrgRun) error {
	if err := ValidateRunID(r.ID); err != nil {
		return fmt.Errorf("creating run: %w", err)
	}
	if len(r.Accounts) == 0 || len(r.Regions) == 0 {
		return fmt.Errorf("creating run %s: no accounts or no regions", r.ID)
	}
	item := s.key(r.ID, RunSortKey)
	item[attrAccounts] = &types.AttributeValueMemberSS{Value: r.Accounts}
	item[attrRegions] = &types.AttributeValueMemberSS{Value: r.Regions}
	item[attrExpected] = nAttr(int64(r.Expected()))
	item[attrFinished] = nAttr(0)
	item[attrStartedAt] = tAttr(r.StartedAt)
	item[attrExpiresAt] = s.expiry()
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")"),
	})
	if err != nil {
		return fmt.Errorf("creating run %s in %s: %w", r.ID, s.table, err)
	}
	return nil
}

// Load reads a run's item; ok is false when there is none.
func (s *RunStore) Load(ctx context.Context, runID string) (r OrgRun, ok bool, err error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.key(runID, RunSortKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return OrgRun{}, false, fmt.Errorf("reading run %s: %w", runID, err)
	}
	if len(out.Item) == 0 {
		return OrgRun{}, false, nil
	}
	f := &fields{m: out.Item}
	r = OrgRun{
		ID: runID, Accounts: f.strSet(attrAccounts), Regions: f.strSet(attrRegions),
		StartedAt: f.time(attrStartedAt), Finished: int(f.num(attrFinished)),
		RollupBy: f.str(attrRollupBy), RollupAt: f.time(attrRollupAt),
	}
	if f.err != nil {
		return OrgRun{}, false, fmt.Errorf("decoding run %s: %w", runID, f.err)
	}
	slices.Sort(r.Accounts)
	slices.Sort(r.Regions)
	return r, true, nil
}

func (f *fields) strSet(name string) []string {
	v, ok := f.m[name]
	if !ok {
		return nil
	}
	ss, ok := v.(*types.AttributeValueMemberSS)
	if !ok {
		f.fail(name, "want a string set, got %T", v)
		return nil
	}
	return slices.Clone(ss.Value)
}

// HasMember reports whether account-region is already recorded in the run.
func (s *RunStore) HasMember(ctx context.Context, runID, account, region string) (bool, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.key(runID, memberKey(account, region)),
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String(SortKey),
	})
	if err != nil {
		return false, fmt.Errorf("reading run %s's item of %s %s: %w", runID, account, region, err)
	}
	return len(out.Item) > 0, nil
}

// Record stores account-region's summary in the run and counts it, once:
// recorded is false when it was already recorded (the message came again).
func (s *RunStore) Record(ctx context.Context, runID, account, region string, summary []byte) (recorded bool, err error) {
	if len(summary) > MaxMemberSummaryBytes {
		return false, fmt.Errorf("recording %s %s in run %s: a summary of %d bytes, the limit is %d", account, region, runID, len(summary), MaxMemberSummaryBytes)
	}
	member := s.key(runID, memberKey(account, region))
	member[attrSummary] = sAttr(string(summary))
	member[attrMemberAccount], member[attrMemberRegion] = sAttr(account), sAttr(region)
	member[attrExpiresAt] = s.expiry()
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.table), Item: member,
			ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")"),
		}},
		{Update: &types.Update{
			TableName: aws.String(s.table), Key: s.key(runID, RunSortKey),
			UpdateExpression:          aws.String("ADD #finished :one"),
			ConditionExpression:       aws.String("attribute_exists(" + PartitionKey + ")"),
			ExpressionAttributeNames:  map[string]string{"#finished": attrFinished},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": nAttr(1)},
		}},
	}}
	err = retryConflicts(ctx, func() error {
		_, err := s.api.TransactWriteItems(ctx, in)
		return err
	})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		reasons := canceled.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			return false, nil
		}
		if len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return false, fmt.Errorf("recording %s %s: run %s does not exist", account, region, runID)
		}
	}
	if err != nil {
		return false, fmt.Errorf("recording %s %s in run %s: %w", account, region, runID, err)
	}
	return true, nil
}

// Claim makes claimer the writer of the run's roll-up, unless another
// claimed it first; the same claimer may claim again (its message came
// again after a crash). It writes the run item the members' transactions
// increment, so it retries their conflicts as Record does.
func (s *RunStore) Claim(ctx context.Context, runID, claimer string) (bool, error) {
	err := retryConflicts(ctx, func() error {
		_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: s.key(runID, RunSortKey),
			UpdateExpression:          aws.String("SET #by = :me"),
			ConditionExpression:       aws.String("attribute_exists(" + PartitionKey + ") AND (attribute_not_exists(#by) OR #by = :me)"),
			ExpressionAttributeNames:  map[string]string{"#by": attrRollupBy},
			ExpressionAttributeValues: map[string]types.AttributeValue{":me": sAttr(claimer)},
		})
		return err
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claiming the roll-up of run %s: %w", runID, err)
	}
	return true, nil
}

// RolledUp records when the run's roll-up was written.
func (s *RunStore) RolledUp(ctx context.Context, runID string, at time.Time) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: s.key(runID, RunSortKey),
		UpdateExpression:          aws.String("SET #at = :at"),
		ExpressionAttributeNames:  map[string]string{"#at": attrRollupAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": tAttr(at)},
	})
	if err != nil {
		return fmt.Errorf("marking run %s rolled up: %w", runID, err)
	}
	return nil
}

// RecordAttempt keeps the outcome of a failed delivery of account-region
// that SQS will deliver again, replacing the previous one, without counting
// it: a roll-up written before the last delivery says why the
// account-region is still pending.
func (s *RunStore) RecordAttempt(ctx context.Context, runID, account, region string, summary []byte) error {
	if len(summary) > MaxMemberSummaryBytes {
		return fmt.Errorf("recording an attempt of %s %s in run %s: a summary of %d bytes, the limit is %d", account, region, runID, len(summary), MaxMemberSummaryBytes)
	}
	item := s.key(runID, attemptSortKey+account+"#"+region)
	item[attrSummary] = sAttr(string(summary))
	item[attrMemberAccount], item[attrMemberRegion] = sAttr(account), sAttr(region)
	item[attrExpiresAt] = s.expiry()
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("recording an attempt of %s %s in run %s: %w", account, region, runID, err)
	}
	return nil
}

// Members calls fn with each recorded account-region of the run and its
// summary, a page (at most 1 MB) at a time, so that memory does not grow
// with the run.
func (s *RunStore) Members(ctx context.Context, runID string, fn func(account, region string, summary []byte) error) error {
	return s.query(ctx, runID, memberSortKey, fn)
}

// Attempts calls fn with the last failed attempt of each account-region
// that has one, as Members does.
func (s *RunStore) Attempts(ctx context.Context, runID string, fn func(account, region string, summary []byte) error) error {
	return s.query(ctx, runID, attemptSortKey, fn)
}

func (s *RunStore) query(ctx context.Context, runID, prefix string, fn func(account, region string, summary []byte) error) error {
	p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :ar)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": PartitionKey, "#sk": SortKey,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": sAttr(s.pk(runID)), ":ar": sAttr(prefix),
		},
		ConsistentRead: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading the %s items of run %s: %w", prefix, runID, err)
		}
		for _, item := range page.Items {
			f := &fields{m: item}
			acct, region, sum := f.str(attrMemberAccount), f.str(attrMemberRegion), f.str(attrSummary)
			if f.err != nil {
				return fmt.Errorf("decoding a %s item of run %s: %w", prefix, runID, f.err)
			}
			if err := fn(acct, region, []byte(sum)); err != nil {
				return err
			}
		}
	}
	return nil
}

// latestSortKey is the sort key of the item naming the hub's latest run,
// under pk "<hub account>#<hub region>#digest-run".
const latestSortKey = "latest"

const attrRunID = "runId"

// SetLatest records runID as the hub's latest run.
func (s *RunStore) SetLatest(ctx context.Context, runID string) error {
	item := map[string]types.AttributeValue{
		PartitionKey: sAttr(Key{Account: s.hubAccount, Region: s.hubRegion, Source: "digest-run"}.PK()),
		SortKey:      sAttr(latestSortKey),
		attrRunID:    sAttr(runID),
	}
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("recording run %s as the latest: %w", runID, err)
	}
	return nil
}

// Latest returns the hub's latest run id, or "" before the first.
func (s *RunStore) Latest(ctx context.Context) (string, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			PartitionKey: sAttr(Key{Account: s.hubAccount, Region: s.hubRegion, Source: "digest-run"}.PK()),
			SortKey:      sAttr(latestSortKey),
		},
	})
	if err != nil {
		return "", fmt.Errorf("reading the latest run: %w", err)
	}
	f := &fields{m: out.Item}
	id := f.str(attrRunID)
	if f.err != nil {
		return "", fmt.Errorf("reading the latest run: %w", f.err)
	}
	if id != "" {
		if err := ValidateRunID(id); err != nil {
			return "", fmt.Errorf("reading the latest run: %w", err)
		}
	}
	return id, nil
}

// IsExists reports whether err is a Create that found the run already
// there (the same schedule event delivered twice).
func IsExists(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// capText shortens hostile text quoted in an error.
func capText(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
