package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Invoker runs one invocation: a Function under the emulator, or a Go
// function in the pump's own tests.
type Invoker interface {
	Invoke(ctx context.Context, event any) (json.RawMessage, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, event any) (json.RawMessage, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, event any) (json.RawMessage, error) {
	return f(ctx, event)
}

// Mapping is a Lambda event source mapping from an SQS queue, as the hub
// template declares it.
type Mapping struct {
	QueueURL, QueueARN string
	// BatchSize is the most messages one invocation gets; MaxConcurrency
	// the most invocations at once (ScalingConfig.MaximumConcurrency,
	// 2 to 1,000; Lambda's default without it is the function's
	// concurrency, here 2).
	BatchSize, MaxConcurrency int
	// ReportBatchItemFailures: the function answers which messages
	// failed, and only those stay on the queue.
	ReportBatchItemFailures bool
}

// ReadMapping reads the event source mapping of the template's function
// fn.
func ReadMapping(s *Stack, fn *Resource) (Mapping, error) {
	for _, r := range s.Template.OfType("AWS::Lambda::EventSourceMapping") {
		p, err := s.Names.Resolve(r.Properties)
		if err != nil {
			return Mapping{}, fmt.Errorf("resolving %s: %w", r.Path(), err)
		}
		m, _ := p.(map[string]any)
		if str(m["FunctionName"]) != s.Names.Ref[fn.LogicalID] && str(m["FunctionName"]) != s.Names.Attr[fn.LogicalID]["Arn"] {
			continue
		}
		out := Mapping{QueueARN: str(m["EventSourceArn"]), BatchSize: 10, MaxConcurrency: 2}
		if b, ok := m["BatchSize"].(float64); ok {
			out.BatchSize = int(b)
		}
		if sc, ok := m["ScalingConfig"].(map[string]any); ok {
			if c, ok := sc["MaximumConcurrency"].(float64); ok {
				out.MaxConcurrency = int(c)
			}
		}
		for _, t := range asList(m["FunctionResponseTypes"]) {
			out.ReportBatchItemFailures = out.ReportBatchItemFailures || t == "ReportBatchItemFailures"
		}
		for id, a := range s.Names.Attr {
			if a["Arn"] == out.QueueARN && s.Template.Resources[id].Type == "AWS::SQS::Queue" {
				out.QueueURL = a["QueueUrl"]
			}
		}
		if out.QueueURL == "" {
			return Mapping{}, fmt.Errorf("%s reads %s, which is no queue of the template", r.Path(), out.QueueARN)
		}
		return out, nil
	}
	return Mapping{}, fmt.Errorf("the template %s maps no queue to %s", s.Template.File, fn.Path())
}

// Pump plays Lambda's event source mapping for one queue: it receives
// batches from moto's SQS queue, invokes the function with an
// events.SQSEvent, deletes the messages that succeeded, and leaves the
// failed ones (the whole batch on a function error; the batchItemFailures
// with ReportBatchItemFailures) for redelivery, with MaxConcurrency
// invocations at once, one per worker. A Function under the emulator runs
// one invocation at a time, as one Lambda execution environment does: give
// one per worker.
//
// Two differences from Lambda, both for speed: a failed message is made
// visible again at once (ChangeMessageVisibility 0) rather than after the
// queue's visibility timeout, and an empty receive ends a worker once the
// queue holds nothing in flight. Moto applies the queue's redrive policy:
// a message received maxReceiveCount times goes to the dead-letter queue
// on its next receive.
type Pump struct {
	Mapping
	SQS     *sqs.Client
	Workers []Invoker
	// Region and the queue's ARN go into each record, as Lambda sets them.
	Region string

	// receiving holds the workers' ReceiveMessage calls one at a time
	// (work).
	receiving sync.Mutex
}

// PumpStats counts what a drain did.
type PumpStats struct {
	// Invocations counts the function's invocations, FunctionErrors those
	// that failed as a whole.
	Invocations, FunctionErrors int
	// Received counts the messages received (redeliveries included),
	// Deleted those that succeeded, Failed those left for redelivery.
	Received, Deleted, Failed int
	// MaxInFlight is the most invocations seen at once.
	MaxInFlight int
}

// Drain pumps until the queue holds no message, visible or in flight, or
// ctx ends.
func (p *Pump) Drain(ctx context.Context) (PumpStats, error) {
	n := min(len(p.Workers), max(p.MaxConcurrency, 1))
	if n == 0 {
		return PumpStats{}, errors.New("draining the queue: no workers")
	}
	var (
		mu       sync.Mutex
		stats    PumpStats
		inFlight int
		errs     []error
		wg       sync.WaitGroup
	)
	track := func(f func(*PumpStats)) {
		mu.Lock()
		defer mu.Unlock()
		f(&stats)
	}
	for _, w := range p.Workers[:n] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.work(ctx, w, func(delta int) {
				mu.Lock()
				inFlight += delta
				stats.MaxInFlight = max(stats.MaxInFlight, inFlight)
				mu.Unlock()
			}, track)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return stats, errors.Join(errs...)
}

// work is one worker: receive, invoke, settle, until the queue is empty.
func (p *Pump) work(ctx context.Context, w Invoker, flight func(int), track func(func(*PumpStats))) error {
	for ctx.Err() == nil {
		// SQS hands a message to one receiver; moto, receiving for
		// several threads at once, can hand one to two, whose settling
		// then leaves it in flight for the queue's visibility timeout.
		p.receiving.Lock()
		out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: int32(min(p.BatchSize, 10)),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		p.receiving.Unlock()
		if err != nil {
			return fmt.Errorf("receiving from %s: %w", p.QueueURL, err)
		}
		if len(out.Messages) == 0 {
			empty, err := p.empty(ctx)
			if err != nil || empty {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		flight(1)
		failed, fnErr, err := p.invoke(ctx, w, out.Messages)
		flight(-1)
		if err != nil {
			return err
		}
		if err := p.settle(ctx, out.Messages, failed); err != nil {
			return err
		}
		track(func(s *PumpStats) {
			s.Invocations++
			s.Received += len(out.Messages)
			s.Failed += len(failed)
			s.Deleted += len(out.Messages) - len(failed)
			if fnErr {
				s.FunctionErrors++
			}
		})
	}
	return ctx.Err()
}

// empty reports whether the queue holds no message, visible or not.
func (p *Pump) empty(ctx context.Context) (bool, error) {
	a, err := p.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(p.QueueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return false, fmt.Errorf("reading the attributes of %s: %w", p.QueueURL, err)
	}
	return a.Attributes["ApproximateNumberOfMessages"] == "0" && a.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0", nil
}

// invoke sends the batch as Lambda does and returns the receipt handles
// of the messages that failed (all of them on a function error, or when
// the answer names a message not in the batch, as Lambda treats it).
func (p *Pump) invoke(ctx context.Context, w Invoker, msgs []sqstypes.Message) (failed map[string]string, fnErr bool, err error) {
	ev := events.SQSEvent{}
	handles := map[string]string{}
	for _, m := range msgs {
		id := aws.ToString(m.MessageId)
		handles[id] = aws.ToString(m.ReceiptHandle)
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: id, ReceiptHandle: handles[id], Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody),
			Attributes: attrs, EventSource: "aws:sqs", EventSourceARN: p.QueueARN, AWSRegion: p.Region,
		})
	}
	out, err := w.Invoke(ctx, ev)
	var fe *FunctionError
	if errors.As(err, &fe) {
		return handles, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !p.ReportBatchItemFailures {
		return nil, false, nil
	}
	resp, readable := itemFailures(out)
	if !readable {
		// An answer Lambda cannot read fails the whole batch, as a
		// function error does.
		return handles, true, nil
	}
	failed = map[string]string{}
	for _, f := range resp.BatchItemFailures {
		h, ok := handles[f.ItemIdentifier]
		if !ok {
			return handles, true, nil
		}
		failed[f.ItemIdentifier] = h
	}
	return failed, false, nil
}

// itemFailures decodes a function's answer to an SQS batch; an empty or
// null answer reports no failure.
func itemFailures(out json.RawMessage) (events.SQSEventResponse, bool) {
	var resp events.SQSEventResponse
	if len(out) == 0 || string(out) == "null" {
		return resp, true
	}
	return resp, json.Unmarshal(out, &resp) == nil
}

// settle deletes the messages that succeeded and makes the failed ones
// visible again.
func (p *Pump) settle(ctx context.Context, msgs []sqstypes.Message, failed map[string]string) error {
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		id := aws.ToString(m.MessageId)
		if h, bad := failed[id]; bad {
			if _, err := p.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(p.QueueURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0,
			}); err != nil {
				return fmt.Errorf("releasing message %s: %w", id, err)
			}
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(del) == 0 {
		return nil
	}
	out, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: del})
	if err != nil {
		return fmt.Errorf("deleting %d messages: %w", len(del), err)
	}
	if len(out.Failed) > 0 {
		return fmt.Errorf("deleting messages: %d failed, first %s", len(out.Failed), aws.ToString(out.Failed[0].Message))
	}
	return nil
}

// QueueDepth is a queue's ApproximateNumberOfMessages, what a dead-letter
// queue holds.
func QueueDepth(ctx context.Context, c *sqs.Client, url string) (int, error) {
	a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return 0, fmt.Errorf("reading the depth of %s: %w", url, err)
	}
	return strconv.Atoi(a.Attributes["ApproximateNumberOfMessages"])
}
