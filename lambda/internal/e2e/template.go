package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
)

// Resource is one resource of a CloudFormation template.
type Resource struct {
	LogicalID  string
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
	// Condition names the template condition that decides whether the
	// resource is created; "" means always.
	Condition string `json:"Condition"`
}

// Path is the resource's construct path (aws:cdk:path metadata).
func (r *Resource) Path() string {
	s, _ := r.Metadata["aws:cdk:path"].(string)
	return s
}

// Template is a synthesized CloudFormation template.
type Template struct {
	// File is where it was read from.
	File      string
	Resources map[string]*Resource `json:"Resources"`
	// Parameters and Conditions as the template declares them (the spoke
	// template has both; see spokes.go).
	Parameters map[string]Parameter `json:"Parameters"`
	Conditions map[string]any       `json:"Conditions"`
}

// ReadTemplate reads a template file.
func ReadTemplate(file string) (*Template, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w", err)
	}
	t := &Template{File: file}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("decoding the template %s: %w", file, err)
	}
	for id, r := range t.Resources {
		r.LogicalID = id
	}
	return t, nil
}

// ByPath returns the resource whose construct path ends with suffix (for
// example "/FlowLogGroup/Resource"). Logical ids are hashed and change with
// refactoring; construct paths say what a resource is.
func (t *Template) ByPath(suffix string) (*Resource, error) {
	var found []*Resource
	for _, r := range t.Resources {
		if strings.HasSuffix(r.Path(), suffix) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("the template %s has no resource at a construct path ending %s", t.File, suffix)
	}
	return nil, fmt.Errorf("the template %s has %d resources at construct paths ending %s", t.File, len(found), suffix)
}

// OfType returns the resources of a type, sorted by logical id.
func (t *Template) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range t.Resources {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LogicalID < out[j].LogicalID })
	return out
}

// Names are the physical names and attributes that a deployment gives the
// template's resources, and the pseudo parameters of the stack.
type Names struct {
	StackName string
	StackID   string
	Account   string
	Region    string
	Partition string
	// Ref is the value of {"Ref": logicalID} for every resource.
	Ref map[string]string
	// Attr is the value of {"Fn::GetAtt": [logicalID, name]}.
	Attr map[string]map[string]string
	// Params are the values of the template's parameters, and Conditions
	// the value of each condition (spokes.go): empty for the hub's
	// template, which has neither beyond the CDK's BootstrapVersion.
	Params     map[string]string
	Conditions map[string]bool
}

// NameResources gives every resource of t the physical name CloudFormation
// would: the name the template sets, or a generated one
// (stack-logicalID-SUFFIX) with a
// suffix derived from the stack id, so that a run is reproducible.
func NameResources(t *Template, stackName, stackID, account, region string) *Names {
	n := &Names{
		StackName: stackName, StackID: stackID, Account: account, Region: region, Partition: "aws",
		Ref: map[string]string{}, Attr: map[string]map[string]string{},
	}
	for _, r := range t.Resources {
		id := r.LogicalID
		sum := sha256.Sum256([]byte(stackID + "/" + id))
		suffix := strings.ToUpper(hex.EncodeToString(sum[:6]))
		generated := stackName + "-" + id + "-" + suffix
		str := func(key string) string { s, _ := r.Properties[key].(string); return s }
		attrs := map[string]string{}
		switch r.Type {
		case "AWS::Logs::LogGroup":
			name := str("LogGroupName")
			if name == "" {
				name = generated
			}
			n.Ref[id] = name
			attrs["Arn"] = fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", n.Partition, region, account, name)
		case "AWS::IAM::Role":
			name := str("RoleName")
			if name == "" {
				name = truncate(generated, 64)
			}
			n.Ref[id] = name
			attrs["Arn"] = fmt.Sprintf("arn:%s:iam::%s:role/%s", n.Partition, account, name)
		case "AWS::DynamoDB::Table":
			name := str("TableName")
			if name == "" {
				name = truncate(generated, 255)
			}
			n.Ref[id] = name
			attrs["Arn"] = fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", n.Partition, region, account, name)
		case "AWS::Lambda::Function":
			name := str("FunctionName")
			if name == "" {
				name = truncate(generated, 64)
			}
			n.Ref[id] = name
			attrs["Arn"] = fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", n.Partition, region, account, name)
		default:
			n.Ref[id] = n.otherName(r, generated, attrs)
		}
		n.Attr[id] = attrs
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Resolve returns v with the intrinsic functions a deployment resolves
// replaced by their values: Ref (to a resource or to the pseudo parameters
// AWS::StackId, AWS::StackName, AWS::Region, AWS::AccountId,
// AWS::Partition, AWS::URLSuffix), Fn::GetAtt and Fn::Join. Any other
// function is an error naming it: the harness resolves only what the
// template is known to use.
func (n *Names) Resolve(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := n.Resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return n.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := n.Resolve(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

// ResolveString resolves v and requires a string (a number or boolean is
// written as CloudFormation would pass it).
func (n *Names) ResolveString(v any) (string, error) {
	r, err := n.Resolve(v)
	if err != nil {
		return "", err
	}
	switch s := r.(type) {
	case string:
		return s, nil
	case float64, bool:
		return fmt.Sprint(s), nil
	}
	return "", fmt.Errorf("%v resolves to %T, not a string", v, r)
}

func (n *Names) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		pseudo := map[string]string{
			"AWS::StackId": n.StackID, "AWS::StackName": n.StackName, "AWS::Region": n.Region,
			"AWS::AccountId": n.Account, "AWS::Partition": n.Partition, "AWS::URLSuffix": "amazonaws.com",
		}
		if v, ok := pseudo[name]; ok {
			return v, nil
		}
		if v, ok := n.Ref[name]; ok {
			return v, nil
		}
		if v, ok := n.Params[name]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("cannot resolve {Ref: %v}: no such resource or supported pseudo parameter", arg)
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		case string:
			id, attr, _ = strings.Cut(a, ".")
		}
		if v, ok := n.Attr[id][attr]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("cannot resolve {Fn::GetAtt: %v}: the harness knows no attribute %q of %q", arg, attr, id)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("cannot resolve {Fn::Join: %v}: want [delimiter, [values]]", arg)
		}
		sep, _ := a[0].(string)
		items, err := n.Resolve(a[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		list, ok := items.([]any)
		if !ok {
			return nil, fmt.Errorf("cannot resolve {Fn::Join: %v}: the values are not a list", arg)
		}
		parts := make([]string, len(list))
		for i, it := range list {
			s, err := n.ResolveString(it)
			if err != nil {
				return nil, fmt.Errorf("Fn::Join: %w", err)
			}
			parts[i] = s
		}
		return strings.Join(parts, sep), nil
	}
	return n.moreIntrinsic(fn, arg)
}

// ResolveEnv returns a function's Environment.Variables, resolved, as
// KEY=VALUE sorted by key.
func (n *Names) ResolveEnv(fn *Resource) ([]string, error) {
	env, _ := fn.Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		s, err := n.ResolveString(v)
		if err != nil {
			return nil, fmt.Errorf("environment variable %s of %s: %w", k, fn.Path(), err)
		}
		out = append(out, k+"="+s)
	}
	slices.Sort(out)
	return out, nil
}
