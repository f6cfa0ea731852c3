package settings_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

const role = "arn:aws:iam::123456789012:role/delivery"

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnablerFromEnv(t *testing.T) {
	good := map[string]string{
		settings.EnvTagKey:          "FlowLogs",
		settings.EnvTagValues:       `["enabled","yes"]`,
		settings.EnvLogGroupName:    "/vpc/flow-logs",
		settings.EnvDeliveryRoleARN: role,
		settings.EnvOwner:           "arn:aws:cloudformation:us-east-1:123456789012:stack/S/1",
	}
	e, err := settings.EnablerFromEnv(env(good))
	if err != nil {
		t.Fatal(err)
	}
	if e.TrafficType != "ALL" || e.MaxAggregationInterval != 600 || !e.RemoveOnDelete || !e.RemoveOnUntag || e.DryRun ||
		e.MetricsNamespace != settings.DefaultMetricsNamespace || len(e.TagValues) != 2 {
		t.Errorf("defaults not applied: %+v", e)
	}

	bad := []struct {
		key, value, want string
	}{
		{settings.EnvTagKey, "", "TAG_KEY: tag key is empty"},
		{settings.EnvTagValues, `["enabled"`, `TAG_VALUES=["enabled": want a JSON array`},
		{settings.EnvLogGroupName, "no spaces allowed", `LOG_GROUP_NAME: log group name "no spaces allowed"`},
		{settings.EnvDeliveryRoleARN, "role", "DELIVERY_ROLE_ARN: delivery role ARN"},
		{settings.EnvTrafficType, "all", `TRAFFIC_TYPE: traffic type "all"`},
		{settings.EnvMaxAggregationInterval, "ten", "MAX_AGGREGATION_INTERVAL=ten: want a whole number"},
		{settings.EnvMaxAggregationInterval, "120", "MAX_AGGREGATION_INTERVAL: maximum aggregation interval 120"},
		{settings.EnvLogFormat, "${version} ${bogus}", "LOG_FORMAT: log format"},
		{settings.EnvRemoveOnUntag, "maybe", "REMOVE_FLOW_LOGS_ON_UNTAG=maybe: want true or false"},
		{settings.EnvOwner, "", "OWNER: owner is empty"},
		{settings.EnvEnablerRoleARN, "enabler", "ENABLER_ROLE_ARN=enabler: want an IAM role ARN"},
	}
	for _, b := range bad {
		t.Run(b.key+"="+b.value, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			m[b.key] = b.value
			_, err := settings.EnablerFromEnv(env(m))
			if err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("got %v, want an error containing %q", err, b.want)
			}
		})
	}
}

func TestEnablerFromProperties(t *testing.T) {
	base := settings.Enabler{Owner: "stack-id", MetricsNamespace: "NS"}
	// As CloudFormation delivers them: every scalar a string.
	props := map[string]any{
		settings.PropTagKey:                 "Team",
		settings.PropTagValues:              []any{},
		settings.PropLogGroupName:           "/flows",
		settings.PropDeliveryRoleARN:        role,
		settings.PropTrafficType:            "REJECT",
		settings.PropMaxAggregationInterval: "60",
		settings.PropRemoveOnDelete:         "false",
		settings.PropDryRun:                 "true",
		"ServiceToken":                      "arn:aws:lambda:us-east-1:123456789012:function:f",
	}
	e, err := settings.EnablerFromProperties(props, base)
	if err != nil {
		t.Fatal(err)
	}
	want := settings.Enabler{
		TagKey: "Team", TagValues: []string{}, LogGroupName: "/flows", DeliveryRoleARN: role, TrafficType: "REJECT",
		MaxAggregationInterval: 60, RemoveOnDelete: false, RemoveOnUntag: true, Owner: "stack-id", DryRun: true, MetricsNamespace: "NS",
	}
	if e.TagKey != want.TagKey || len(e.TagValues) != 0 || e.LogGroupName != want.LogGroupName || e.TrafficType != want.TrafficType ||
		e.MaxAggregationInterval != 60 || e.RemoveOnDelete || !e.RemoveOnUntag || e.Owner != "stack-id" || !e.DryRun || e.MetricsNamespace != "NS" {
		t.Errorf("got %+v\nwant %+v", e, want)
	}

	delete(props, settings.PropLogGroupName)
	props[settings.PropTrafficType] = "SOME"
	props[settings.PropTagValues] = []any{1.0}
	_, err = settings.EnablerFromProperties(props, base)
	for _, w := range []string{`LogGroupName: log group name ""`, `TrafficType: traffic type "SOME"`, "TagValues=[1]: want a list of strings"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not report %q", err, w)
		}
	}
}

func TestSummarizerFromEnv(t *testing.T) {
	m := map[string]string{
		settings.EnvLogGroupName:        "/vpc/flow-logs",
		settings.EnvSummaryLogGroupName: "/vpc/flow-logs/digests",
		settings.EnvStateTable:          "VpcFlowLogs-State",
		settings.EnvSourceAccount:       "123456789012",
		settings.EnvSourceRegion:        "eu-west-1",
	}
	s, err := settings.SummarizerFromEnv(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if s.SettleLag != 15*time.Minute || s.SchedulePeriod != time.Hour || s.TopK != 10 || s.TopicARN != "" ||
		s.MaxCatchUp != settings.DefaultMaxCatchUpHours*time.Hour {
		t.Errorf("defaults not applied: %+v", s)
	}
	m[settings.EnvSettleLag] = "soon"
	m[settings.EnvTopK] = "0"
	delete(m, settings.EnvStateTable)
	m[settings.EnvSourceAccount] = "12345"
	m[settings.EnvSourceRegion] = "Europe"
	m[settings.EnvMaxCatchUp] = "745h"
	_, err = settings.SummarizerFromEnv(env(m))
	for _, w := range []string{"SETTLE_LAG=soon", "TOP_K=0", `STATE_TABLE: table name ""`, `SOURCE_ACCOUNT: account id "12345"`,
		`SOURCE_REGION: region "Europe"`, "MAX_CATCH_UP=745h0m0s: maximum catch-up of 745 hours"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not report %q", err, w)
		}
	}
}

func TestScheduleRate(t *testing.T) {
	for _, c := range []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(1 hour)", time.Hour, true},
		{"rate(6 hours)", 6 * time.Hour, true},
		{"rate(5 minutes)", 5 * time.Minute, true},
		{"rate(1 day)", 24 * time.Hour, true},
		{"rate(1 hours)", 0, false},
		{"rate(2 hour)", 0, false},
		{"rate(0 hours)", 0, false},
		{"cron(0 * * * ? *)", 0, false},
		{"hourly", 0, false},
	} {
		got, err := settings.ScheduleRate(c.expr)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ScheduleRate(%q) = %s, %v; want %s, ok=%v", c.expr, got, err, c.want, c.ok)
		}
	}
	if err := settings.ValidateSchedule("cron(0 * * * ? *)"); err != nil {
		t.Errorf("cron rejected: %v", err)
	}
	if err := settings.ValidateSchedule("cron(0 * * *)"); err == nil {
		t.Error("cron with four fields accepted")
	}
}

func TestValidators(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"tag key 128", settings.ValidateTagKey(strings.Repeat("é", 128)), true},
		{"tag key 129", settings.ValidateTagKey(strings.Repeat("é", 129)), false},
		{"group aws/", settings.ValidateLogGroupName("aws/lambda/x"), false},
		{"group 512", settings.ValidateLogGroupName(strings.Repeat("a", 512)), true},
		{"group 513", settings.ValidateLogGroupName(strings.Repeat("a", 513)), false},
		{"retention 400", settings.ValidateRetentionDays(400), true},
		{"retention 0", settings.ValidateRetentionDays(0), false},
		{"kms key", settings.ValidateKMSKeyARN("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234"), true},
		{"kms alias", settings.ValidateKMSKeyARN("arn:aws:kms:us-east-1:123456789012:alias/logs"), false},
		{"format", settings.ValidateLogFormat("${version} ${vpc-id} ${srcaddr}"), true},
		{"format trailing space", settings.ValidateLogFormat("${version} ${srcaddr} "), false},
		{"topic", settings.ValidateTopicARN("arn:aws:sns:eu-west-1:123456789012:flow-alarms"), true},
		{"topic fifo", settings.ValidateTopicARN("arn:aws:sns:eu-west-1:123456789012:flow_alarms.fifo"), true},
		{"topic without name", settings.ValidateTopicARN("arn:aws:sns:eu-west-1:123456789012:"), false},
		{"topic name with a colon", settings.ValidateTopicARN("arn:aws:sns:eu-west-1:123456789012:a:b"), false},
		{"topic of another service", settings.ValidateTopicARN("arn:aws:sqs:eu-west-1:123456789012:q"), false},
		{"topic name", settings.ValidateTopicARN("flow-alarms"), false},
		{"topic key", settings.ValidateTopicKey("arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"), true},
		{"topic key alias", settings.ValidateTopicKey("arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:kms:eu-west-1:123456789012:alias/sns"), false},
		{"topic key without topic", settings.ValidateTopicKey("", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"), false},
		{"topic key in another region", settings.ValidateTopicKey("arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:kms:us-east-1:123456789012:key/1234abcd"), false},
		{"catch-up 1 hour", settings.ValidateMaxCatchUpHours(1), true},
		{"catch-up 744 hours", settings.ValidateMaxCatchUpHours(744), true},
		{"catch-up 0 hours", settings.ValidateMaxCatchUpHours(0), false},
		{"catch-up 745 hours", settings.ValidateMaxCatchUpHours(745), false},
		{"region gov", settings.ValidateRegion("us-gov-west-1"), true},
		{"region upper", settings.ValidateRegion("US-EAST-1"), false},
		{"account", settings.ValidateAccountID("123456789012"), true},
		{"account token", settings.ValidateAccountID("${Token[AWS.AccountId.1]}"), false},
		{"table", settings.ValidateTableName("Stack-StateTable0A1B-XYZ"), true},
		{"table short", settings.ValidateTableName("ab"), false},
		{"settle lag 0", settings.ValidateSettleLag(0), true},
		{"settle lag a day", settings.ValidateSettleLag(24 * time.Hour), true},
		{"settle lag negative", settings.ValidateSettleLag(-time.Minute), false},
		{"settle lag over a day", settings.ValidateSettleLag(24*time.Hour + time.Minute), false},
		{"top 1", settings.ValidateTopK(1), true},
		{"top 0", settings.ValidateTopK(0), false},
		{"top 101", settings.ValidateTopK(101), false},
		{"namespace", settings.ValidateMetricsNamespace("Team/VPC Flow-Logs:prod #1"), true},
		{"namespace 255", settings.ValidateMetricsNamespace(strings.Repeat("n", 255)), true},
		{"namespace 256", settings.ValidateMetricsNamespace(strings.Repeat("n", 256)), false},
		{"namespace empty", settings.ValidateMetricsNamespace(""), false},
		{"namespace blank", settings.ValidateMetricsNamespace("  "), false},
		{"namespace colon first", settings.ValidateMetricsNamespace(":x"), false},
		{"namespace AWS/", settings.ValidateMetricsNamespace("AWS/Lambda"), false},
		{"namespace non-ASCII", settings.ValidateMetricsNamespace("flöw"), false},
	} {
		if (c.err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, c.err, c.ok)
		}
	}
}

func TestStringList(t *testing.T) {
	for _, c := range []struct {
		in   any
		want []string
		err  bool
	}{
		{nil, nil, false},
		{[]any{}, []string{}, false},
		{[]any{"a", "b"}, []string{"a", "b"}, false},
		{[]any{"a", 1.0}, nil, true},
		{[]string{"x"}, []string{"x"}, false},
		{`["a","b"]`, []string{"a", "b"}, false},
		{"[]", []string{}, false},
		{`["a",`, nil, true},
		{" a, b ,", []string{"a", "b"}, false},
		{42.0, nil, true},
	} {
		got, err := settings.StringList(c.in)
		if (err != nil) != c.err || (got == nil) != (c.want == nil) || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("StringList(%#v) = %#v, %v; want %#v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

// TestReader covers the one reader over each kind of source: strings from
// the environment, JSON values from properties and the CDK context. Every
// error names the key, the value and what is allowed.
func TestReader(t *testing.T) {
	ctx := map[string]any{
		"str": "x", "num": 600.0, "numText": " 42 ", "frac": 1.5, "bool": true, "boolText": "false",
		"list": []any{"a", "b"}, "listText": `["c"]`, "csv": "d, e", "empty": "", "badList": []any{1.0},
		"dur": "90s",
	}
	r := settings.NewReader("context", settings.Map(ctx))
	got := []any{
		r.String("str", "def"), r.String("absent", "def"), r.String("empty", "def"),
		r.Int("num", 0), r.Int("numText", 0), r.Bool("bool", false), r.Bool("boolText", true),
		r.List("list", nil), r.List("listText", nil), r.List("csv", nil), r.List("absent", []string{"z"}),
		r.Duration("dur", 0),
	}
	want := []any{"x", "def", "def", 600, 42, true, false,
		[]string{"a", "b"}, []string{"c"}, []string{"d", "e"}, []string{"z"}, 90 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read %v\nwant %v", got, want)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("good values rejected: %v", err)
	}
	bad := []struct {
		name string
		read func(r *settings.Reader)
		want string
	}{
		{"fraction", func(r *settings.Reader) { r.Int("frac", 0) }, "context frac=1.5: want a whole number"},
		{"string for a bool", func(r *settings.Reader) { r.Bool("str", false) }, "context str=x: want true or false"},
		{"list of numbers", func(r *settings.Reader) { r.List("badList", nil) }, "context badList=[1]: want a list of strings"},
		{"not a duration", func(r *settings.Reader) { r.Duration("str", 0) }, "context str=x: want a duration"},
		{"validator", func(r *settings.Reader) { r.Int("num", 0, settings.ValidateRetentionDays) }, "context num=600: retention of 600 days"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			r := settings.NewReader("context", settings.Map(ctx))
			b.read(r)
			if err := r.Err(); err == nil || !strings.Contains(err.Error(), b.want) {
				t.Errorf("error %v, want one containing %q", err, b.want)
			}
		})
	}
}

// TestTeardownFromProperties proves a Delete reads what it needs from
// properties that are not valid as a whole, and takes the default for a
// value it cannot read.
func TestTeardownFromProperties(t *testing.T) {
	base := settings.Enabler{Owner: "stack", MetricsNamespace: "NS"}
	cases := []struct {
		name  string
		props map[string]any
		want  settings.Enabler
	}{
		{"malformed, keep", map[string]any{settings.PropRemoveOnDelete: "false", settings.PropTrafficType: "SOME"},
			settings.Enabler{Owner: "stack", MetricsNamespace: "NS"}},
		{"malformed, own owner and dry run", map[string]any{settings.PropOwner: "other", settings.PropDryRun: "true"},
			settings.Enabler{Owner: "other", RemoveOnDelete: true, DryRun: true, MetricsNamespace: "NS"}},
		{"unreadable removal takes the default", map[string]any{settings.PropRemoveOnDelete: "perhaps"},
			settings.Enabler{Owner: "stack", RemoveOnDelete: true, MetricsNamespace: "NS"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := settings.TeardownFromProperties(c.props, base)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestDefaultsAgree checks the defaults that are written as two values.
func TestDefaultsAgree(t *testing.T) {
	if d, err := settings.ScheduleRate(settings.DefaultSummarySchedule); err != nil || d != settings.DefaultSchedulePeriod {
		t.Errorf("DefaultSummarySchedule %q has period %s (%v), DefaultSchedulePeriod is %s",
			settings.DefaultSummarySchedule, d, err, settings.DefaultSchedulePeriod)
	}
	for _, err := range []error{
		settings.ValidateTagKey(settings.DefaultTagKey), settings.ValidateTagValues(settings.DefaultTagValues()),
		settings.ValidateLogGroupName(settings.DefaultLogGroupName), settings.ValidateRetentionDays(settings.DefaultRetentionDays),
		settings.ValidateTrafficType(settings.DefaultTrafficType), settings.ValidateMaxAggregationInterval(settings.DefaultMaxAggregationInterval),
		settings.ValidateSchedule(settings.DefaultSweepSchedule), settings.ValidateSettleLag(settings.DefaultSettleLag),
		settings.ValidateMaxCatchUpHours(settings.DefaultMaxCatchUpHours), settings.ValidateTopK(settings.DefaultTopK),
		settings.ValidateMetricsNamespace(settings.DefaultMetricsNamespace), settings.ValidateLogFormat(settings.DefaultLogFormat),
	} {
		if err != nil {
			t.Errorf("a default is not valid: %v", err)
		}
	}
}
