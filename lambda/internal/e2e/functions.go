package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// Function is one of the template's functions running under the Runtime
// Interface Emulator. The emulator keeps the function's process between
// invocations, as Lambda keeps a warm execution environment.
type Function struct {
	// Name is the function's physical name.
	Name string
	// Env is the environment the function runs with: the template's
	// variables, resolved, then the overrides.
	Env []string
	rie *testenv.RIE
	// invoked, when set, is told each invocation's time and outcome, as
	// Lambda counts them in its Invocations and Errors metrics
	// (AlarmPlay.Watch).
	invoked func(at time.Time, failed bool)
}

// FunctionOptions are the local settings of a function.
type FunctionOptions struct {
	// Endpoint is the AWS endpoint the function calls: moto's URL, or a
	// proxy in front of it.
	Endpoint string
	// Override replaces or adds environment variables (KEY=VALUE) after
	// the template's.
	Override []string
	// Timeout replaces the template's Timeout when positive.
	Timeout time.Duration
	// Log receives what the function and the emulator print.
	Log io.Writer
}

// StartFunction starts fn's bootstrap (the asset of the cloud assembly)
// under the emulator with the template's environment, timeout and memory.
func StartFunction(s *Stack, fn *Resource, o FunctionOptions) (*Function, error) {
	bootstrap, err := AssetBootstrap(s.Template, fn)
	if err != nil {
		return nil, err
	}
	env, err := s.Names.ResolveEnv(fn)
	if err != nil {
		return nil, err
	}
	env = append(env, o.Override...)
	timeout := o.Timeout
	if t, ok := fn.Properties["Timeout"].(float64); ok && timeout <= 0 {
		timeout = time.Duration(t) * time.Second
	}
	memory := 0
	if m, ok := fn.Properties["MemorySize"].(float64); ok {
		memory = int(m)
	}
	name := s.Names.Ref[fn.LogicalID]
	all := append(append([]string{}, testenv.EndpointEnv(o.Endpoint)...), env...)
	all = append(all, "AWS_LAMBDA_FUNCTION_NAME="+name)
	rie, err := testenv.StartRIE(testenv.RIEConfig{
		Bootstrap: bootstrap,
		Env:       all,
		Timeout:   timeout,
		Memory:    memory,
		LogOutput: o.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", fn.Path(), err)
	}
	return &Function{Name: name, Env: env, rie: rie}, nil
}

// FunctionError is an invocation the function answered with an error.
type FunctionError struct {
	Type, Message string
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// Invoke sends one event and returns the function's answer; an error the
// function returned is a *FunctionError.
func (f *Function) Invoke(ctx context.Context, event any) (json.RawMessage, error) {
	payload, err := json.Marshal(event)
	if err != nil {
		return nil, fmt.Errorf("encoding the event: %w", err)
	}
	out, err := f.rie.Invoke(ctx, payload)
	if err != nil {
		f.count(true)
		return out, fmt.Errorf("invoking %s: %w", f.Name, err)
	}
	var fe struct {
		ErrorMessage *string `json:"errorMessage"`
		ErrorType    string  `json:"errorType"`
	}
	if json.Unmarshal(out, &fe) == nil && fe.ErrorMessage != nil {
		f.count(true)
		return out, &FunctionError{Type: fe.ErrorType, Message: *fe.ErrorMessage}
	}
	f.count(false)
	return out, nil
}

func (f *Function) count(failed bool) {
	if f.invoked != nil {
		f.invoked(time.Now(), failed)
	}
}

// InvokeInto invokes and decodes the answer into v.
func (f *Function) InvokeInto(ctx context.Context, event any, v any) error {
	out, err := f.Invoke(ctx, event)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", f.Name, out, err)
	}
	return nil
}

// Log is what the function printed so far.
func (f *Function) Log() string { return f.rie.Log() }

// Close stops the emulator and the function.
func (f *Function) Close() {
	if f != nil && f.rie != nil {
		_ = f.rie.Close()
	}
}

// NewID returns a random id in UUID form, as AWS request ids look.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CustomResourceRequest is the request CloudFormation sends a custom
// resource's function: cfn.Event and the ServiceToken it also carries.
type CustomResourceRequest struct {
	cfn.Event
	ServiceToken string `json:"ServiceToken"`
}

// CustomResourceEvent is the request CloudFormation sends the enabler for
// the template's custom resource: its properties resolved (ServiceToken
// among them, as CloudFormation sends it). physicalID is empty for Create.
// SendCustomResource sets the ResponseURL.
func (s *Stack) CustomResourceEvent(rt cfn.RequestType, physicalID string) (CustomResourceRequest, error) {
	props, err := s.Names.Resolve(s.Reconcile.Properties)
	if err != nil {
		return CustomResourceRequest{}, fmt.Errorf("resolving the properties of %s: %w", s.Reconcile.Path(), err)
	}
	p, _ := props.(map[string]any)
	token, _ := p["ServiceToken"].(string)
	return CustomResourceRequest{
		Event: cfn.Event{
			RequestType:        rt,
			RequestID:          NewID(),
			ResourceType:       s.Reconcile.Type,
			PhysicalResourceID: physicalID,
			LogicalResourceID:  s.Reconcile.LogicalID,
			StackID:            s.Names.StackID,
			ResourceProperties: p,
		},
		ServiceToken: token,
	}, nil
}

// SendCustomResource sends a CloudFormation request to the enabler the way
// CloudFormation does (its ResponseURL answered by responder, under the
// request id) and returns every answer the request received: exactly one
// when all is well.
func SendCustomResource(ctx context.Context, fn *Function, responder *testenv.CFNResponder, ev CustomResourceRequest) ([]testenv.CFNResponse, error) {
	ev.ResponseURL = responder.URL(ev.RequestID)
	_, err := fn.Invoke(ctx, ev)
	got := responder.Responses(ev.RequestID)
	var fe *FunctionError
	if err != nil && !errors.As(err, &fe) {
		return got, err
	}
	// cfn.LambdaWrap answers before it returns: no answer yet means none.
	return got, nil
}

// TagChangeEvent is the EventBridge event AWS sends when a VPC's tags
// change ("Tag Change on Resource" from aws.tag): tags is the full current
// map, changed the keys that changed.
func TagChangeEvent(region, account, vpcID string, tags map[string]string, changed ...string) map[string]any {
	return map[string]any{
		"version":     "0",
		"id":          NewID(),
		"detail-type": "Tag Change on Resource",
		"source":      "aws.tag",
		"account":     account,
		"time":        time.Now().UTC().Format(time.RFC3339),
		"region":      region,
		"resources":   []string{fmt.Sprintf("arn:aws:ec2:%s:%s:vpc/%s", region, account, vpcID)},
		"detail": map[string]any{
			"changed-tag-keys": changed,
			"service":          "ec2",
			"resource-type":    "vpc",
			"version":          float64(time.Now().Unix() % 1000),
			"tags":             tags,
		},
	}
}

// ScheduledEvent is the event an EventBridge schedule rule sends.
func ScheduledEvent(region, account, rule string) map[string]any {
	return map[string]any{
		"version":     "0",
		"id":          NewID(),
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     account,
		"time":        time.Now().UTC().Format(time.RFC3339),
		"region":      region,
		"resources":   []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, account, rule)},
		"detail":      map[string]any{},
	}
}

// ruleName is the physical name of the rule at the construct path suffix,
// for the resources of a scheduled event.
func (s *Stack) ruleName(suffix string) string {
	r, err := s.Template.ByPath(suffix)
	if err != nil {
		return strings.TrimPrefix(suffix, "/")
	}
	return s.Names.Ref[r.LogicalID]
}

// SweepEvent is the scheduled event of the enabler's sweep rule.
func (s *Stack) SweepEvent() map[string]any {
	return ScheduledEvent(s.Names.Region, s.Names.Account, s.ruleName("/Sweep/Resource"))
}

// SummaryEvent is the scheduled event of the summarizer's rule.
func (s *Stack) SummaryEvent() map[string]any {
	return ScheduledEvent(s.Names.Region, s.Names.Account, s.ruleName("/SummarySchedule/Resource"))
}

// TagChangeEvent is the tag change event for a VPC of this stack's account
// and region.
func (s *Stack) TagChangeEvent(vpcID string, tags map[string]string, changed ...string) map[string]any {
	return TagChangeEvent(s.Names.Region, s.Names.Account, vpcID, tags, changed...)
}
