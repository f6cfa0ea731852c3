package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/digest"
)

// StoredDigest is one digest event of the summary log group.
type StoredDigest struct {
	Digest digest.Digest
	// JSON is the event's message as the summarizer wrote it.
	JSON []byte
}

// ReadDigests returns every digest in the summary group's digest stream, in
// the order written. A group with no digest stream yet has none.
func ReadDigests(ctx context.Context, c Clients, group string) ([]StoredDigest, error) {
	var out []StoredDigest
	in := &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(group),
		LogStreamName: aws.String(digest.DigestStreamName),
		StartFromHead: aws.Bool(true),
	}
	for {
		page, err := c.Logs.GetLogEvents(ctx, in)
		var nf *logstypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the digests in %s: %w", group, err)
		}
		for _, ev := range page.Events {
			msg := []byte(aws.ToString(ev.Message))
			var d digest.Digest
			if err := json.Unmarshal(msg, &d); err != nil {
				return nil, fmt.Errorf("decoding a digest in %s: %w", group, err)
			}
			out = append(out, StoredDigest{Digest: d, JSON: msg})
		}
		// GetLogEvents returns the token it was given at the end.
		next := aws.ToString(page.NextForwardToken)
		if next == "" || next == aws.ToString(in.NextToken) || len(page.Events) == 0 {
			return out, nil
		}
		in.NextToken = aws.String(next)
	}
}
