package runstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// API is the part of DynamoDB the store calls.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Attribute names of the table's key.
const (
	PartitionKey = "pk"
	SortKey      = "sk"
)

// CheckpointSortKey is the sort key of the checkpoint item.
const CheckpointSortKey = "checkpoint"

// maxSourceLen bounds the source in a key; a DynamoDB partition key value
// takes at most 2,048 bytes, and a log group name at most 512 characters.
const maxSourceLen = 1024

// Key names whose state an item holds.
type Key struct {
	Account string // twelve digits
	Region  string // e.g. us-east-1
	Source  string // e.g. "cwlogs:/vpc/flow-logs"
}

// PK is the item's partition key value.
func (k Key) PK() string { return k.Account + "#" + k.Region + "#" + k.Source }

func (k Key) validate() error {
	if err := settings.ValidateAccountID(k.Account); err != nil {
		return err
	}
	if err := settings.ValidateRegion(k.Region); err != nil {
		return err
	}
	if k.Source == "" || len(k.Source) > maxSourceLen {
		return fmt.Errorf("source %q is not valid: want 1 to %d bytes", k.Source, maxSourceLen)
	}
	return nil
}

// LogGroupSource is the source of a CloudWatch Logs group.
func LogGroupSource(group string) string { return "cwlogs:" + group }

// Store reads and writes one source's checkpoint item.
type Store struct {
	api   API
	table string
	key   Key
}

// New returns the store of key's items in table.
func New(api API, table string, key Key) (*Store, error) {
	if api == nil {
		return nil, errors.New("creating the run state store: no DynamoDB client")
	}
	if err := settings.ValidateTableName(table); err != nil {
		return nil, fmt.Errorf("creating the run state store: %w", err)
	}
	if err := key.validate(); err != nil {
		return nil, fmt.Errorf("creating the run state store: %w", err)
	}
	return &Store{api: api, table: table, key: key}, nil
}

// Item names the checkpoint item, for messages.
func (s *Store) Item() string {
	return fmt.Sprintf("%s item pk=%q sk=%q", s.table, s.key.PK(), CheckpointSortKey)
}

// NewNonce returns a random 128-bit value in hex, naming one run.
func NewNonce() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("drawing a run nonce: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ConflictError is a conditional write that lost: another run changed the
// item since it was read.
type ConflictError struct {
	Item    string
	Version int64 // the version the write expected
}

func (e *ConflictError) Error() string {
	if e.Version == 0 {
		return fmt.Sprintf("%s: another run created it first", e.Item)
	}
	return fmt.Sprintf("%s: another run changed it since version %d", e.Item, e.Version)
}

// Load reads the checkpoint with a strongly consistent read. A missing item
// is the zero Checkpoint (Version 0): no run has finished yet.
func (s *Store) Load(ctx context.Context) (Checkpoint, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.keyAttrs(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading %s: %w", s.Item(), err)
	}
	if len(out.Item) == 0 {
		return Checkpoint{}, nil
	}
	cp, err := decodeCheckpoint(out.Item)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("decoding %s: %w", s.Item(), err)
	}
	return cp, nil
}

// Save writes next in place of the checkpoint read as prev, on condition
// that nobody wrote the item since (its version is still prev.Version), and
// returns next with its new version. writer names the run (its nonce). A
// lost race is a *ConflictError; a write of this run whose answer was lost
// and that the SDK retried is recognised and succeeds.
func (s *Store) Save(ctx context.Context, prev, next Checkpoint, writer string) (Checkpoint, error) {
	if writer == "" {
		return Checkpoint{}, fmt.Errorf("writing %s: no writer", s.Item())
	}
	next.Version, next.WrittenBy = prev.Version+1, writer
	err := s.write(ctx, prev.Version, next)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		// A retried write meets its own first attempt: the item then has
		// the version and the writer this call wanted.
		cur, lerr := s.Load(ctx)
		if lerr == nil && cur.Version == next.Version && cur.WrittenBy == writer {
			return cur, nil
		}
		return Checkpoint{}, fmt.Errorf("writing %s: %w", s.Item(), &ConflictError{Item: s.Item(), Version: prev.Version})
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("writing %s version %d: %w", s.Item(), next.Version, err)
	}
	return next, nil
}

// write creates the item (seen == 0) or updates it on condition of its
// version.
func (s *Store) write(ctx context.Context, seen int64, cp Checkpoint) error {
	attrs := encodeCheckpoint(cp)
	if seen == 0 {
		item := s.keyAttrs()
		for k, v := range attrs {
			item[k] = v
		}
		_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(s.table),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(" + PartitionKey + ")"),
		})
		return err
	}
	update, names, values := updateExpression(attrs)
	values[":seen"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(seen, 10)}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.keyAttrs(),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#version = :seen"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return err
}

func (s *Store) keyAttrs() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: s.key.PK()},
		SortKey:      &types.AttributeValueMemberS{Value: CheckpointSortKey},
	}
}

// timeFormat keeps nanoseconds, so that a time read back equals the one
// written.
const timeFormat = time.RFC3339Nano
