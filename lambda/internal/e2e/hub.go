package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// queueAttributes are the AWS::SQS::Queue properties the harness sets on
// moto's queue, with their attribute names. Encryption (SSE) is left out:
// moto accepts and ignores it, and nothing local reads it.
var queueAttributes = map[string]string{
	"VisibilityTimeout":             "VisibilityTimeout",
	"MessageRetentionPeriod":        "MessageRetentionPeriod",
	"ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
	"DelaySeconds":                  "DelaySeconds",
	"MaximumMessageSize":            "MaximumMessageSize",
}

// createMore creates the resources of the organization mode that the
// functions use: the SQS work queues (with their dead-letter queues). It
// reports false for a type it does not create: the hub bus and its rules
// (the harness plays EventBridge, OrgBus), queue policies, event source
// mappings (the harness plays them, Pump) and the StackSet (the harness
// deploys its instances, DeploySpoke).
func (s *Stack) createMore(ctx context.Context, c Clients, r *Resource, p map[string]any) (string, bool, error) {
	if r.Type != "AWS::SQS::Queue" {
		return "", false, nil
	}
	name := s.Names.Attr[r.LogicalID]["QueueName"]
	attrs := map[string]string{}
	var shown []string
	for prop, attr := range queueAttributes {
		if v, ok := p[prop]; ok {
			if f, isNum := v.(float64); isNum {
				v = strconv.FormatFloat(f, 'f', -1, 64)
			}
			attrs[attr] = fmt.Sprint(v)
			shown = append(shown, fmt.Sprintf("%s %v", prop, v))
		}
	}
	sort.Strings(shown)
	if _, err := c.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs}); err != nil {
		return "", true, err
	}
	line := fmt.Sprintf("queue %s (%s)", name, strings.Join(shown, ", "))
	if rp, ok := p["RedrivePolicy"].(map[string]any); ok {
		b, err := json.Marshal(rp)
		if err != nil {
			return "", true, err
		}
		if s.redrive == nil {
			s.redrive = map[string]string{}
		}
		s.redrive[name] = string(b)
		line += fmt.Sprintf(", dead letters after %v receives to %v", rp["maxReceiveCount"], rp["deadLetterTargetArn"])
	}
	return line, true, nil
}

// finishMore sets the queues' redrive policies, once every queue (the
// dead-letter queues among them) exists.
func (s *Stack) finishMore(ctx context.Context, c Clients) error {
	for name, policy := range s.redrive {
		url := QueueURL(s.Names.Region, s.Names.Account, name)
		if _, err := c.SQS.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{
			QueueUrl: aws.String(url), Attributes: map[string]string{"RedrivePolicy": policy},
		}); err != nil {
			return fmt.Errorf("setting the redrive policy of %s: %w", name, err)
		}
	}
	s.redrive = nil
	return nil
}
