package motoproxy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// shared is moto, started by the first test that needs it.
var shared testenv.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func awsConfig(url string) aws.Config { return testenv.AWSConfig(url) }

// setup resets moto and starts a proxy in front of it.
func setup(t *testing.T) (*motoproxy.Proxy, *ec2.Client) {
	t.Helper()
	ctx := context.Background()
	moto := shared.Moto(t)
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := motoproxy.New(moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, ec2.NewFromConfig(awsConfig(p.URL))
}

func createVPCs(t *testing.T, api *ec2.Client, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		out, err := api.CreateVpc(context.Background(), &ec2.CreateVpcInput{
			CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", i)),
			TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeVpc,
				Tags:         []types.Tag{{Key: aws.String("paged"), Value: aws.String("yes")}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, *out.Vpc.VpcId)
	}
	sort.Strings(ids)
	return ids
}

func TestPagination(t *testing.T) {
	p, api := setup(t)
	ctx := context.Background()
	want := createVPCs(t, api, 12)
	tagged := []types.Filter{{Name: aws.String("tag:paged"), Values: []string{"yes"}}}

	tests := []struct {
		name      string
		size      int32
		wantPages int
	}{
		{"pages of 5", 5, 3},
		{"pages of 6", 6, 2},
		{"one page", 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.ResetCalls()
			var got []string
			pages := 0
			pg := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{Filters: tagged, MaxResults: aws.Int32(tt.size)})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(out.Vpcs) > int(tt.size) {
					t.Errorf("page %d has %d VPCs, more than MaxResults %d", pages, len(out.Vpcs), tt.size)
				}
				for _, v := range out.Vpcs {
					got = append(got, *v.VpcId)
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("VPCs = %v, want %v", got, want)
			}
			if pages != tt.wantPages || p.Count("DescribeVpcs") != tt.wantPages {
				t.Errorf("pages = %d, calls counted = %d, want %d", pages, p.Count("DescribeVpcs"), tt.wantPages)
			}
		})
	}

	t.Run("MaxResults out of range is refused as AWS does", func(t *testing.T) {
		_, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{MaxResults: aws.Int32(4)})
		if code := errorCode(err); code != "InvalidParameterValue" {
			t.Errorf("error code = %q (%v), want InvalidParameterValue", code, err)
		}
	})
	t.Run("without MaxResults everything comes at once", func(t *testing.T) {
		out, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagged})
		if err != nil || len(out.Vpcs) != 12 || out.NextToken != nil {
			t.Errorf("got %d VPCs, next token %v, error %v", len(out.Vpcs), out.NextToken, err)
		}
	})
}

func TestPaginationOfFlowLogsAndNetworkInterfaces(t *testing.T) {
	_, api := setup(t)
	ctx := context.Background()
	vpcs := createVPCs(t, api, 7)
	if _, err := api.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds:              vpcs,
		ResourceType:             types.FlowLogsResourceTypeVpc,
		TrafficType:              types.TrafficTypeAll,
		LogGroupName:             aws.String("paged"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/delivery"),
	}); err != nil {
		t.Fatal(err)
	}
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("172.16.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	subnet, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("172.16.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := api.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: subnet.Subnet.SubnetId}); err != nil {
			t.Fatal(err)
		}
	}

	var flowLogs, pages int
	fp := ec2.NewDescribeFlowLogsPaginator(api, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(5)})
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		flowLogs += len(out.FlowLogs)
		pages++
	}
	if flowLogs != 7 || pages != 2 {
		t.Errorf("DescribeFlowLogs: %d flow logs in %d pages, want 7 in 2", flowLogs, pages)
	}

	var enis int
	pages = 0
	np := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5)})
	for np.HasMorePages() {
		out, err := np.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		enis += len(out.NetworkInterfaces)
		pages++
	}
	if enis != 6 || pages != 2 {
		t.Errorf("DescribeNetworkInterfaces: %d interfaces in %d pages, want 6 in 2", enis, pages)
	}
}

func TestFailures(t *testing.T) {
	p, api := setup(t)
	ctx := context.Background()
	vpcs := createVPCs(t, api, 3)
	create := func(ids ...string) (*ec2.CreateFlowLogsOutput, error) {
		return api.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
			ResourceIds:              ids,
			ResourceType:             types.FlowLogsResourceTypeVpc,
			TrafficType:              types.TrafficTypeReject,
			LogGroupName:             aws.String("failures"),
			DeliverLogsPermissionArn: aws.String("arn:aws:iam::123456789012:role/delivery"),
		})
	}

	p.FailItem("CreateFlowLogs", vpcs[1], "400", "bad request for this one")
	p.FailItem("CreateFlowLogs", vpcs[2], "FlowLogsLimitExceeded", "two already")
	out, err := create(vpcs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 2 {
		t.Fatalf("created %v, unsuccessful %d, want 1 and 2", out.FlowLogIds, len(out.Unsuccessful))
	}
	u := out.Unsuccessful[0]
	if *u.ResourceId != vpcs[1] || *u.Error.Code != "400" || *u.Error.Message != "bad request for this one" {
		t.Errorf("first unsuccessful item = %s %s %s", *u.ResourceId, *u.Error.Code, *u.Error.Message)
	}
	if *out.Unsuccessful[1].Error.Code != "FlowLogsLimitExceeded" {
		t.Errorf("second unsuccessful code = %s", *out.Unsuccessful[1].Error.Code)
	}

	// Every item failed: the proxy answers alone.
	out, err = create(vpcs[1])
	if err != nil || len(out.FlowLogIds) != 0 || len(out.Unsuccessful) != 1 {
		t.Errorf("all failed: %+v, %v", out, err)
	}

	p.FailCall("CreateFlowLogs", vpcs[2], "UnauthorizedOperation", "denied")
	if _, err := create(vpcs[1], vpcs[2]); errorCode(err) != "UnauthorizedOperation" {
		t.Errorf("whole-call failure: %v", err)
	}

	fl, err := api.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	if err != nil || len(fl.FlowLogs) != 1 || *fl.FlowLogs[0].ResourceId != vpcs[0] {
		t.Fatalf("moto holds %+v, %v; want only the flow log of %s", fl, err, vpcs[0])
	}
	p.FailItem("DeleteFlowLogs", *fl.FlowLogs[0].FlowLogId, "400", "kept")
	del, err := api.DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: []string{*fl.FlowLogs[0].FlowLogId}})
	if err != nil || len(del.Unsuccessful) != 1 {
		t.Errorf("delete: %+v, %v", del, err)
	}

	if got := p.Calls(); got["CreateFlowLogs"] != 3 || got["DescribeFlowLogs"] != 1 || got["DeleteFlowLogs"] != 1 || got["CreateVpc"] != 3 {
		t.Errorf("calls = %v", got)
	}
	p.Reset()
	if p.Total() != 0 {
		t.Errorf("after Reset, total = %d", p.Total())
	}
	if out, err := create(vpcs[1]); err != nil || len(out.FlowLogIds) != 1 {
		t.Errorf("after Reset the injected failure should be gone: %+v, %v", out, err)
	}
}

func TestHooks(t *testing.T) {
	p, api := setup(t)
	ctx := context.Background()

	throttles := 2
	p.AddHook(func(w http.ResponseWriter, _ *http.Request, c motoproxy.Call) bool {
		if c.Action == "DescribeVpcs" && c.Seq <= throttles {
			motoproxy.WriteError(w, http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
			return true
		}
		return false
	})
	if _, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatalf("the SDK retryer should get through %d throttles: %v", throttles, err)
	}
	if got := p.Count("DescribeVpcs"); got != throttles+1 {
		t.Errorf("DescribeVpcs calls = %d, want %d", got, throttles+1)
	}

	p.AddHook(motoproxy.Delay("DescribeSubnets", 300*time.Millisecond))
	start := time.Now()
	if _, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("DescribeSubnets took %s, want the 300ms delay", d)
	}

	// Other protocols pass through, counted by their X-Amz-Target operation.
	logs := cloudwatchlogs.NewFromConfig(awsConfig(p.URL))
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("through-the-proxy")}); err != nil {
		t.Fatal(err)
	}
	if p.Count("CreateLogGroup") != 1 {
		t.Errorf("calls = %v, want one CreateLogGroup", p.Calls())
	}
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// TestFilterLimit checks that a filter with more than 200 values is refused
// as EC2 refuses it, in each filter of a call, and that 200 pass.
func TestFilterLimit(t *testing.T) {
	p, api := setup(t)
	ctx := context.Background()
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("vpc-%017x", i)
		}
		return out
	}
	tests := []struct {
		name     string
		call     func() error
		wantCode string
	}{
		{"DescribeVpcs with 200 values", func() error {
			_, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: ids(200)}}})
			return err
		}, ""},
		{"DescribeVpcs with 201 values", func() error {
			_, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: ids(201)}}})
			return err
		}, "FilterLimitExceeded"},
		{"DescribeFlowLogs with 1,000 values", func() error {
			_, err := api.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []types.Filter{{Name: aws.String("resource-id"), Values: ids(1000)}}, MaxResults: aws.Int32(1000)})
			return err
		}, "FilterLimitExceeded"},
		{"DescribeFlowLogs with 201 values in its second filter", func() error {
			_, err := api.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []types.Filter{
				{Name: aws.String("traffic-type"), Values: []string{"ALL"}},
				{Name: aws.String("resource-id"), Values: ids(201)},
			}})
			return err
		}, "FilterLimitExceeded"},
		{"DescribeFlowLogs with two filters of 200 values", func() error {
			_, err := api.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{Filter: []types.Filter{
				{Name: aws.String("resource-id"), Values: ids(200)},
				{Name: aws.String("log-group-name"), Values: ids(200)},
			}})
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.ResetCalls()
			err := tt.call()
			if code := errorCode(err); code != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Errorf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if p.Total() != 1 {
				t.Errorf("calls = %v, want one, not retried", p.Calls())
			}
		})
	}
}
