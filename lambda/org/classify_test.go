package org_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
)

// op wraps err as the SDK wraps an operation's error.
func op(service, operation string, err error) error {
	return &smithy.OperationError{ServiceID: service, OperationName: operation, Err: err}
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }

// TestClassify proves the classification of the errors a spoke
// account-region fails with, including an EC2 call whose credentials
// (AssumeRole) could not be had, which the SDK wraps in the EC2 error.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want org.Class
	}{
		{"success", nil, org.ClassOK},
		{"AssumeRole denied", op("STS", "AssumeRole", apiErr("AccessDenied")), org.ClassRoleUnavailable},
		{"AssumeRole denied inside an EC2 call",
			op("EC2", "DescribeVpcs", fmt.Errorf("failed to refresh cached credentials: %w", op("STS", "AssumeRole", apiErr("AccessDenied")))),
			org.ClassRoleUnavailable},
		{"STS regional endpoint disabled", op("STS", "AssumeRole", apiErr("RegionDisabledException")), org.ClassRegionNotEnabled},
		{"an SCP denies EC2", op("EC2", "DescribeVpcs", apiErr("UnauthorizedOperation")), org.ClassDenied},
		{"opt-in region", op("EC2", "DescribeVpcs", apiErr("OptInRequired")), org.ClassRegionNotEnabled},
		{"credentials not valid in the region", op("EC2", "DescribeVpcs", apiErr("AuthFailure")), org.ClassRegionNotEnabled},
		{"throttled past the retries", op("EC2", "DescribeFlowLogs", apiErr("RequestLimitExceeded")), org.ClassThrottled},
		{"CloudWatch Logs throttled", op("CloudWatch Logs", "FilterLogEvents", apiErr("ThrottlingException")), org.ClassThrottled},
		{"a deadline", fmt.Errorf("describing VPCs: %w", context.DeadlineExceeded), org.ClassOther},
		{"no API error", errors.New("boom"), org.ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := org.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %s, want %s", tc.err, got, tc.want)
			}
		})
	}
}
