package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// Units the functions use.
const (
	Count   Unit = "Count"
	Bytes   Unit = "Bytes"
	Seconds Unit = "Seconds"
)

// Metric is one value to record.
type Metric struct {
	Name  string
	Value float64
	Unit  Unit
}

// Emit writes one EMF line for metrics under namespace with the given
// dimensions (nil for none). Keys are written in a stable order.
func Emit(w io.Writer, namespace string, dims map[string]string, at time.Time, ms ...Metric) error {
	dimKeys := make([]string, 0, len(dims))
	for k := range dims {
		dimKeys = append(dimKeys, k)
	}
	sort.Strings(dimKeys)
	type def struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit"`
	}
	defs := make([]def, 0, len(ms))
	doc := map[string]any{}
	for _, m := range ms {
		defs = append(defs, def{Name: m.Name, Unit: m.Unit})
		doc[m.Name] = m.Value
	}
	for k, v := range dims {
		doc[k] = v
	}
	doc["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  namespace,
			"Dimensions": [][]string{dimKeys},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding metrics for %s: %w", namespace, err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing metrics for %s: %w", namespace, err)
	}
	return nil
}
