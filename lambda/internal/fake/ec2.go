package fake

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2 is the flow-log part of the EC2 API the enabler calls
// (reconcile.FlowLogAPI), one MockedFunction per call.
type EC2 struct {
	DescribeVpcsBehavior     MockedFunction[ec2.DescribeVpcsInput, ec2.DescribeVpcsOutput]
	DescribeFlowLogsBehavior MockedFunction[ec2.DescribeFlowLogsInput, ec2.DescribeFlowLogsOutput]
	CreateFlowLogsBehavior   MockedFunction[ec2.CreateFlowLogsInput, ec2.CreateFlowLogsOutput]
	DeleteFlowLogsBehavior   MockedFunction[ec2.DeleteFlowLogsInput, ec2.DeleteFlowLogsOutput]
}

// DescribeVpcs answers from DescribeVpcsBehavior.
func (e *EC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	return e.DescribeVpcsBehavior.Invoke("DescribeVpcs", in)
}

// DescribeFlowLogs answers from DescribeFlowLogsBehavior.
func (e *EC2) DescribeFlowLogs(_ context.Context, in *ec2.DescribeFlowLogsInput, _ ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	return e.DescribeFlowLogsBehavior.Invoke("DescribeFlowLogs", in)
}

// CreateFlowLogs answers from CreateFlowLogsBehavior.
func (e *EC2) CreateFlowLogs(_ context.Context, in *ec2.CreateFlowLogsInput, _ ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error) {
	return e.CreateFlowLogsBehavior.Invoke("CreateFlowLogs", in)
}

// DeleteFlowLogs answers from DeleteFlowLogsBehavior.
func (e *EC2) DeleteFlowLogs(_ context.Context, in *ec2.DeleteFlowLogsInput, _ ...func(*ec2.Options)) (*ec2.DeleteFlowLogsOutput, error) {
	return e.DeleteFlowLogsBehavior.Invoke("DeleteFlowLogs", in)
}
