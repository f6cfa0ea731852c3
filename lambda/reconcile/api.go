package reconcile

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// FlowLogAPI is the part of the EC2 API the enabler calls; *ec2.Client
// satisfies it.
type FlowLogAPI interface {
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeFlowLogs(context.Context, *ec2.DescribeFlowLogsInput, ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error)
	CreateFlowLogs(context.Context, *ec2.CreateFlowLogsInput, ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error)
	DeleteFlowLogs(context.Context, *ec2.DeleteFlowLogsInput, ...func(*ec2.Options)) (*ec2.DeleteFlowLogsOutput, error)
}

// Error codes the enabler decides on.
const (
	codeVPCNotFound        = "InvalidVpcID.NotFound"
	codeAlreadyExists      = "FlowLogAlreadyExists"
	codeLimitExceeded      = "FlowLogsLimitExceeded"
	codeUnauthorized       = "UnauthorizedOperation"
	codeFlowLogNotFound    = "InvalidFlowLogId.NotFound"
	codeFilterLimit        = "FilterLimitExceeded"
	codeDeadline           = "DeadlineReached"
	codeNotFoundAtDescribe = "VPCNotFound"
)

// perItemCreate are the codes with which CreateFlowLogs can fail a whole
// batch because of one of its VPCs: the batch is split to find it.
var perItemCreate = map[string]bool{
	codeVPCNotFound:   true,
	codeAlreadyExists: true,
	codeLimitExceeded: true,
	codeUnauthorized:  true,
}

// perItemDelete are the codes with which DeleteFlowLogs can fail a whole
// batch because of one of its flow logs (a flow log without this stack's
// tag is denied by the role's condition).
var perItemDelete = map[string]bool{
	codeFlowLogNotFound: true,
	codeUnauthorized:    true,
}

// errorCode is the AWS error code of err, or "" when err is no API error.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
