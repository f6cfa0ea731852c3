package digest

import (
	"context"
	"fmt"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// source is where a run reads records from: it reads one slice of the
// window into an aggregator of its own. readSlices draws slices in order,
// reads up to ReadConcurrency of them at once and merges them in order, so
// everything after the read (the digest, its rendering, the metrics, the
// run state) does not know which source it was.
//
// Two sources exist: reader, the flow log group through FilterLogEvents
// (a record belongs to the slice holding its event timestamp), and
// s3Source, the objects a flow log delivers to a bucket (an object belongs
// to the slice holding the delivery time in its file name; see
// s3source.go).
type source interface {
	readSlice(ctx context.Context, w window) sliceResult
}

var (
	_ source = (*reader)(nil)
	_ source = (*s3Source)(nil)
)

// loadFormats returns the formats of the group's streams; in S3 mode each
// object names its own fields, and no flow log is described.
func (s *Summarizer) loadFormats(ctx context.Context) (*formats, []string, error) {
	if s.s3 != nil {
		return &formats{single: flowrecord.DefaultFormat(), candidates: []*flowrecord.Format{flowrecord.DefaultFormat()}}, nil, nil
	}
	return loadFormats(ctx, s.ec2, s.cfg.LogGroupName)
}

func (s *Summarizer) aggregatorOptions() flowrecord.Options {
	return flowrecord.Options{TopK: s.cfg.TopK, MaxTracked: s.cfg.MaxTracked, MalformedSamples: s.cfg.MalformedSamples}
}

// badObjectWarnings says which objects could not be read: their records
// are not in the digest.
func badObjectWarnings(t tally) []string {
	if t.BadObjects == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("%d S3 object(s) could not be read; their records are not counted (named below, up to %d)", t.BadObjects, maxBadObjectSamples)}
	for _, s := range t.BadObjectSamples {
		out = append(out, "unreadable object "+s)
	}
	return out
}
