package digest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// TestDigestReportsInterfaceOverflow checks that a digest shows the records
// of interfaces past the aggregator's bound, as a field and a warning, and
// leaves both out when there were none.
func TestDigestReportsInterfaceOverflow(t *testing.T) {
	for _, c := range []struct {
		name     string
		overflow uint64
	}{
		{"within the bound", 0},
		{"past the bound", 42},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := flowrecord.Summary{MaxInterfaces: 10_000}
			s.InterfaceOverflow.Records = c.overflow
			s.InterfaceOverflow.Bytes = 1000 * c.overflow
			earlier := []string{"an earlier warning"}
			d := buildDigest(buildInput{summary: s, warnings: earlier[:1:1], topK: 10})
			out, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			hasField := strings.Contains(string(out), `"interfaceOverflow":{"records":42,`)
			warned := len(d.Warnings) == 2 && strings.Contains(d.Warnings[1], "10000 tracked") && strings.Contains(d.Warnings[1], "42 records")
			if want := c.overflow > 0; hasField != want || warned != want {
				t.Errorf("field shown %v, warned %v (%q), want %v: %s", hasField, warned, d.Warnings, want, out)
			}
			if c.overflow == 0 && strings.Contains(string(out), "interfaceOverflow") {
				t.Errorf("an empty overflow is in the JSON: %s", out)
			}
			if len(earlier) != 1 || d.Warnings[0] != "an earlier warning" {
				t.Errorf("warnings %q, caller's %q", d.Warnings, earlier)
			}
		})
	}
}
