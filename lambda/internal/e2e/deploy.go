package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// Account is the account moto serves by default.
const Account = "123456789012"

// Clients are the harness's own AWS clients, pointed at moto directly
// (never through a fault proxy: the harness plays AWS, it is not under
// test).
type Clients struct {
	EC2      *ec2.Client
	Logs     *cloudwatchlogs.Client
	DynamoDB *dynamodb.Client
	IAM      *iam.Client
	SQS      *sqs.Client
}

// NewClients returns clients for the AWS endpoint url (moto).
func NewClients(url string) Clients {
	cfg := testenv.AWSConfig(url)
	return Clients{
		EC2:      ec2.NewFromConfig(cfg),
		Logs:     cloudwatchlogs.NewFromConfig(cfg),
		DynamoDB: dynamodb.NewFromConfig(cfg),
		IAM:      iam.NewFromConfig(cfg),
		SQS:      sqs.NewFromConfig(cfg),
	}
}

// Stack is what a deployment of the template created, with the names the
// harness needs.
type Stack struct {
	Template *Template
	Names    *Names

	FlowLogGroup    string
	DigestLogGroup  string
	DeliveryRoleARN string
	StateTable      string
	// FlowLogBucket is the stack's bucket when it delivers to S3 (no flow
	// log group or delivery role then).
	FlowLogBucket string
	// Enabler, Summarizer and Reconcile are the two functions and the
	// custom resource, as the template declares them.
	Enabler, Summarizer, Reconcile *Resource

	// Created describes each resource created, one line each.
	Created []string
	// NotCreated counts the resource types the harness does not create in
	// moto, because it plays their part itself (rules, permissions, the
	// custom resource) or nothing local reads them (dashboard, queries).
	NotCreated map[string]int

	// redrive holds the queues' redrive policies until every queue exists
	// (hub.go).
	redrive map[string]string
}

// StackName is the name of the stack the CDK app defines.
const StackName = "VpcFlowLogs"

// NewStackID returns a stack id as CloudFormation makes them.
func NewStackID(region, account, name, uuid string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", region, account, name, uuid)
}

// Locate names the template's resources and finds the ones the harness
// drives, by construct path.
func Locate(t *Template, stackID string) (*Stack, error) {
	n := NameResources(t, StackName, stackID, Account, testenv.Region)
	s := &Stack{Template: t, Names: n, NotCreated: map[string]int{}}
	var errs []error
	find := func(suffix string) *Resource {
		r, err := t.ByPath(suffix)
		errs = append(errs, err)
		return r
	}
	digests, state := find("/DigestLogGroup/Resource"), find("/State/Resource")
	s.Enabler, s.Summarizer = find("/Enabler/Resource"), find("/Summarizer/Resource")
	s.Reconcile = find("/Reconcile/Default")
	// The log group destination has a flow log group and a delivery role;
	// the S3 destination a bucket and neither (its tests check that: the
	// fields stay empty only when the template lacks them).
	bucket, _ := t.ByPath("/FlowLogBucket/Resource")
	flow, errFlow := t.ByPath("/FlowLogGroup/Resource")
	role, errRole := t.ByPath("/DeliveryRole/Resource")
	if bucket == nil {
		errs = append(errs, errFlow, errRole)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.DigestLogGroup, s.StateTable = n.Ref[digests.LogicalID], n.Ref[state.LogicalID]
	if bucket != nil {
		s.FlowLogBucket = n.Ref[bucket.LogicalID]
	}
	if flow != nil {
		s.FlowLogGroup = n.Ref[flow.LogicalID]
	}
	if role != nil {
		s.DeliveryRoleARN = n.Attr[role.LogicalID]["Arn"]
	}
	return s, nil
}

// Deploy creates in moto what CloudFormation would create from the
// template: every log group with its retention, every IAM role with its
// trust policy and inline policies (and the AWS::IAM::Policy resources
// attached to them), and every DynamoDB table with its keys.
func Deploy(ctx context.Context, c Clients, s *Stack) error {
	s.Created, s.NotCreated = nil, map[string]int{}
	t, n := s.Template, s.Names
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	// Roles before the policies that attach to them.
	order := map[string]int{"AWS::Logs::LogGroup": 0, "AWS::IAM::Role": 1, "AWS::IAM::Policy": 2, "AWS::DynamoDB::Table": 3}
	sort.Slice(ids, func(i, j int) bool {
		oi, iok := order[t.Resources[ids[i]].Type]
		oj, jok := order[t.Resources[ids[j]].Type]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		r := t.Resources[id]
		if r.Condition != "" && !n.Conditions[r.Condition] {
			s.NotCreated[r.Type+" (condition "+r.Condition+" false)"]++
			continue
		}
		props, err := n.Resolve(r.Properties)
		if err != nil {
			if _, handled := order[r.Type]; handled {
				return fmt.Errorf("resolving the properties of %s: %w", r.Path(), err)
			}
		}
		p, _ := props.(map[string]any)
		var line string
		switch r.Type {
		case "AWS::Logs::LogGroup":
			line, err = createLogGroup(ctx, c, n.Ref[id], p)
		case "AWS::IAM::Role":
			line, err = createRole(ctx, c, n.Ref[id], p)
		case "AWS::IAM::Policy":
			line, err = attachPolicy(ctx, c, p)
		case "AWS::DynamoDB::Table":
			line, err = createTable(ctx, c, n.Ref[id], p)
		default:
			// The organization mode's types (queues, the event bus):
			// hub.go.
			var handled bool
			if line, handled, err = s.createMore(ctx, c, r, p); !handled {
				s.NotCreated[r.Type]++
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("creating %s (%s): %w", r.Path(), r.Type, err)
		}
		s.Created = append(s.Created, line)
	}
	return s.finishMore(ctx, c)
}

func createLogGroup(ctx context.Context, c Clients, name string, p map[string]any) (string, error) {
	if _, err := c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		return "", err
	}
	line := "log group " + name
	if days, ok := p["RetentionInDays"].(float64); ok {
		if _, err := c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String(name), RetentionInDays: aws.Int32(int32(days)),
		}); err != nil {
			return "", err
		}
		line += fmt.Sprintf(", retention %d days", int(days))
	}
	return line, nil
}

func createRole(ctx context.Context, c Clients, name string, p map[string]any) (string, error) {
	trust, err := json.Marshal(p["AssumeRolePolicyDocument"])
	if err != nil {
		return "", err
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(string(trust))}
	if d, ok := p["Description"].(string); ok {
		in.Description = aws.String(d)
	}
	if _, err := c.IAM.CreateRole(ctx, in); err != nil {
		return "", err
	}
	line := fmt.Sprintf("role %s trusted by %s", name, strings.Join(principals(p["AssumeRolePolicyDocument"]), ", "))
	policies, _ := p["Policies"].([]any)
	for _, pol := range policies {
		pm, _ := pol.(map[string]any)
		pname, _ := pm["PolicyName"].(string)
		doc, err := json.Marshal(pm["PolicyDocument"])
		if err != nil {
			return "", err
		}
		if err := putRolePolicy(ctx, c, name, pname, doc); err != nil {
			return "", err
		}
		line += fmt.Sprintf("; inline policy %s allows %s", pname, strings.Join(actions(pm["PolicyDocument"]), " "))
	}
	return line, nil
}

func attachPolicy(ctx context.Context, c Clients, p map[string]any) (string, error) {
	name, _ := p["PolicyName"].(string)
	doc, err := json.Marshal(p["PolicyDocument"])
	if err != nil {
		return "", err
	}
	roles, _ := p["Roles"].([]any)
	var names []string
	for _, r := range roles {
		role, _ := r.(string)
		if err := putRolePolicy(ctx, c, role, name, doc); err != nil {
			return "", err
		}
		names = append(names, role)
	}
	return fmt.Sprintf("policy %s on %s allows %s", name, strings.Join(names, ", "), strings.Join(actions(p["PolicyDocument"]), " ")), nil
}

func putRolePolicy(ctx context.Context, c Clients, role, name string, doc []byte) error {
	_, err := c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(string(doc)),
	})
	return err
}

// createTable creates a table with the template's key schema, attribute
// definitions and billing mode (moto enforces condition expressions, which
// the run state relies on), and point-in-time recovery when it asks.
func createTable(ctx context.Context, c Clients, name string, p map[string]any) (string, error) {
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: dbtypes.BillingMode(str(p["BillingMode"]))}
	var keys []string
	for _, k := range list(p["KeySchema"]) {
		in.KeySchema = append(in.KeySchema, dbtypes.KeySchemaElement{AttributeName: aws.String(str(k["AttributeName"])), KeyType: dbtypes.KeyType(str(k["KeyType"]))})
		keys = append(keys, str(k["AttributeName"])+" "+str(k["KeyType"]))
	}
	for _, a := range list(p["AttributeDefinitions"]) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, dbtypes.AttributeDefinition{
			AttributeName: aws.String(str(a["AttributeName"])), AttributeType: dbtypes.ScalarAttributeType(str(a["AttributeType"])),
		})
	}
	if _, err := c.DynamoDB.CreateTable(ctx, in); err != nil {
		return "", err
	}
	line := fmt.Sprintf("table %s (%s, %s)", name, strings.Join(keys, ", "), str(p["BillingMode"]))
	if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] == true {
		if _, err := c.DynamoDB.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{
			TableName:                        aws.String(name),
			PointInTimeRecoverySpecification: &dbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)},
		}); err != nil {
			return "", err
		}
		line += ", point-in-time recovery"
	}
	return line, nil
}

func str(v any) string { s, _ := v.(string); return s }

// list returns the maps of a template list, skipping anything else.
func list(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, item := range l {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// principals lists the service principals a trust policy names, with
// "(conditions)" when a statement carries any.
func principals(doc any) []string {
	var out []string
	for _, st := range statements(doc) {
		pr, _ := st["Principal"].(map[string]any)
		for _, v := range asList(pr["Service"]) {
			s := fmt.Sprint(v)
			if cond, ok := st["Condition"].(map[string]any); ok && len(cond) > 0 {
				keys := make([]string, 0, len(cond))
				for op, m := range cond {
					if mm, ok := m.(map[string]any); ok {
						for k := range mm {
							keys = append(keys, op+" "+k)
						}
					}
				}
				sort.Strings(keys)
				s += " if " + strings.Join(keys, " and ")
			}
			out = append(out, s)
		}
	}
	return out
}

// actions lists the actions of a policy document's statements, each once,
// in the order they first appear.
func actions(doc any) []string {
	var out []string
	for _, st := range statements(doc) {
		for _, a := range asList(st["Action"]) {
			if s := fmt.Sprint(a); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func statements(doc any) []map[string]any {
	d, _ := doc.(map[string]any)
	var out []map[string]any
	for _, st := range asList(d["Statement"]) {
		if m, ok := st.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}
