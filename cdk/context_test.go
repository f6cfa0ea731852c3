package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	// jsii runs the CDK in Node.js: without it no test here can run. By
	// hand that is a skip with the install command; under make test
	// (FLOWLOGS_REQUIRE_TOOLS set) a failure.
	if _, err := exec.LookPath("node"); err != nil {
		fmt.Println("skipping the CDK tests: they need node, which is not on PATH: install it with: apt-get install nodejs npm")
		if os.Getenv("FLOWLOGS_REQUIRE_TOOLS") != "" {
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// cdkJSON is the context of the repository's cdk.json, the defaults a user
// gets.
func cdkJSON(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Context map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return doc.Context
}

func getter(ctx map[string]any) func(*string) any {
	return func(k *string) any { return ctx[*k] }
}

func TestDefaultsFromCDKJSON(t *testing.T) {
	p, err := PropsFromContext(getter(cdkJSON(t)))
	if err != nil {
		t.Fatalf("cdk.json defaults rejected: %v", err)
	}
	switch {
	case p.TagKey != "FlowLogs" || len(p.TagValues) != 1 || p.TagValues[0] != "enabled":
		t.Errorf("tag = %q %q", p.TagKey, p.TagValues)
	case p.LogGroupName != "/vpc/flow-logs" || p.RetentionDays != 365:
		t.Errorf("log group = %q %d", p.LogGroupName, p.RetentionDays)
	case p.TrafficType != "ALL" || p.MaxAggregationInterval != 600 || p.LogFormat != "" || p.KMSKeyARN != "":
		t.Errorf("flow log settings = %q %d %q %q", p.TrafficType, p.MaxAggregationInterval, p.LogFormat, p.KMSKeyARN)
	case p.RemoveFlowLogsOnDelete == nil || !*p.RemoveFlowLogsOnDelete || p.RemoveFlowLogsOnUntag == nil || !*p.RemoveFlowLogsOnUntag:
		t.Errorf("removal = %v %v", p.RemoveFlowLogsOnDelete, p.RemoveFlowLogsOnUntag)
	case p.SweepSchedule != "rate(6 hours)" || p.SummarySchedule != "rate(1 hour)" || p.SettleLag != 15*time.Minute:
		t.Errorf("schedules = %q %q %s", p.SweepSchedule, p.SummarySchedule, p.SettleLag)
	case p.MaxCatchUpHours != 24:
		t.Errorf("maxCatchUpHours = %d", p.MaxCatchUpHours)
	}
}

// TestCDKJSONHoldsTheDefaults proves that cdk.json's context carries the
// settings defaults, the one place they are written: the app reads the same
// Props from cdk.json as from an empty context. (Before, an empty context
// read as zero Props.)
func TestCDKJSONHoldsTheDefaults(t *testing.T) {
	fromJSON, err := PropsFromContext(getter(cdkJSON(t)))
	if err != nil {
		t.Fatal(err)
	}
	fromNothing, err := PropsFromContext(getter(map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromJSON, fromNothing) {
		t.Errorf("cdk.json gives\n%+v\nthe defaults are\n%+v", fromJSON, fromNothing)
	}
	for key := range cdkJSON(t) {
		if !slices.Contains(contextKeys, key) {
			t.Errorf("cdk.json has %s, which the app does not read", key)
		}
	}
}

// TestContextKeys covers each key with a good value as the command line
// gives it (a string) and a bad one, whose error must name the key, the
// value and what is allowed.
func TestContextKeys(t *testing.T) {
	cases := []struct {
		key, good, bad, allowed string
	}{
		{keyTagKey, "Team", strings.Repeat("x", 129), "at most 128"},
		{keyTagKey, "Team", "aws:reserved", "reserves"},
		{keyTagValues, `["a","b"]`, `["` + strings.Repeat("v", 257) + `"]`, "at most 256"},
		{keyTagValues, "a,b", `[1, 2]`, "JSON array of strings"},
		{keyLogGroupName, "/my/flows", "has spaces", "1 to 512 characters"},
		{keyRetentionDays, "30", "42", "one of [1 3 5"},
		{keyRetentionDays, "3653", "a year", "whole number"},
		{keyTrafficType, "REJECT", "DENY", "ALL, ACCEPT, REJECT"},
		{keyMaxAggregationInterval, "60", "300", "60 or 600"},
		{keyLogFormat, "${version} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${log-status}", "${version} ${unknown-field}", "unknown-field"},
		{keyLogFormat, "${version} ${srcaddr}", "${version}  ${srcaddr}", "log format"},
		{keyKMSKeyARN, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab", "alias/logs", "arn:<partition>:kms"},
		{keyRemoveOnDelete, "false", "maybe", "true or false"},
		{keyRemoveOnUntag, "true", "yes please", "true or false"},
		{keySweepSchedule, "rate(30 minutes)", "rate(1 hours)", "singular"},
		{keySweepSchedule, "cron(0 */6 * * ? *)", "every 6 hours", "rate(N"},
		{keySummarySchedule, "rate(2 hours)", "rate(0 hours)", "positive"},
		{keySummaryTopicARN, "arn:aws:sns:us-east-1:123456789012:digest", "digest", "SNS topic ARN"},
		{keySummaryTopicARN, "arn:aws:sns:us-east-1:123456789012:digest", "arn:aws:sns:us-east-1:123456789012:a:b", "arn:<partition>:sns"},
		{keyAlarmTopicARN, "arn:aws:sns:us-east-1:123456789012:alarms", "alarms", "SNS topic ARN"},
		{keyAlarmTopicARN, "arn:aws-cn:sns:cn-north-1:123456789012:alarms", "arn:aws:sqs:us-east-1:123456789012:alarms", "arn:<partition>:sns"},
		{keySettleLagMinutes, "5", "-1", "0 to 1440"},
		{keyMaxCatchUpHours, "744", "745", "1 to 744"},
		{keyMaxCatchUpHours, "1", "0", "1 to 744"},
		{keyDryRun, "true", "sometimes", "true or false"},
		{keySettleLagMinutes, "1440", "1441", "0 to 1440"},
		{keyMetricsNamespace, "Team/FlowLogs", "AWS/FlowLogs", "reserves"},
		{keyComplianceMode, "true", "always", "true or false"},
		{keySummarizerMemoryMB, "1769", "100", "128 to 10240"},
		{keySummarizerMemoryMB, "10240", "10241", "128 to 10240"},
		{keyOrganizationDeployedBy, "delegated-admin", "admin", "management or delegated-admin"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.bad, func(t *testing.T) {
			ctx := cdkJSON(t)
			ctx[c.key] = c.good
			if _, err := PropsFromContext(getter(ctx)); err != nil {
				t.Errorf("%s=%q rejected: %v", c.key, c.good, err)
			}
			ctx[c.key] = c.bad
			_, err := PropsFromContext(getter(ctx))
			if err == nil {
				t.Fatalf("%s=%q accepted", c.key, c.bad)
			}
			for _, want := range []string{c.key, c.allowed} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), c.bad) && !strings.Contains(err.Error(), jsonQuote(c.bad)) {
				t.Errorf("error %q does not show the value %q", err, c.bad)
			}
		})
	}
}

// TestSummaryTopicKMSKey checks the topic's key against the topic: a key ARN
// in the topic's region, and never without a topic.
func TestSummaryTopicKMSKey(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:digest"
	cases := []struct {
		name, topic, key string
		want             string // "" when accepted, else a fragment of the error
	}{
		{"key in the topic's region", topic, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab", ""},
		{"no key", topic, "", ""},
		{"an alias", topic, "arn:aws:kms:eu-west-1:123456789012:alias/sns", "arn:<partition>:kms"},
		{"a key without a topic", "", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab", "set the topic ARN too"},
		{"a key in another region", topic, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab", "needs the key in the topic's region"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := cdkJSON(t)
			ctx[keySummaryTopicARN], ctx[keySummaryTopicKMSKeyARN] = c.topic, c.key
			p, err := PropsFromContext(getter(ctx))
			if c.want == "" {
				if err != nil || p.SummaryTopicKMSKeyARN != c.key {
					t.Errorf("key %q = %q, %v; want it accepted", c.key, p.SummaryTopicKMSKeyARN, err)
				}
				return
			}
			for _, want := range []string{keySummaryTopicKMSKeyARN, c.key, c.want} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v does not say %q", err, want)
				}
			}
		})
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestTagValuesForms(t *testing.T) {
	for _, c := range []struct {
		in   any
		want []string
	}{
		{[]any{}, []string{}},
		{[]any{"x", "y"}, []string{"x", "y"}},
		{"[]", []string{}},
		{`["x"]`, []string{"x"}},
		{"x, y", []string{"x", "y"}},
		// Absent: the default, as nil Props.TagValues and an unset
		// TAG_VALUES (it was nil here, which the construct then defaulted).
		{nil, []string{"enabled"}},
	} {
		ctx := map[string]any{keyTagValues: c.in}
		p, err := PropsFromContext(getter(ctx))
		if err != nil {
			t.Fatalf("%v: %v", c.in, err)
		}
		if (p.TagValues == nil) != (c.want == nil) || strings.Join(p.TagValues, "|") != strings.Join(c.want, "|") {
			t.Errorf("tagValues=%#v gave %#v, want %#v", c.in, p.TagValues, c.want)
		}
	}
}

func TestEnvironmentAgnosticUnlessBothSet(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if environment(get) != nil {
		t.Error("pinned with no variables")
	}
	env["CDK_DEFAULT_ACCOUNT"] = "123456789012"
	if environment(get) != nil {
		t.Error("pinned with the account only")
	}
	env["CDK_DEFAULT_REGION"] = "eu-west-1"
	e := environment(get)
	if e == nil || *e.Account != "123456789012" || *e.Region != "eu-west-1" {
		t.Errorf("environment = %+v", e)
	}
}

// TestOrganizationContext proves the organization keys are read with the
// settings validators and checked together: each case names the keys it
// sets (beyond cdk.json's) and a fragment of the error, "" when accepted.
func TestOrganizationContext(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]any
		want string
	}{
		{"single-account by default", nil, ""},
		{"organization from the command line", map[string]any{keyOrganizationID: "o-a1b2c3d4e5",
			keyOrganizationTargets: "ou-ab12-abcd1234,r-ab12", keyOrganizationRegions: "eu-west-1,us-east-1"}, ""},
		{"organization from cdk.json", map[string]any{keyOrganizationID: "o-a1b2c3d4e5",
			keyOrganizationTargets: []any{"r-ab12"}, keyOrganizationRegions: []any{}}, ""},
		{"organization without targets", map[string]any{keyOrganizationID: "o-a1b2c3d4e5"}, "has no targets"},
		{"targets without organization", map[string]any{keyOrganizationTargets: []any{"r-ab12"}}, "organizationTargets=[\"r-ab12\"]"},
		{"regions without organization", map[string]any{keyOrganizationRegions: "eu-west-1"}, "set without an organization id"},
		{"an account id as a target", map[string]any{keyOrganizationID: "o-a1b2c3d4e5",
			keyOrganizationTargets: "123456789012"}, "context organizationTargets=123456789012: organization target \"123456789012\""},
		{"a short organization id", map[string]any{keyOrganizationID: "o-short", keyOrganizationTargets: "r-ab12"},
			`context organizationId=o-short: organization id "o-short" is not valid: want o- and 10 to 32`},
		{"a bad region", map[string]any{keyOrganizationID: "o-a1b2c3d4e5",
			keyOrganizationTargets: "r-ab12", keyOrganizationRegions: `["eu-west-1","mars-1"]`}, `region "mars-1" is not valid`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := cdkJSON(t)
			for k, v := range c.set {
				ctx[k] = v
			}
			p, err := PropsFromContext(getter(ctx))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			case c.want == "" && c.set[keyOrganizationID] != nil:
				if p.Organization.ID != "o-a1b2c3d4e5" || len(p.Organization.Targets) == 0 || p.Organization.DeployedBy != "management" {
					t.Errorf("organization = %+v", p.Organization)
				}
			case c.want == "" && p.Organization.ID != "":
				t.Errorf("single-account context gave organization %+v", p.Organization)
			}
		})
	}
}

// TestUnknownContextKeys: a key that differs from one the app reads only
// in case is an error naming both; any other key of the app's own form is
// a warning naming it; namespaced keys (CDK's feature flags, the CLI's)
// and the app's keys pass.
func TestUnknownContextKeys(t *testing.T) {
	all := map[string]any{"tagKey": "FlowLogs", "@aws-cdk/core:newStyleStackSynthesis": true, "aws:cdk:enable-path-metadata": true,
		"acknowledged-issue-numbers": []any{32775}, "ticket": "OPS-1"}
	warnings, err := UnknownContextKeys(all)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], `"ticket"`) {
		t.Errorf("warnings %q, error %v; want one warning naming ticket and no error", warnings, err)
	}
	all["tagkey"], all["RETENTIONDAYS"] = "Team", "90"
	_, err = UnknownContextKeys(all)
	if err == nil || !strings.Contains(err.Error(), `"tagkey" (the key is tagKey)`) || !strings.Contains(err.Error(), `"RETENTIONDAYS" (the key is retentionDays)`) {
		t.Errorf("error %v; want one naming tagkey and RETENTIONDAYS with the keys they meant", err)
	}
	for key := range cdkJSON(t) {
		if w, err := UnknownContextKeys(map[string]any{key: true}); err != nil || len(w) != 0 {
			t.Errorf("cdk.json's %s: warnings %q, error %v", key, w, err)
		}
	}
}
