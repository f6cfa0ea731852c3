package runstate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// An organization sweep (the enabler in organization mode) keeps, under
// pk = "<hub account>#<hub region>#sweep:<sweep id>":
//   - one sweep item (sk "sweep"): how many account-regions the sweep
//     covers (expected), how many have finished (finished), and which
//     finisher claimed the coverage document (documentBy);
//   - one coverage item per finished account-region
//     (sk "coverage#<account>#<region>") holding its coverage as JSON.
//
// Both sit in the sweep's partition so that the last finisher reads every
// coverage item with one paged Query, not one GetItem per account-region.
// Coverage items are created and the counter incremented in one
// transaction conditional on the items not existing (an account's regions
// together, FinishAccount, or one, Finish): an account-region counts once
// however often its message is delivered, and a crash between two writes
// cannot leave them disagreeing. Every item carries expiresAt
// (Unix seconds) for the table's time to live.

// SweepAPI is the part of DynamoDB the sweep store calls;
// *dynamodb.Client satisfies it.
type SweepAPI interface {
	API
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// Sort keys and attributes of a sweep's items.
const (
	SweepSortKey          = "sweep"
	coverageSortKeyPrefix = "coverage#"
	sweepAttrExpected     = "expected"
	sweepAttrFinished     = "finished"
	sweepAttrDocumentBy   = "documentBy"
	sweepAttrStartedAt    = "startedAt"
	sweepAttrCoverage     = "coverage"
	sweepAttrExpiresAt    = "expiresAt"
)

// MaxCoverageBytes bounds one account-region's coverage item: the last
// finisher reads all of them, so 17,000 account-regions read at most
// 17,000 × 32 KiB = 544 MiB in the worst case (about 66,000 read units,
// eventually consistent); a typical account-region of a few VPCs is under
// 1 KiB. DynamoDB's own item limit is 400 KB.
const MaxCoverageBytes = 32 * 1024

// SweepRetention is how long a sweep's items live.
const SweepRetention = 14 * 24 * time.Hour

// sweepIDPattern is the shape of a sweep id: when it started, to the
// second, and 64 random bits in hex.
var sweepIDPattern = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}$`)

// ValidateSweepID checks a sweep id read from a message.
func ValidateSweepID(id string) error {
	if !sweepIDPattern.MatchString(id) {
		if len(id) > 64 {
			id = id[:64] + "…"
		}
		return fmt.Errorf("sweep id %q is not valid: want yyyymmddThhmmssZ-<16 hex>", id)
	}
	return nil
}

// NewSweepID returns a sweep id for a sweep starting at t.
func NewSweepID(t time.Time) (string, error) {
	n, err := NewNonce()
	if err != nil {
		return "", err
	}
	return t.UTC().Format("20060102T150405Z") + "-" + n[:16], nil
}

// Sweep is a sweep's item.
type Sweep struct {
	ID        string
	Expected  int
	Finished  int
	StartedAt time.Time
	// DocumentBy names the finisher that claimed the coverage document.
	DocumentBy string
}

// SweepMember is one account-region's coverage item.
type SweepMember struct {
	Account, Region string
	Coverage        []byte // JSON, at most MaxCoverageBytes
}

// SweepStore keeps the organization sweeps of one hub.
type SweepStore struct {
	api        SweepAPI
	table      string
	hubAccount string
	hubRegion  string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewSweepStore returns the store of the hub's sweeps in table.
func NewSweepStore(api SweepAPI, table, hubAccount, hubRegion string) (*SweepStore, error) {
	if api == nil {
		return nil, errors.New("creating the sweep store: no DynamoDB client")
	}
	if err := settings.ValidateTableName(table); err != nil {
		return nil, fmt.Errorf("creating the sweep store: %w", err)
	}
	if err := (Key{Account: hubAccount, Region: hubRegion, Source: "sweep"}).validate(); err != nil {
		return nil, fmt.Errorf("creating the sweep store: %w", err)
	}
	return &SweepStore{api: api, table: table, hubAccount: hubAccount, hubRegion: hubRegion}, nil
}

func (s *SweepStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SweepStore) key(sweepID, sk string) map[string]types.AttributeValue {
	pk := Key{Account: s.hubAccount, Region: s.hubRegion, Source: "sweep:" + sweepID}.PK()
	return map[string]types.AttributeValue{PartitionKey: sAttr(pk), SortKey: sAttr(sk)}
}

func (s *SweepStore) expiry() types.AttributeValue { return nAttr(s.now().Add(SweepRetention).Unix()) }

// Create writes a new sweep's item, expecting that many account-regions.
func (s *SweepStore) Create(ctx context.Context, sweepID string, expected int) error {
	if err := ValidateSweepID(sweepID); err != nil {
		return fmt.Errorf("creating sweep: %w", err)
	}
	if expected < 1 {
		return fmt.Errorf("creating sweep %s: no account-regions", sweepID)
	}
	item := s.key(sweepID, SweepSortKey)
	item[sweepAttrExpected] = nAttr(int64(expected))
	item[sweepAttrFinished] = nAttr(0)
	item[sweepAttrStartedAt] = tAttr(s.now())
	item[sweepAttrExpiresAt] = s.expiry()
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")"),
	})
	if err != nil {
		return fmt.Errorf("creating sweep %s in %s: %w", sweepID, s.table, err)
	}
	return nil
}

// Load reads a sweep's item; ok is false when there is none.
func (s *SweepStore) Load(ctx context.Context, sweepID string) (sw Sweep, ok bool, err error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.key(sweepID, SweepSortKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Sweep{}, false, fmt.Errorf("reading sweep %s: %w", sweepID, err)
	}
	if len(out.Item) == 0 {
		return Sweep{}, false, nil
	}
	f := &fields{m: out.Item}
	sw = Sweep{ID: sweepID, Expected: int(f.num(sweepAttrExpected)), Finished: int(f.num(sweepAttrFinished)),
		StartedAt: f.time(sweepAttrStartedAt), DocumentBy: f.str(sweepAttrDocumentBy)}
	if f.err != nil {
		return Sweep{}, false, fmt.Errorf("decoding sweep %s: %w", sweepID, f.err)
	}
	return sw, true, nil
}
