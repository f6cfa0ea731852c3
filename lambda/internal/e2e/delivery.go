package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord/flowrecordtest"
)

// PutLogEvents limits, from the CloudWatch Logs API reference of
// PutLogEvents: at most 10,000 events and 1,048,576 bytes a batch, each
// event counting its message's bytes plus 26.
const (
	maxBatchEvents = 10_000
	maxBatchBytes  = 1_048_576
	eventOverhead  = 26
)

// Traffic describes the records the harness delivers, as the VPC Flow Logs
// service would for the interfaces.
type Traffic struct {
	Seed    int64
	Records int
	// ENIs are the interfaces the records belong to; the generator's
	// interfaces are mapped onto them in order.
	ENIs []ENI
	// Start and Span place the records' capture windows; an event's
	// timestamp is its record's start.
	Start time.Time
	Span  time.Duration
	// Format is the records' format; nil means the default format.
	Format *flowrecord.Format
	// Options are the aggregator options the expected summary is computed
	// with (the summarizer's TopK and MaxTracked).
	Options flowrecord.Options
}

// Delivery is what Deliver wrote.
type Delivery struct {
	Streams []string
	Events  int
	Bytes   int
	// First and Last are the earliest and latest event timestamps.
	First, Last time.Time
	// Created is when the delivery service would have created each
	// stream: when its interface's first capture window closed (its
	// first record's end, or start when the format has no end).
	Created map[string]time.Time
	// Expected is the generator's own tally of what it wrote, with its
	// interface ids replaced by the ENIs': what a digest of all of it must
	// say.
	Expected flowrecord.Summary
}

// Deliver plays the VPC Flow Logs delivery service: it generates the
// records, writes each into the eni-<id>-all stream of its interface in
// group (creating the stream, as the service does when an interface first
// has traffic), in chronological batches within PutLogEvents' limits.
//
// The generator makes up interface ids; each line's interface-id (and
// vpc-id and subnet-id, when the format has them) is rewritten to the ENI it
// is mapped to, so that the summarizer finds the interfaces in EC2.
//
// Moto dates each stream when Deliver creates it; Delivery.Created says
// when the service would have, for a StreamClock to report.
func Deliver(ctx context.Context, c Clients, group string, tr Traffic) (Delivery, error) {
	if len(tr.ENIs) == 0 {
		return Delivery{}, errors.New("delivering records: no interfaces")
	}
	gen := flowrecordtest.NewGenerator(flowrecordtest.Config{
		Seed:       tr.Seed,
		Records:    tr.Records,
		Interfaces: len(tr.ENIs),
		Format:     tr.Format,
		StartTime:  tr.Start.Unix(),
		Span:       int64(tr.Span / time.Second),
	})
	byGen := map[string]ENI{}
	for i, id := range gen.InterfaceIDs() {
		byGen[id] = tr.ENIs[i]
	}
	events, d, err := generate(gen, byGen)
	if err != nil {
		return Delivery{}, fmt.Errorf("delivering records: %w", err)
	}
	d.Expected = mapInterfaces(gen.Expected(tr.Options), byGen)
	for _, stream := range sortedStreams(events) {
		if err := putStream(ctx, c, group, stream, events[stream]); err != nil {
			return Delivery{}, err
		}
		d.Streams = append(d.Streams, stream)
	}
	return d, nil
}

// generate runs the generator to its end and returns each stream's
// events, and the delivery's counts and times.
func generate(gen *flowrecordtest.Generator, byGen map[string]ENI) (map[string][]logstypes.InputLogEvent, Delivery, error) {
	format := gen.Format()
	parser := flowrecord.NewParser(format)
	var rec flowrecord.Record
	events := map[string][]logstypes.InputLogEvent{}
	d := Delivery{Created: map[string]time.Time{}}
	for gen.Next() {
		eni := byGen[gen.InterfaceID()]
		line := rewrite(gen.Line(), format, eni)
		if err := parser.Parse(line, &rec); err != nil {
			return nil, Delivery{}, fmt.Errorf("a generated line does not parse: %w", err)
		}
		if !rec.Has(flowrecord.FieldStart) {
			return nil, Delivery{}, fmt.Errorf("line %q has no start to time its event", line)
		}
		stream := eni.ID + "-all"
		ts := rec.Start * 1000
		events[stream] = append(events[stream], logstypes.InputLogEvent{Message: aws.String(line), Timestamp: aws.Int64(ts)})
		at := time.UnixMilli(ts).UTC()
		if d.Events == 0 || at.Before(d.First) {
			d.First = at
		}
		if at.After(d.Last) {
			d.Last = at
		}
		closed := at
		if rec.Has(flowrecord.FieldEnd) {
			closed = time.Unix(rec.End, 0).UTC()
		}
		if c, ok := d.Created[stream]; !ok || closed.Before(c) {
			d.Created[stream] = closed
		}
		d.Events++
		d.Bytes += len(line)
	}
	return events, d, nil
}

// Deliver delivers tr into the stack's flow log group, and has the
// harness's stream clock date the streams as the service would have
// created them, so that the functions see them created in the hour of
// their records.
func (h *Harness) Deliver(ctx context.Context, tr Traffic) (Delivery, error) {
	d, err := Deliver(ctx, h.Clients, h.Stack.FlowLogGroup, tr)
	if err != nil {
		return Delivery{}, err
	}
	h.Streams.Date(h.Stack.FlowLogGroup, d.Created)
	return d, nil
}

// PastHour places records in the hour before now's minute, where the
// summarizer's first window (one schedule period of an hour, ending on the
// whole minute) finds them: from 55 minutes to 1 minute before it. The
// margins keep them inside the window if the minute ends before the
// summarizer runs.
func PastHour(now time.Time) (start time.Time, span time.Duration) {
	end := now.Truncate(time.Minute)
	return end.Add(-55 * time.Minute), 54 * time.Minute
}

func sortedStreams(m map[string][]logstypes.InputLogEvent) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// putStream creates the stream if needed and writes evs in order.
func putStream(ctx context.Context, c Clients, group, stream string, evs []logstypes.InputLogEvent) error {
	_, err := c.Logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	var exists *logstypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("creating log stream %s: %w", stream, err)
	}
	slices.SortStableFunc(evs, func(a, b logstypes.InputLogEvent) int {
		return int(aws.ToInt64(a.Timestamp) - aws.ToInt64(b.Timestamp))
	})
	for len(evs) > 0 {
		n, size := 0, 0
		for n < len(evs) && n < maxBatchEvents {
			s := len(aws.ToString(evs[n].Message)) + eventOverhead
			if size+s > maxBatchBytes {
				break
			}
			size += s
			n++
		}
		out, err := c.Logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: evs[:n],
		})
		if err != nil {
			return fmt.Errorf("writing %d events to %s: %w", n, stream, err)
		}
		if ri := out.RejectedLogEventsInfo; ri != nil {
			return fmt.Errorf("writing events to %s: rejected (too old up to %d, too new from %d, expired up to %d)", stream,
				aws.ToInt32(ri.TooOldLogEventEndIndex), aws.ToInt32(ri.TooNewLogEventStartIndex), aws.ToInt32(ri.ExpiredLogEventEndIndex))
		}
		evs = evs[n:]
	}
	return nil
}

// rewrite replaces the generator's interface (and its VPC and subnet) in
// line with eni's.
func rewrite(line string, f *flowrecord.Format, eni ENI) string {
	tokens := strings.Split(line, " ")
	set := func(field flowrecord.Field, v string) {
		if i, ok := f.Index(field); ok && i < len(tokens) && tokens[i] != "-" {
			tokens[i] = v
		}
	}
	set(flowrecord.FieldInterfaceID, eni.ID)
	set(flowrecord.FieldVPCID, eni.VPCID)
	set(flowrecord.FieldSubnetID, eni.SubnetID)
	return strings.Join(tokens, " ")
}

// mapInterfaces renames the interfaces of a summary.
func mapInterfaces(s flowrecord.Summary, byGen map[string]ENI) flowrecord.Summary {
	rename := func(id string) string {
		if e, ok := byGen[id]; ok {
			return e.ID
		}
		return id
	}
	ifaces := slices.Clone(s.Interfaces)
	for i := range ifaces {
		ifaces[i].InterfaceID = rename(ifaces[i].InterfaceID)
	}
	slices.SortFunc(ifaces, func(a, b flowrecord.InterfaceSummary) int { return strings.Compare(a.InterfaceID, b.InterfaceID) })
	s.Interfaces = ifaces
	windows := slices.Clone(s.SkipData.Windows)
	for i := range windows {
		windows[i].InterfaceID = rename(windows[i].InterfaceID)
	}
	s.SkipData.Windows = windows
	return s
}
