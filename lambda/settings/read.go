package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lookup returns the raw text of a setting and whether it is set. Every
// source of settings is one: the functions' environment (Getenv), the
// custom resource's properties and the CDK context (Values).
type Lookup func(key string) (string, bool)

// Getenv is the Lookup of an environment, read through getenv (os.Getenv
// outside tests). An empty variable is unset: the stack never sets one
// empty on purpose.
func Getenv(getenv func(string) string) Lookup {
	return func(key string) (string, bool) {
		v := getenv(key)
		return v, v != ""
	}
}

// Values is the Lookup of decoded JSON values: custom resource properties
// (where CloudFormation delivers every scalar as a string, and a list as a
// list) and the CDK context (typed in cdk.json, strings from -c key=value).
// A string is read as it is, a number or boolean in its JSON form, a list as
// a JSON array; nil and "" are unset.
func Values(get func(key string) any) Lookup {
	return func(key string) (string, bool) {
		switch v := get(key).(type) {
		case nil:
			return "", false
		case string:
			return v, v != ""
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Sprint(v), true
			}
			return string(b), true
		}
	}
}

// Map is Values over a map, such as a custom resource's properties.
func Map(m map[string]any) Lookup {
	return Values(func(key string) any { return m[key] })
}

// Reader reads typed settings through a Lookup. It collects every error
// instead of stopping at the first, each naming the key, the value and what
// is allowed; an unset key takes the default it is given.
type Reader struct {
	lookup Lookup
	source string
	errs   []error
}

// NewReader reads through lookup. source, when not empty, begins every
// error (for example "context"), so that a message says where the value
// came from.
func NewReader(source string, lookup Lookup) *Reader {
	return &Reader{lookup: lookup, source: source}
}

// Err is every error so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records that key's value is not what is allowed (want).
func (r *Reader) Fail(key, value, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%s: %s", r.name(key), value, want))
}

// check records err, a validator's verdict on key's value, when not nil.
func (r *Reader) check(key, value string, err error) {
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%s: %w", r.name(key), value, err))
	}
}

func (r *Reader) name(key string) string {
	if r.source == "" {
		return key
	}
	return r.source + " " + key
}

// String reads a string; each validator checks a set value.
func (r *Reader) String(key, def string, validators ...func(string) error) string {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	for _, validate := range validators {
		r.check(key, v, validate(v))
	}
	return v
}

// Int reads a whole number; each validator checks a set value.
func (r *Reader) Int(key string, def int, validators ...func(int) error) int {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.Fail(key, v, "want a whole number")
		return def
	}
	for _, validate := range validators {
		r.check(key, v, validate(n))
	}
	return n
}

// Bool reads true or false (and the other forms strconv.ParseBool takes).
func (r *Reader) Bool(key string, def bool) bool {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.Fail(key, v, "want true or false")
		return def
	}
	return b
}

// Duration reads a Go duration such as 15m; each validator checks a set
// value.
func (r *Reader) Duration(key string, def time.Duration, validators ...func(time.Duration) error) time.Duration {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		r.Fail(key, v, "want a duration such as 15m")
		return def
	}
	for _, validate := range validators {
		r.check(key, v, validate(d))
	}
	return d
}

// List reads a list of strings written as StringList takes it. An unset key
// gives def; a set empty list ([]) gives an empty, non-nil list.
func (r *Reader) List(key string, def []string, validators ...func([]string) error) []string {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	l, err := StringList(v)
	if err != nil {
		r.Fail(key, v, err.Error())
		return def
	}
	for _, validate := range validators {
		r.check(key, v, validate(l))
	}
	return l
}

// StringList reads a list of strings in the forms the stack and its users
// write it: a decoded JSON array ([]any), a []string, or a string holding a
// JSON array (["a","b"]) or comma-separated values (a,b). nil gives nil;
// an empty array gives an empty, non-nil list.
func StringList(v any) ([]string, error) {
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return l, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, item := range l {
			s, isStr := item.(string)
			if !isStr {
				return nil, errList
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return parseList(l)
	}
	return nil, errList
}

var errList = errors.New(`want a list of strings: a JSON array of strings such as ["enabled"], or a,b`)

func parseList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		out := []string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	var items []any
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		return nil, errors.New(`want a JSON array of strings such as ["enabled"]`)
	}
	return StringList(items)
}
