package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Alarm states, as CloudWatch names them.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// Dimension is a metric dimension.
type Dimension struct{ Name, Value string }

// AlarmSpec is one AWS::CloudWatch::Alarm of a template, with its
// references resolved: what CloudWatch evaluates.
type AlarmSpec struct {
	// ID is the construct id of the alarm without its "Alarm" suffix (for
	// example UnreachableAccountRegions); Name the alarm's physical name.
	ID, Name                         string
	Namespace, MetricName, Statistic string
	Dimensions                       []Dimension
	Period                           time.Duration
	// DatapointsToAlarm of EvaluationPeriods ("M of N"): the template's
	// DatapointsToAlarm, or EvaluationPeriods when it has none, as
	// CloudWatch takes it.
	EvaluationPeriods, DatapointsToAlarm int
	Threshold                            float64
	Comparison                           string
	// TreatMissingData is the template's, or "missing" (CloudWatch's
	// default) when it has none.
	TreatMissingData string
}

// comparisons are the static-threshold operators CloudWatch evaluates:
// whether a value breaches the threshold. The anomaly detection operators
// (LessThanLowerOrGreaterThanUpperThreshold, ...) need a model the harness
// does not have: an alarm using one is refused, not guessed.
var comparisons = map[string]func(v, threshold float64) bool{
	"GreaterThanThreshold":          func(v, t float64) bool { return v > t },
	"GreaterThanOrEqualToThreshold": func(v, t float64) bool { return v >= t },
	"LessThanThreshold":             func(v, t float64) bool { return v < t },
	"LessThanOrEqualToThreshold":    func(v, t float64) bool { return v <= t },
}

// missingPolicies are TreatMissingData's values.
var missingPolicies = map[string]bool{"breaching": true, "notBreaching": true, "ignore": true, "missing": true}

// ParseAlarm reads an AWS::CloudWatch::Alarm's resolved properties. It
// refuses what it cannot evaluate (metric math, percentiles, anomaly
// bands) rather than evaluate something else.
func ParseAlarm(id, name string, p map[string]any) (AlarmSpec, error) {
	a := AlarmSpec{ID: id, Name: name, TreatMissingData: "missing"}
	if _, ok := p["Metrics"]; ok {
		return a, fmt.Errorf("alarm %s: metric math (Metrics) is not evaluated by the harness", id)
	}
	a.Namespace, a.MetricName, a.Statistic = str(p["Namespace"]), str(p["MetricName"]), str(p["Statistic"])
	a.Comparison = str(p["ComparisonOperator"])
	if t := str(p["TreatMissingData"]); t != "" {
		a.TreatMissingData = t
	}
	period, okP := p["Period"].(float64)
	n, okN := p["EvaluationPeriods"].(float64)
	threshold, okT := p["Threshold"].(float64)
	m, okM := p["DatapointsToAlarm"].(float64)
	if !okM {
		m = n
	}
	switch {
	case a.Namespace == "" || a.MetricName == "" || a.Statistic == "":
		return a, fmt.Errorf("alarm %s: want Namespace, MetricName and a Statistic (extended statistics are not evaluated), got %q %q %q", id, a.Namespace, a.MetricName, a.Statistic)
	case comparisons[a.Comparison] == nil:
		return a, fmt.Errorf("alarm %s: comparison operator %q is not one of the static-threshold operators", id, a.Comparison)
	case !missingPolicies[a.TreatMissingData]:
		return a, fmt.Errorf("alarm %s: TreatMissingData %q is not breaching, notBreaching, ignore or missing", id, a.TreatMissingData)
	case !okP || period < 10 || math.Trunc(period) != period:
		return a, fmt.Errorf("alarm %s: Period %v is not a whole number of seconds of at least 10", id, p["Period"])
	case !okN || n < 1 || math.Trunc(n) != n || !okT:
		return a, fmt.Errorf("alarm %s: EvaluationPeriods %v or Threshold %v missing or not valid", id, p["EvaluationPeriods"], p["Threshold"])
	case m < 1 || m > n || math.Trunc(m) != m:
		return a, fmt.Errorf("alarm %s: DatapointsToAlarm %v is not between 1 and EvaluationPeriods %v", id, m, n)
	}
	a.Period, a.EvaluationPeriods, a.DatapointsToAlarm, a.Threshold = time.Duration(period)*time.Second, int(n), int(m), threshold
	for _, d := range list(p["Dimensions"]) {
		name, value := str(d["Name"]), str(d["Value"])
		if name == "" || value == "" {
			return a, fmt.Errorf("alarm %s: dimension %v has no name or no resolved value", id, d)
		}
		a.Dimensions = append(a.Dimensions, Dimension{name, value})
	}
	return a, nil
}

// Datapoint is the alarm statistic of one period that has data, as
// GetMetricData answers it: the period's start and the value.
type Datapoint struct {
	Start time.Time
	Value float64
}

// EvaluateAlarm decides an alarm's state at end, as CloudWatch does for a
// static threshold: the evaluation range is the EvaluationPeriods periods
// ending at end; a period with a datapoint breaches or not by the
// comparison; a period without one is treated by TreatMissingData
// (breaching and notBreaching count it as such, ignore and missing leave
// it out); DatapointsToAlarm breaching periods make ALARM. With no period
// counted at all, "missing" gives INSUFFICIENT_DATA and "ignore" keeps the
// current state (a new alarm's is INSUFFICIENT_DATA); otherwise the state
// is OK.
//
// One refinement of CloudWatch's is not played: when fewer periods have
// data than DatapointsToAlarm, CloudWatch looks further back than the
// range. Every alarm of the templates is 1 of 1, where it cannot arise.
// The reason says which periods breached, in CloudWatch's words.
func EvaluateAlarm(a AlarmSpec, points []Datapoint, end time.Time, current string) (state, reason string) {
	breaches := comparisons[a.Comparison]
	if breaches == nil || a.Period <= 0 || a.EvaluationPeriods < 1 {
		return current, fmt.Sprintf("not evaluated: alarm %s is not valid", a.ID)
	}
	start := end.Add(-time.Duration(a.EvaluationPeriods) * a.Period)
	values := make([]*float64, a.EvaluationPeriods)
	for _, p := range points {
		if p.Start.Before(start) || !p.Start.Before(end) {
			continue
		}
		i := int(p.Start.Sub(start) / a.Period)
		v := p.Value
		values[i] = &v
	}
	var breaching, counted int
	var seen []string
	for _, v := range values {
		switch {
		case v != nil:
			counted++
			seen = append(seen, fmt.Sprintf("%g", *v))
			if breaches(*v, a.Threshold) {
				breaching++
			}
		case a.TreatMissingData == "breaching":
			counted++
			breaching++
			seen = append(seen, "missing (breaching)")
		case a.TreatMissingData == "notBreaching":
			counted++
			seen = append(seen, "missing (not breaching)")
		default:
			seen = append(seen, "missing")
		}
	}
	what := fmt.Sprintf("[%s] against %s %g, %d of %d breaching (%d to alarm)",
		strings.Join(seen, ", "), a.Comparison, a.Threshold, breaching, a.EvaluationPeriods, a.DatapointsToAlarm)
	switch {
	case breaching >= a.DatapointsToAlarm:
		return AlarmAlarm, "Threshold Crossed: " + what
	case counted > 0:
		return AlarmOK, "Threshold not crossed: " + what
	case a.TreatMissingData == "ignore":
		if current == "" {
			current = AlarmInsufficientData
		}
		return current, "No data, missing data ignored: the state stays " + current
	}
	return AlarmInsufficientData, "Insufficient Data: " + what
}

// MetricDatum is one value of an embedded metric format (EMF) line, as
// CloudWatch Logs extracts it.
type MetricDatum struct {
	Namespace, Name, Unit string
	Dimensions            []Dimension
	Value                 float64
	Time                  time.Time
}

// EMF limits, from the embedded metric format specification: at most 100
// metrics per directive and 30 dimensions per set; a line is one log
// event (at most 256 KiB). A line beyond them is refused with the reason,
// as CloudWatch Logs rejects it.
const (
	maxEMFLine       = 256 << 10
	maxEMFMetrics    = 100
	maxEMFDimensions = 30
)

// ParseEMF extracts the metrics of one log line. A line that is not an
// EMF object (no "_aws" member) gives none and no error.
func ParseEMF(line []byte) ([]MetricDatum, error) {
	if len(line) > maxEMFLine {
		return nil, fmt.Errorf("an EMF line of %d bytes, over %d", len(line), maxEMFLine)
	}
	// A line that is not a JSON object is a plain log line, not an EMF
	// line with an error.
	var doc map[string]json.RawMessage
	isObject := json.Unmarshal(line, &doc) == nil
	if !isObject || doc["_aws"] == nil {
		return nil, nil
	}
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(doc["_aws"], &meta); err != nil || meta.Timestamp == nil {
		return nil, fmt.Errorf("an EMF line whose _aws member has no Timestamp or is not valid: %.200s", line)
	}
	at := time.UnixMilli(*meta.Timestamp).UTC()
	var out []MetricDatum
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" || len(d.Metrics) > maxEMFMetrics {
			return nil, fmt.Errorf("an EMF directive with namespace %q and %d metrics: want a namespace and at most %d", d.Namespace, len(d.Metrics), maxEMFMetrics)
		}
		sets := d.Dimensions
		if len(sets) == 0 {
			sets = [][]string{nil}
		}
		for _, set := range sets {
			dims, err := emfDimensions(doc, set)
			if err != nil {
				return nil, err
			}
			for _, m := range d.Metrics {
				values, err := emfValues(doc[m.Name])
				if err != nil {
					return nil, fmt.Errorf("EMF metric %s/%s: %w", d.Namespace, m.Name, err)
				}
				for _, v := range values {
					out = append(out, MetricDatum{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Dimensions: dims, Value: v, Time: at})
				}
			}
		}
	}
	return out, nil
}

// emfDimensions reads one dimension set's values, which are string
// members of the line.
func emfDimensions(doc map[string]json.RawMessage, set []string) ([]Dimension, error) {
	if len(set) > maxEMFDimensions {
		return nil, fmt.Errorf("an EMF dimension set of %d dimensions, over %d", len(set), maxEMFDimensions)
	}
	dims := make([]Dimension, 0, len(set))
	for _, name := range set {
		var v string
		if err := json.Unmarshal(doc[name], &v); err != nil || v == "" {
			return nil, fmt.Errorf("EMF dimension %q has no string value", name)
		}
		dims = append(dims, Dimension{name, v})
	}
	sort.Slice(dims, func(i, j int) bool { return dims[i].Name < dims[j].Name })
	return dims, nil
}

// emfValues reads a metric's value: a number, or an array of at most 100.
func emfValues(raw json.RawMessage) ([]float64, error) {
	if raw == nil {
		return nil, errors.New("no value")
	}
	var one float64
	if json.Unmarshal(raw, &one) == nil {
		return []float64{one}, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil || len(many) > maxEMFMetrics {
		return nil, fmt.Errorf("value %.100s is not a number or an array of at most %d numbers", raw, maxEMFMetrics)
	}
	return many, nil
}
