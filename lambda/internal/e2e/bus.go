package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// OrgBus plays the hub's event bus: the spokes' rules put their events
// on it, its policy admits only accounts of the organization, and its
// rules deliver what matches to their targets (the enabler, or a queue).
// Moto's EventBridge neither checks a bus policy against the organization
// nor invokes a function under the emulator, so the harness reads the
// bus, its policy and its rules from the hub template and does both.
type OrgBus struct {
	Name string
	// OrgID is the organization the bus policy admits
	// (aws:PrincipalOrgID); "" when the template's policy names none, in
	// which case Put admits nothing from another account.
	OrgID string
	Rules []BusRule
	// member says whether an account belongs to OrgID.
	member func(account string) bool
	hub    string
}

// BusRule is one rule of the hub bus.
type BusRule struct {
	Name    string
	Pattern map[string]any
	// Targets are ARNs: functions and queues.
	Targets []string
}

// BusDelivery is what Put did with one event.
type BusDelivery struct {
	// Rejected says why the bus policy refused the event, "" if admitted.
	Rejected string
	// Rules lists the rules that matched.
	Rules []string
}

// ReadOrgBus reads the hub template's bus named name, its policy and its
// rules. member says which accounts are in the organization.
func ReadOrgBus(s *Stack, name string, member func(string) bool) (*OrgBus, error) {
	b := &OrgBus{Name: name, member: member, hub: s.Names.Account}
	found := false
	for _, r := range s.Template.OfType("AWS::Events::EventBus") {
		if s.Names.Ref[r.LogicalID] == name {
			found = true
			if pol, ok := r.Properties["Policy"]; ok {
				b.OrgID = orgIDOf(s, pol)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("the template %s has no event bus named %s", s.Template.File, name)
	}
	for _, r := range s.Template.OfType("AWS::Events::EventBusPolicy") {
		p, err := s.Names.Resolve(r.Properties)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", r.Path(), err)
		}
		m, _ := p.(map[string]any)
		if str(m["EventBusName"]) == name || str(m["EventBusName"]) == "" {
			if id := orgIDOf(s, m); id != "" {
				b.OrgID = id
			}
		}
	}
	for _, r := range s.Template.OfType("AWS::Events::Rule") {
		p, err := s.Names.Resolve(r.Properties)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", r.Path(), err)
		}
		m, _ := p.(map[string]any)
		if bus := str(m["EventBusName"]); bus != name && !hasSuffix(bus, "event-bus/"+name) {
			continue
		}
		rule := BusRule{Name: s.Names.Ref[r.LogicalID]}
		rule.Pattern, _ = m["EventPattern"].(map[string]any)
		for _, t := range list(m["Targets"]) {
			rule.Targets = append(rule.Targets, str(t["Arn"]))
		}
		b.Rules = append(b.Rules, rule)
	}
	sort.Slice(b.Rules, func(i, j int) bool { return b.Rules[i].Name < b.Rules[j].Name })
	return b, nil
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// orgIDOf finds the aws:PrincipalOrgID a policy (statement or document)
// conditions on.
func orgIDOf(s *Stack, v any) string {
	resolved, err := s.Names.Resolve(v)
	if err != nil {
		return ""
	}
	var found string
	var walk func(any)
	walk = func(x any) {
		switch y := x.(type) {
		case map[string]any:
			for k, e := range y {
				if k == "aws:PrincipalOrgID" {
					if id, ok := e.(string); ok {
						found = id
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range y {
				walk(e)
			}
		}
	}
	walk(resolved)
	return found
}

// BusTargets are where the bus delivers: a function by its ARN, and the
// queues' client (a queue target's ARN names it).
type BusTargets struct {
	Functions map[string]Invoker
	SQS       *sqs.Client
}

// Put puts an event on the bus, as a spoke's rule (or anyone) would: the
// policy admits the hub's own account and the organization's, and each
// matching rule delivers the event to its targets. A function's error is
// returned, as EventBridge would retry it.
func (b *OrgBus) Put(ctx context.Context, event map[string]any, to BusTargets) (BusDelivery, error) {
	account, _ := event["account"].(string)
	if account != b.hub && (b.OrgID == "" || !b.member(account)) {
		return BusDelivery{Rejected: fmt.Sprintf("account %q is not in the organization %q the bus policy admits", account, b.OrgID)}, nil
	}
	// Patterns match the event as JSON has it (lists as []any).
	var plain map[string]any
	raw, err := json.Marshal(event)
	if err != nil {
		return BusDelivery{}, fmt.Errorf("encoding the event: %w", err)
	}
	if err := json.Unmarshal(raw, &plain); err != nil {
		return BusDelivery{}, fmt.Errorf("decoding the event: %w", err)
	}
	var d BusDelivery
	for _, r := range b.Rules {
		if !Matches(r.Pattern, plain) {
			continue
		}
		d.Rules = append(d.Rules, r.Name)
		for _, arn := range r.Targets {
			if err := deliver(ctx, arn, event, to); err != nil {
				return d, fmt.Errorf("rule %s: %w", r.Name, err)
			}
		}
	}
	return d, nil
}

func deliver(ctx context.Context, arn string, event map[string]any, to BusTargets) error {
	if fn, ok := to.Functions[arn]; ok {
		_, err := fn.Invoke(ctx, event)
		return err
	}
	if parts := strings.Split(arn, ":"); len(parts) == 6 && parts[2] == "sqs" {
		body, err := json.Marshal(event)
		if err != nil {
			return err
		}
		_, err = to.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(QueueURL(parts[3], parts[4], parts[5])), MessageBody: aws.String(string(body))})
		return err
	}
	return fmt.Errorf("no target %s: the harness delivers to the template's functions and queues", arn)
}

// Matches reports whether an event matches an EventBridge pattern, for
// the subset the templates use: a list of values (any equal), nested
// objects, and {"exists": bool}.
func Matches(pattern map[string]any, event map[string]any) bool {
	for k, want := range pattern {
		got, present := event[k]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok || !Matches(w, sub) {
				return false
			}
		case []any:
			if !matchesAny(w, got, present) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func matchesAny(values []any, got any, present bool) bool {
	for _, v := range values {
		if m, ok := v.(map[string]any); ok {
			if exists, ok := m["exists"].(bool); ok && exists == present {
				return true
			}
			continue
		}
		if present && fmt.Sprint(v) == fmt.Sprint(got) {
			return true
		}
		if list, ok := got.([]any); ok {
			for _, g := range list {
				if fmt.Sprint(g) == fmt.Sprint(v) {
					return true
				}
			}
		}
	}
	return false
}

// CloudTrailEvent is the EventBridge event of a CloudTrail-recorded EC2
// call: CreateVpc with the VPC it created (vpcID), or another call; a
// non-empty errorCode marks a failed call.
func CloudTrailEvent(region, account, eventName, vpcID, errorCode string) map[string]any {
	detail := map[string]any{
		"eventSource": "ec2.amazonaws.com", "eventName": eventName, "awsRegion": region,
		"eventTime": time.Now().UTC().Format(time.RFC3339),
	}
	if errorCode != "" {
		detail["errorCode"] = errorCode
	}
	if vpcID != "" {
		detail["responseElements"] = map[string]any{"vpc": map[string]any{"vpcId": vpcID}}
	}
	return map[string]any{
		"version": "0", "id": NewID(), "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
		"account": account, "time": time.Now().UTC().Format(time.RFC3339), "region": region,
		"resources": []string{}, "detail": detail,
	}
}
