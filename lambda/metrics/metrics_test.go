package metrics_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
)

func TestEmit(t *testing.T) {
	var buf bytes.Buffer
	at := time.Unix(1700000000, 0)
	err := metrics.Emit(&buf, "VPCFlowLogs", map[string]string{"Function": "enabler"}, at,
		metrics.Metric{Name: "TaggedVPCs", Value: 3, Unit: metrics.Count},
		metrics.Metric{Name: "AcceptedBytes", Value: 1 << 40, Unit: metrics.Bytes})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("want exactly one line, got %q", buf.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function      string
		TaggedVPCs    float64
		AcceptedBytes float64
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	cw := doc.AWS.CloudWatchMetrics
	switch {
	case doc.AWS.Timestamp != at.UnixMilli():
		t.Errorf("Timestamp = %d, want %d", doc.AWS.Timestamp, at.UnixMilli())
	case len(cw) != 1 || cw[0].Namespace != "VPCFlowLogs":
		t.Errorf("CloudWatchMetrics = %+v", cw)
	case len(cw[0].Dimensions) != 1 || len(cw[0].Dimensions[0]) != 1 || cw[0].Dimensions[0][0] != "Function":
		t.Errorf("Dimensions = %v", cw[0].Dimensions)
	case len(cw[0].Metrics) != 2 || cw[0].Metrics[1].Unit != "Bytes":
		t.Errorf("Metrics = %+v", cw[0].Metrics)
	case doc.Function != "enabler" || doc.TaggedVPCs != 3 || doc.AcceptedBytes != 1<<40:
		t.Errorf("values = %+v", doc)
	}
}
