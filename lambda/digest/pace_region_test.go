package digest

import (
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestReadRateFollowsTheRegion proves a summarizer with no ReadRate paces
// FilterLogEvents and DescribeLogStreams at the share of its region's
// quota (15 calls a second in us-east-1, 6 in most regions, 3 in the
// 5-call regions), and an explicit rate wins.
func TestReadRateFollowsTheRegion(t *testing.T) {
	cases := []struct {
		name   string
		region string
		rate   float64
		want   float64
	}{
		{"us-east-1", "us-east-1", 0, 15},
		{"eu-west-1", "eu-west-1", 0, 6},
		{"eu-central-1", "eu-central-1", 0, 3},
		{"il-central-1", "il-central-1", 0, 3},
		{"explicit", "us-east-1", 2, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{ReadRate: c.rate}
			cfg.Summarizer = settings.Summarizer{LogGroupName: "/vpc/flow-logs", StateTable: "VpcFlowLogs-State", Account: "123456789012", Region: c.region}
			s, err := New(cfg, Clients{Logs: struct{ LogsAPI }{}, EC2: struct{ EC2API }{}, State: struct{ runstate.API }{}})
			if err != nil {
				t.Fatal(err)
			}
			for name, p := range map[string]*pacer{"FilterLogEvents": s.paced.filter, "DescribeLogStreams": s.paced.describe} {
				if got := float64(p.limiter.Limit()); got != c.want {
					t.Errorf("%s paced at %v calls a second, want %v", name, got, c.want)
				}
			}
		})
	}
}
