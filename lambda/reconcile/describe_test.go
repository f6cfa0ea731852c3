package reconcile_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// tagValuesAPI holds VPCs tagged flowlogs=<value> and answers DescribeVpcs
// by its tag filters as EC2 does, refusing a filter of more than 200
// values with FilterLimitExceeded ("The maximum number of filter values
// specified on a single call is 200"). It records each call's filter
// values; it has no flow logs.
type tagValuesAPI struct {
	reconcile.FlowLogAPI
	values map[string]string // VPC id -> its flowlogs tag value
	limit  int               // values a filter takes; 0 means EC2's 200
	mu     sync.Mutex
	calls  [][]string
}

func (a *tagValuesAPI) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	out := &ec2.DescribeVpcsOutput{}
	for _, f := range in.Filters {
		a.mu.Lock()
		a.calls = append(a.calls, f.Values)
		a.mu.Unlock()
		if limit := cmp.Or(a.limit, 200); len(f.Values) > limit {
			return nil, &smithy.GenericAPIError{Code: "FilterLimitExceeded", Message: fmt.Sprintf("The maximum number of filter values specified on a single call is %d", limit)}
		}
		for id, v := range a.values {
			if aws.ToString(f.Name) == "tag-key" || aws.ToString(f.Name) == "tag:flowlogs" && slices.Contains(f.Values, v) {
				out.Vpcs = append(out.Vpcs, types.Vpc{VpcId: aws.String(id),
					Tags: []types.Tag{{Key: aws.String("flowlogs"), Value: aws.String(v)}}})
			}
		}
	}
	return out, nil
}

func (a *tagValuesAPI) DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	return &ec2.DescribeFlowLogsOutput{}, nil
}

// TestTagValuesBeyondTheFilterLimit proves that a sweep configured with
// more than 200 tag values finds every tagged VPC, each once, in filters
// of at most 200 values. Before, the values went into one filter and EC2's
// FilterLimitExceeded failed every sweep.
func TestTagValuesBeyondTheFilterLimit(t *testing.T) {
	tests := []struct {
		name      string
		values    int // configured tag values v0, v1, ...; each tags one VPC
		repeat    int // how many of them are configured twice
		limit     int // EC2's limit, when not 200
		wantCalls []int
	}{
		{name: "no values filters by the key", values: 0, wantCalls: []int{1}},
		{name: "200 values fit one filter", values: 200, wantCalls: []int{200}},
		{name: "201 values take two", values: 201, wantCalls: []int{200, 1}},
		{name: "450 values, 50 of them repeated, take three", values: 450, repeat: 50, wantCalls: []int{200, 200, 50}},
		{name: "should EC2 lower its limit, the chunks halve", values: 201, limit: 150, wantCalls: []int{200, 100, 100, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &tagValuesAPI{values: map[string]string{"vpc-untagged-value": "off"}, limit: tt.limit}
			cfg := testConfig()
			cfg.DryRun = true
			cfg.TagValues = []string{}
			for i := range tt.values {
				api.values[fmt.Sprintf("vpc-%04d", i)] = fmt.Sprintf("v%d", i)
				cfg.TagValues = append(cfg.TagValues, fmt.Sprintf("v%d", i))
			}
			cfg.TagValues = append(cfg.TagValues, cfg.TagValues[:tt.repeat]...)
			wantTagged := tt.values
			if tt.values == 0 {
				wantTagged = len(api.values) // any value of the key
			}
			rec := &reconcile.Reconciler{API: api, Region: testRegion}
			res, err := rec.Run(context.Background(), cfg, reconcile.Target{Trigger: "schedule"})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if res.Tagged != wantTagged || res.Created != wantTagged {
				t.Errorf("counts = %s, want %d tagged and created", counts(res), wantTagged)
			}
			var sizes []int
			for _, c := range api.calls {
				sizes = append(sizes, len(c))
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tt.wantCalls) {
				t.Errorf("DescribeVpcs filter sizes %v, want %v", sizes, tt.wantCalls)
			}
			var all []string
			for _, c := range api.calls {
				all = append(all, c...)
			}
			slices.Sort(all)
			if len(slices.Compact(all)) != len(all) && tt.values > 0 && tt.limit == 0 {
				t.Errorf("a tag value was sent twice: %s", strings.Join(all, ","))
			}
		})
	}
}
