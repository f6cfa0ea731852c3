package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

// Parameter is a template parameter.
type Parameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default"`
}

// otherName is the Ref of a resource type that NameResources does not
// name itself, filling attrs: the organization mode's queues, bus and
// rules.
func (n *Names) otherName(r *Resource, generated string, attrs map[string]string) string {
	str := func(key string) string { s, _ := r.Properties[key].(string); return s }
	switch r.Type {
	case "AWS::SQS::Queue":
		name := str("QueueName")
		if name == "" {
			name = truncate(generated, 80)
		}
		attrs["Arn"] = fmt.Sprintf("arn:%s:sqs:%s:%s:%s", n.Partition, n.Region, n.Account, name)
		attrs["QueueName"] = name
		attrs["QueueUrl"] = QueueURL(n.Region, n.Account, name)
		return attrs["QueueUrl"]
	case "AWS::Events::EventBus":
		name := str("Name")
		attrs["Arn"] = fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", n.Partition, n.Region, n.Account, name)
		attrs["Name"] = name
		return name
	case "AWS::S3::Bucket":
		// S3 takes lower-case names of at most 63 characters (orgs3.go).
		name := str("BucketName")
		if name == "" {
			name = strings.TrimRight(truncate(strings.ToLower(generated), 63), "-")
		}
		attrs["Arn"] = fmt.Sprintf("arn:%s:s3:::%s", n.Partition, name)
		return name
	case "AWS::Events::Rule":
		name := str("Name")
		if name == "" {
			name = truncate(generated, 64)
		}
		attrs["Arn"] = fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", n.Partition, n.Region, n.Account, name)
		return name
	}
	return generated
}

// QueueURL is a queue's URL as SQS gives it. Moto finds a queue by the
// account and name in the URL's path, whatever its host.
func QueueURL(region, account, name string) string {
	return fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, account, name)
}

// moreIntrinsic resolves the functions beyond Ref, Fn::GetAtt and
// Fn::Join that the spoke template uses: its conditions (Fn::Equals,
// Fn::Not, Fn::And, Fn::Or, Condition), Fn::If, and Fn::Sub's plain form.
func (n *Names) moreIntrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			return nil, fmt.Errorf("cannot resolve {Fn::If: %v}: want [condition, then, else]", arg)
		}
		name, _ := a[0].(string)
		holds, known := n.Conditions[name]
		if !known {
			return nil, fmt.Errorf("cannot resolve {Fn::If: %v}: no condition %q", arg, name)
		}
		if holds {
			return n.Resolve(a[1])
		}
		return n.Resolve(a[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		return n.condition(map[string]any{fn: arg})
	case "Fn::Sub":
		return n.sub(arg)
	}
	return nil, fmt.Errorf("cannot resolve %s: the harness resolves only Ref, Fn::GetAtt, Fn::Join, Fn::If, Fn::Sub and the condition functions (add it to e2e.Names.Resolve)", fn)
}

// condition evaluates a condition expression.
func (n *Names) condition(v any) (bool, error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("condition %v: want one condition function", v)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			name, _ := arg.(string)
			holds, known := n.Conditions[name]
			if !known {
				return false, fmt.Errorf("condition %q is not defined (or defined after its use)", name)
			}
			return holds, nil
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals %v: want two values", arg)
			}
			a, err := n.ResolveString(args[0])
			if err != nil {
				return false, err
			}
			b, err := n.ResolveString(args[1])
			return a == b, err
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not %v: want one condition", arg)
			}
			h, err := n.condition(args[0])
			return !h, err
		case "Fn::And", "Fn::Or":
			all := fn == "Fn::And"
			for _, c := range args {
				h, err := n.condition(c)
				if err != nil {
					return false, err
				}
				if h != all {
					return h, nil
				}
			}
			return all, nil
		}
		return false, fmt.Errorf("condition function %s is not supported", fn)
	}
	return false, nil
}

var subRE = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// sub resolves Fn::Sub: "${Name}" and "${Logical.Attr}" in a string, with
// an optional map of variables.
func (n *Names) sub(arg any) (any, error) {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("cannot resolve {Fn::Sub: %v}: want a string or [string, variables]", arg)
		}
		text, _ = a[0].(string)
		vars, _ = a[1].(map[string]any)
	}
	var errs []string
	out := subRE.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		var v any = map[string]any{"Ref": name}
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok {
			v = map[string]any{"Fn::GetAtt": []any{id, attr}}
		}
		s, err := n.ResolveString(v)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return s
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("Fn::Sub %q: %s", text, strings.Join(errs, "; "))
	}
	return out, nil
}

// NamesFor names a template's resources for a stack in account and region,
// with the parameters' values (the defaults, overridden by params), and
// evaluates its conditions, in the order they can depend on each other.
func NamesFor(t *Template, stackName, stackID, account, region string, params map[string]string) (*Names, error) {
	n := NameResources(t, stackName, stackID, account, region)
	n.Params, n.Conditions = map[string]string{}, map[string]bool{}
	for name, p := range t.Parameters {
		if p.Default != nil {
			n.Params[name] = fmt.Sprint(p.Default)
		}
	}
	for k, v := range params {
		if _, declared := t.Parameters[k]; !declared {
			return nil, fmt.Errorf("parameter %s is not declared by %s", k, t.File)
		}
		n.Params[k] = v
	}
	for name, p := range t.Parameters {
		if _, ok := n.Params[name]; !ok && !strings.HasPrefix(p.Type, "AWS::SSM::") {
			return nil, fmt.Errorf("parameter %s of %s has no value and no default", name, t.File)
		}
	}
	// Conditions may refer to each other: evaluate until none is left.
	left := make(map[string]any, len(t.Conditions))
	for k, v := range t.Conditions {
		left[k] = v
	}
	for len(left) > 0 {
		progress := false
		for _, name := range sortedAny(left) {
			h, err := n.condition(left[name])
			if err != nil {
				continue
			}
			n.Conditions[name], progress = h, true
			delete(left, name)
		}
		if !progress {
			return nil, fmt.Errorf("conditions %v of %s cannot be evaluated", sortedAny(left), t.File)
		}
	}
	return n, n.resolveNames(t)
}

// nameProperty is the property that names a resource of each type, for
// the types NameResources names.
var nameProperty = map[string]string{
	"AWS::Logs::LogGroup": "LogGroupName", "AWS::IAM::Role": "RoleName", "AWS::DynamoDB::Table": "TableName",
	"AWS::Lambda::Function": "FunctionName", "AWS::SQS::Queue": "QueueName", "AWS::Events::Rule": "Name",
}

// resolveNames names again the resources whose name is an intrinsic (the
// spoke's delivery role is VpcFlowLogsDelivery-<region>), which
// NameResources, knowing no parameter yet, named as if unnamed.
func (n *Names) resolveNames(t *Template) error {
	for id, r := range t.Resources {
		prop, ok := nameProperty[r.Type]
		if !ok {
			continue
		}
		v, isFn := r.Properties[prop].(map[string]any)
		if !isFn {
			continue
		}
		name, err := n.ResolveString(v)
		if err != nil {
			return fmt.Errorf("the name of %s: %w", id, err)
		}
		old := n.Ref[id]
		n.Ref[id] = name
		for k, a := range n.Attr[id] {
			n.Attr[id][k] = strings.ReplaceAll(a, old, name)
		}
	}
	return nil
}

func sortedAny(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Spoke is one stack instance of the spoke template, as the harness
// deployed it into an account-region.
type Spoke struct {
	Account, Region string
	Stack           *Stack
}

// DeploySpoke creates in account and region what the spoke template
// declares, with the account's own credentials (its administrator role),
// as a StackSet instance would. Moto's CreateStackSet records a StackSet
// and deploys no instance into member accounts, so the harness plays that
// part of CloudFormation: this is it.
func (o *Organization) DeploySpoke(ctx context.Context, t *Template, account, region string, params map[string]string) (*Spoke, error) {
	stackID := NewStackID(region, account, "StackSet-VpcFlowLogsSpoke", NewID())
	n, err := NamesFor(t, "StackSet-VpcFlowLogsSpoke", stackID, account, region, params)
	if err != nil {
		return nil, err
	}
	s := &Stack{Template: t, Names: n}
	if err := Deploy(ctx, o.Admin(account, region), s); err != nil {
		return nil, fmt.Errorf("deploying the spoke into %s/%s: %w", account, region, err)
	}
	return &Spoke{Account: account, Region: region, Stack: s}, nil
}

// StackSet is what the hub template's AWS::CloudFormation::StackSet
// declares: where the spoke template goes.
type StackSet struct {
	Resource       *Resource
	PermissionMode string
	CallAs         string
	AutoDeploy     bool
	// Targets are the OU or root ids, Regions the regions, of its
	// instance groups.
	Targets, Regions []string
	Params           map[string]string
	// Operation is the operation preferences, as declared.
	Operation map[string]any
	// Template is the spoke template, from TemplateBody (or, for a
	// TemplateURL, the spoke template the cloud assembly holds).
	Template *Template
}

// ReadStackSet reads the hub template's one StackSet, resolved against
// the hub's names.
func ReadStackSet(s *Stack) (*StackSet, error) {
	sets := s.Template.OfType("AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		return nil, fmt.Errorf("the template %s has %d StackSets, want 1", s.Template.File, len(sets))
	}
	r := sets[0]
	resolved, err := s.Names.Resolve(r.Properties)
	if err != nil {
		return nil, fmt.Errorf("resolving the StackSet %s: %w", r.Path(), err)
	}
	p, _ := resolved.(map[string]any)
	ss := &StackSet{Resource: r, PermissionMode: str(p["PermissionModel"]), CallAs: str(p["CallAs"]), Params: map[string]string{}}
	auto, _ := p["AutoDeployment"].(map[string]any)
	ss.AutoDeploy, _ = auto["Enabled"].(bool)
	ss.Operation, _ = p["OperationPreferences"].(map[string]any)
	for _, g := range list(p["StackInstancesGroup"]) {
		dt, _ := g["DeploymentTargets"].(map[string]any)
		for _, id := range asList(dt["OrganizationalUnitIds"]) {
			ss.Targets = append(ss.Targets, fmt.Sprint(id))
		}
		for _, reg := range asList(g["Regions"]) {
			ss.Regions = append(ss.Regions, fmt.Sprint(reg))
		}
	}
	for _, kv := range list(p["Parameters"]) {
		ss.Params[str(kv["ParameterKey"])] = str(kv["ParameterValue"])
	}
	if ss.Template, err = spokeTemplate(s.Template, p); err != nil {
		return nil, err
	}
	return ss, nil
}

// spokeTemplate is the StackSet's template: its TemplateBody, or the
// cloud assembly's spoke template for a TemplateURL.
func spokeTemplate(hub *Template, p map[string]any) (*Template, error) {
	if body := str(p["TemplateBody"]); body != "" {
		t := &Template{File: hub.File + " (StackSet TemplateBody)"}
		if err := json.Unmarshal([]byte(body), t); err != nil {
			return nil, fmt.Errorf("decoding the StackSet's TemplateBody: %w", err)
		}
		for id, r := range t.Resources {
			r.LogicalID = id
		}
		return t, nil
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(hub.File), "*[Ss]poke*.template.json"))
	if len(matches) != 1 {
		return nil, fmt.Errorf("the StackSet has no TemplateBody and the cloud assembly %s holds %d spoke templates, want 1", filepath.Dir(hub.File), len(matches))
	}
	if _, err := os.Stat(matches[0]); err != nil {
		return nil, err
	}
	return ReadTemplate(matches[0])
}

// Instances are the account-regions a service-managed StackSet deploys to
// now: every ACTIVE account under its targets (OUs recursively), times its
// regions. The management account is never a target of a service-managed
// StackSet (CloudFormation's documented rule), so it is left out.
func (ss *StackSet) Instances(ctx context.Context, o *Organization) ([][2]string, error) {
	seen := map[string]bool{}
	var accounts []string
	var walk func(parent string) error
	walk = func(parent string) error {
		ap := organizations.NewListAccountsForParentPaginator(o.Org, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)})
		for ap.HasMorePages() {
			page, err := ap.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing the accounts of %s: %w", parent, err)
			}
			for _, a := range page.Accounts {
				id := aws.ToString(a.Id)
				if a.Status == "ACTIVE" && id != Account && !seen[id] {
					seen[id] = true
					accounts = append(accounts, id)
				}
			}
		}
		op := organizations.NewListOrganizationalUnitsForParentPaginator(o.Org, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)})
		for op.HasMorePages() {
			page, err := op.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("listing the OUs of %s: %w", parent, err)
			}
			for _, ou := range page.OrganizationalUnits {
				if err := walk(aws.ToString(ou.Id)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, t := range ss.Targets {
		if err := walk(t); err != nil {
			return nil, err
		}
	}
	sort.Strings(accounts)
	var out [][2]string
	for _, a := range accounts {
		for _, r := range ss.Regions {
			out = append(out, [2]string{a, r})
		}
	}
	return out, nil
}
