package runstate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Blob is a bounded item of opaque state beside the checkpoint: the
// digest's baseline filters (sort keys "baseline#<slot>") and its hourly
// history ("findings#history"). The caller keeps the number of sort keys
// bounded (a fixed ring of slots); the store bounds each item's size.
type Blob struct {
	SortKey string
	Data    []byte
	// Version counts the writes; 0 means the item does not exist.
	Version   int64
	WrittenBy string
}

// MaxBlobBytes bounds a blob's data, under DynamoDB's 400 KB item limit
// with room for the key and the other attributes.
const MaxBlobBytes = 380 * 1024

const attrData = "data"

// blobPrefixes are the sort keys a blob may take: never "checkpoint".
// "interfaces#" holds the S3 mode's interfaces already seen.
var blobPrefixes = []string{"baseline#", "findings#", "interfaces#"}

func validBlobKey(sk string) error {
	for _, p := range blobPrefixes {
		if strings.HasPrefix(sk, p) && len(sk) > len(p) && len(sk) <= 64 {
			return nil
		}
	}
	return fmt.Errorf("blob sort key %q is not valid: want baseline#…, findings#… or interfaces#…, at most 64 bytes", sk)
}

func (s *Store) blobKey(sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		PartitionKey: &types.AttributeValueMemberS{Value: s.key.PK()},
		SortKey:      &types.AttributeValueMemberS{Value: sk},
	}
}

// blobItem names a blob item, for messages.
func (s *Store) blobItem(sk string) string {
	return fmt.Sprintf("%s item pk=%q sk=%q", s.table, s.key.PK(), sk)
}

// LoadBlob reads the blob with sort key sk; a missing item is an empty
// Blob of Version 0.
func (s *Store) LoadBlob(ctx context.Context, sk string) (Blob, error) {
	if err := validBlobKey(sk); err != nil {
		return Blob{}, fmt.Errorf("reading a blob: %w", err)
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.blobKey(sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Blob{}, fmt.Errorf("reading %s: %w", s.blobItem(sk), err)
	}
	b := Blob{SortKey: sk}
	if len(out.Item) == 0 {
		return b, nil
	}
	f := fields{m: out.Item}
	b.Version = f.num(attrVersion)
	b.WrittenBy = f.str(attrWrittenBy)
	if v, ok := out.Item[attrData].(*types.AttributeValueMemberB); ok {
		b.Data = v.Value
	} else if _, present := out.Item[attrData]; present {
		f.fail(attrData, "want binary, got %T", out.Item[attrData])
	}
	if err := f.err; err != nil {
		return Blob{}, fmt.Errorf("decoding %s: %w", s.blobItem(sk), err)
	}
	if len(b.Data) > MaxBlobBytes {
		return Blob{}, fmt.Errorf("decoding %s: %d bytes of data, more than %d", s.blobItem(sk), len(b.Data), MaxBlobBytes)
	}
	return b, nil
}

// SaveBlob writes data in place of the blob read as prev, on condition
// that nobody wrote it since, and returns the new Blob. A lost race is a
// *ConflictError.
func (s *Store) SaveBlob(ctx context.Context, prev Blob, data []byte, writer string) (Blob, error) {
	sk := prev.SortKey
	if err := validBlobKey(sk); err != nil {
		return Blob{}, fmt.Errorf("writing a blob: %w", err)
	}
	if len(data) > MaxBlobBytes || writer == "" {
		return Blob{}, fmt.Errorf("writing %s: %d bytes (at most %d) by writer %q", s.blobItem(sk), len(data), MaxBlobBytes, writer)
	}
	next := Blob{SortKey: sk, Data: data, Version: prev.Version + 1, WrittenBy: writer}
	item := s.blobKey(sk)
	item[attrData] = &types.AttributeValueMemberB{Value: data}
	item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(next.Version, 10)}
	item[attrWrittenBy] = &types.AttributeValueMemberS{Value: writer}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}
	if prev.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(" + PartitionKey + ")")
	} else {
		in.ConditionExpression = aws.String("#version = :seen")
		in.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":seen": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev.Version, 10)}}
	}
	_, err := s.api.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Blob{}, fmt.Errorf("writing %s: %w", s.blobItem(sk), &ConflictError{Item: s.blobItem(sk), Version: prev.Version})
	}
	if err != nil {
		return Blob{}, fmt.Errorf("writing %s version %d: %w", s.blobItem(sk), next.Version, err)
	}
	return next, nil
}
