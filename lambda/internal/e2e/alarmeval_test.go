package e2e_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

// TestEvaluateAlarm proves the harness's alarm evaluator on hand-made
// datapoints: M of N, each comparison operator, each TreatMissingData with
// data missing in part and in whole, the current state kept by "ignore",
// and datapoints outside the evaluation range left out. Each case would
// give another state if the evaluator got that rule wrong.
func TestEvaluateAlarm(t *testing.T) {
	end := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	hour := time.Hour
	// at(i) is the start of the i-th period of a range of n ending at end.
	at := func(n, i int) time.Time { return end.Add(-time.Duration(n-i) * hour) }
	spec := func(op string, m, n int, missing string) e2e.AlarmSpec {
		return e2e.AlarmSpec{ID: "A", Comparison: op, Threshold: 2, Period: hour, EvaluationPeriods: n, DatapointsToAlarm: m, TreatMissingData: missing}
	}
	gt := func(m, n int, missing string) e2e.AlarmSpec { return spec("GreaterThanThreshold", m, n, missing) }
	cases := []struct {
		name    string
		spec    e2e.AlarmSpec
		points  []e2e.Datapoint
		current string
		want    string
	}{
		{"1 of 1, above the threshold", gt(1, 1, "ignore"), []e2e.Datapoint{{at(1, 0), 3}}, "", e2e.AlarmAlarm},
		{"1 of 1, at the threshold is not greater", gt(1, 1, "ignore"), []e2e.Datapoint{{at(1, 0), 2}}, e2e.AlarmAlarm, e2e.AlarmOK},
		{"greater or equal, at the threshold", spec("GreaterThanOrEqualToThreshold", 1, 1, "missing"), []e2e.Datapoint{{at(1, 0), 2}}, "", e2e.AlarmAlarm},
		{"greater or equal, below", spec("GreaterThanOrEqualToThreshold", 1, 1, "missing"), []e2e.Datapoint{{at(1, 0), 1.9}}, "", e2e.AlarmOK},
		{"less, below", spec("LessThanThreshold", 1, 1, "missing"), []e2e.Datapoint{{at(1, 0), 1}}, "", e2e.AlarmAlarm},
		{"less, at the threshold", spec("LessThanThreshold", 1, 1, "missing"), []e2e.Datapoint{{at(1, 0), 2}}, "", e2e.AlarmOK},
		{"less or equal, at the threshold", spec("LessThanOrEqualToThreshold", 1, 1, "missing"), []e2e.Datapoint{{at(1, 0), 2}}, "", e2e.AlarmAlarm},
		{"2 of 3, two breaching", gt(2, 3, "missing"), []e2e.Datapoint{{at(3, 0), 5}, {at(3, 1), 0}, {at(3, 2), 5}}, "", e2e.AlarmAlarm},
		{"2 of 3, one breaching", gt(2, 3, "missing"), []e2e.Datapoint{{at(3, 0), 5}, {at(3, 1), 0}, {at(3, 2), 0}}, e2e.AlarmAlarm, e2e.AlarmOK},
		{"2 of 3, one breaching, one missing treated as breaching", gt(2, 3, "breaching"), []e2e.Datapoint{{at(3, 0), 5}, {at(3, 2), 0}}, "", e2e.AlarmAlarm},
		{"2 of 3, one breaching, one missing treated as not breaching", gt(2, 3, "notBreaching"), []e2e.Datapoint{{at(3, 0), 5}, {at(3, 2), 0}}, "", e2e.AlarmOK},
		{"2 of 3, one breaching, one missing left out (missing)", gt(2, 3, "missing"), []e2e.Datapoint{{at(3, 0), 5}, {at(3, 2), 0}}, "", e2e.AlarmOK},
		{"all missing, breaching", gt(1, 1, "breaching"), nil, e2e.AlarmOK, e2e.AlarmAlarm},
		{"all missing, not breaching", gt(1, 1, "notBreaching"), nil, e2e.AlarmAlarm, e2e.AlarmOK},
		{"all missing, missing", gt(1, 1, "missing"), nil, e2e.AlarmAlarm, e2e.AlarmInsufficientData},
		{"all missing, ignore keeps ALARM", gt(1, 1, "ignore"), nil, e2e.AlarmAlarm, e2e.AlarmAlarm},
		{"all missing, ignore keeps OK", gt(1, 1, "ignore"), nil, e2e.AlarmOK, e2e.AlarmOK},
		{"all missing, ignore on a new alarm", gt(1, 1, "ignore"), nil, "", e2e.AlarmInsufficientData},
		{"a breaching datapoint before the range is not seen", gt(1, 1, "ignore"), []e2e.Datapoint{{at(1, -1), 9}}, e2e.AlarmOK, e2e.AlarmOK},
		{"a breaching datapoint at the range's end is not seen", gt(1, 1, "notBreaching"), []e2e.Datapoint{{end, 9}}, "", e2e.AlarmOK},
		{"a breaching datapoint at the range's start is seen", gt(1, 2, "notBreaching"), []e2e.Datapoint{{at(2, 0), 9}}, "", e2e.AlarmAlarm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reason := e2e.EvaluateAlarm(c.spec, c.points, end, c.current)
			if got != c.want {
				t.Errorf("state %s (%s), want %s", got, reason, c.want)
			}
		})
	}
}

// TestParseAlarm proves that the template's alarm properties are read as
// CloudWatch takes them (DatapointsToAlarm defaults to EvaluationPeriods,
// TreatMissingData to missing) and that what the evaluator cannot play is
// refused, naming the alarm, rather than evaluated as something else.
func TestParseAlarm(t *testing.T) {
	base := func(change func(map[string]any)) map[string]any {
		p := map[string]any{"Namespace": "VPCFlowLogs", "MetricName": "UncoveredVPCs", "Statistic": "Maximum", "Period": 21600.0,
			"EvaluationPeriods": 3.0, "Threshold": 0.0, "ComparisonOperator": "GreaterThanThreshold",
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": "fn"}}}
		if change != nil {
			change(p)
		}
		return p
	}
	a, err := e2e.ParseAlarm("Uncovered", "name", base(nil))
	if err != nil || a.DatapointsToAlarm != 3 || a.TreatMissingData != "missing" || a.Period != 6*time.Hour ||
		!slices.Equal(a.Dimensions, []e2e.Dimension{{Name: "FunctionName", Value: "fn"}}) {
		t.Errorf("ParseAlarm = %+v, %v; want 3 of 3, missing, 6 h, the dimension", a, err)
	}
	refused := []struct {
		name   string
		change func(map[string]any)
	}{
		{"metric math", func(p map[string]any) { p["Metrics"] = []any{} }},
		{"extended statistic", func(p map[string]any) { delete(p, "Statistic"); p["ExtendedStatistic"] = "p99" }},
		{"anomaly band", func(p map[string]any) { p["ComparisonOperator"] = "LessThanLowerOrGreaterThanUpperThreshold" }},
		{"unknown missing-data policy", func(p map[string]any) { p["TreatMissingData"] = "maybe" }},
		{"more to alarm than periods", func(p map[string]any) { p["DatapointsToAlarm"] = 4.0 }},
		{"no period", func(p map[string]any) { delete(p, "Period") }},
		{"dimension without a value", func(p map[string]any) { p["Dimensions"] = []any{map[string]any{"Name": "QueueName"}} }},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			if _, err := e2e.ParseAlarm("Uncovered", "name", base(c.change)); err == nil || !strings.Contains(err.Error(), "Uncovered") {
				t.Errorf("ParseAlarm accepted it or did not name the alarm: %v", err)
			}
		})
	}
}

// TestParseEMF proves that the lines lambda/metrics writes come back as
// the datapoints CloudWatch Logs would extract (namespace, name, unit,
// dimensions, value, timestamp), that other log lines give none, and that
// a malformed EMF line is refused with the reason.
func TestParseEMF(t *testing.T) {
	at := time.UnixMilli(1_764_849_600_123).UTC()
	var buf bytes.Buffer
	if err := metrics.Emit(&buf, "VPCFlowLogs", nil, at, metrics.Metric{Name: "UncoveredVPCs", Value: 2, Unit: metrics.Count},
		metrics.Metric{Name: "CheckpointAgeSeconds", Value: 90.5, Unit: metrics.Seconds}); err != nil {
		t.Fatal(err)
	}
	got, err := e2e.ParseEMF(bytes.TrimSpace(buf.Bytes()))
	want := []e2e.MetricDatum{
		{Namespace: "VPCFlowLogs", Name: "UncoveredVPCs", Unit: "Count", Dimensions: []e2e.Dimension{}, Value: 2, Time: at},
		{Namespace: "VPCFlowLogs", Name: "CheckpointAgeSeconds", Unit: "Seconds", Dimensions: []e2e.Dimension{}, Value: 90.5, Time: at},
	}
	if err != nil || len(got) != 2 || !sameDatum(got[0], want[0]) || !sameDatum(got[1], want[1]) {
		t.Errorf("ParseEMF(%s) = %+v, %v; want %+v", buf.Bytes(), got, err, want)
	}
	buf.Reset()
	_ = metrics.Emit(&buf, "NS", map[string]string{"B": "b", "A": "a"}, at, metrics.Metric{Name: "M", Value: 1, Unit: metrics.Count})
	got, err = e2e.ParseEMF(bytes.TrimSpace(buf.Bytes()))
	if err != nil || len(got) != 1 || !slices.Equal(got[0].Dimensions, []e2e.Dimension{{Name: "A", Value: "a"}, {Name: "B", Value: "b"}}) {
		t.Errorf("with dimensions: %+v, %v", got, err)
	}
	got, err = e2e.ParseEMF([]byte(`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":[1,2,3]}`))
	if err != nil || len(got) != 3 || got[2].Value != 3 {
		t.Errorf("an array of values: %+v, %v; want 3 datapoints", got, err)
	}
	if got, err := e2e.ParseEMF([]byte(`{"level":"INFO","msg":"flow log created"}`)); got != nil || err != nil {
		t.Errorf("a log line that is not EMF: %+v, %v; want nothing", got, err)
	}
	bad := []struct{ name, line string }{
		{"no timestamp", `{"_aws":{"CloudWatchMetrics":[]}}`},
		{"no namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"M"}]}]},"M":1}`},
		{"no value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"M"}]}]}}`},
		{"a value that is no number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Metrics":[{"Name":"M"}]}]},"M":"x"}`},
		{"a dimension without its value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"M":1}`},
		{"over 256 KiB", `{"_aws":{"Timestamp":1},"pad":"` + strings.Repeat("x", 256<<10) + `"}`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if got, err := e2e.ParseEMF([]byte(c.line)); err == nil {
				t.Errorf("accepted: %+v", got)
			}
		})
	}
}

func sameDatum(a, b e2e.MetricDatum) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.Unit == b.Unit && a.Value == b.Value &&
		a.Time.Equal(b.Time) && slices.Equal(a.Dimensions, b.Dimensions)
}
