package reconcile_test

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// NewPlan decides from what DescribeVpcs and DescribeFlowLogs reported:
// here vpc-1 has someone else's flow log to the log group, vpc-2 has none,
// vpc-3 has this deployment's flow log with an old traffic type, and vpc-4,
// no longer tagged, still has one of this deployment's.
func ExampleNewPlan() {
	cfg := settings.Enabler{
		TagKey: "flowlogs", LogGroupName: "/vpc/flowlogs", TrafficType: settings.TrafficReject,
		DeliveryRoleARN: "arn:aws:iam::123456789012:role/delivery", MaxAggregationInterval: 600,
		RemoveOnUntag: true, Owner: "stack-1",
	}
	ours := []types.Tag{{Key: strptr(settings.OwnerTagKey), Value: strptr("stack-1")}}
	flowLog := func(id, vpc string, tt types.TrafficType, tags []types.Tag) types.FlowLog {
		return types.FlowLog{FlowLogId: strptr(id), ResourceId: strptr(vpc), LogGroupName: strptr("/vpc/flowlogs"),
			DeliverLogsPermissionArn: strptr(cfg.DeliveryRoleARN), TrafficType: tt, Tags: tags}
	}
	home := reconcile.HomeOf("us-east-1", cfg.DeliveryRoleARN)
	p := reconcile.NewPlan(cfg, home, []string{"vpc-1", "vpc-2", "vpc-3"}, []types.FlowLog{
		flowLog("fl-1", "vpc-1", types.TrafficTypeAll, nil),
		flowLog("fl-3", "vpc-3", types.TrafficTypeAccept, ours),
		flowLog("fl-4", "vpc-4", types.TrafficTypeReject, ours),
	})
	fmt.Println("covered:", p.Covered)
	for _, s := range p.Steps {
		fmt.Println(s.Action, s.VPCID, s.Delete)
	}
	// Output:
	// covered: [vpc-1]
	// create vpc-2 []
	// replace vpc-3 [fl-3]
	// remove vpc-4 [fl-4]
}

func strptr(s string) *string { return &s }
