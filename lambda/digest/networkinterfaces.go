package digest

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Batch and page sizes of DescribeNetworkInterfaces: EC2 takes at most 200
// values in one filter (FilterLimitExceeded beyond) and 1,000 results a
// page. Variables only so that tests can make them small.
var (
	maxFilterValues        = 200
	describePageSize int32 = 1000
)

// Interface states in a digest.
const (
	InterfacePresent = "present" // described by EC2
	InterfaceGone    = "gone"    // EC2 no longer knows it
	InterfaceUnknown = "unknown" // the description failed; see the digest's warnings
)

// InterfaceInfo describes a network interface as EC2 reports it.
type InterfaceInfo struct {
	State            string          `json:"state"`
	Type             string          `json:"type,omitempty"`
	Description      string          `json:"description,omitempty"`
	Status           string          `json:"status,omitempty"`
	InstanceID       string          `json:"instanceId,omitempty"`
	InstanceOwnerID  string          `json:"instanceOwnerId,omitempty"`
	RequesterManaged bool            `json:"requesterManaged,omitempty"`
	RequesterID      string          `json:"requesterId,omitempty"`
	ManagedBy        string          `json:"managedBy,omitempty"`
	VPCID            string          `json:"vpcId,omitempty"`
	SubnetID         string          `json:"subnetId,omitempty"`
	AvailabilityZone string          `json:"availabilityZone,omitempty"`
	PrivateIP        string          `json:"privateIp,omitempty"`
	PublicIP         string          `json:"publicIp,omitempty"`
	SecurityGroups   []SecurityGroup `json:"securityGroups,omitempty"`
}

// SecurityGroup is a group attached to an interface.
type SecurityGroup struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// describeInterfaces describes the interfaces ids, batched by the
// network-interface-id filter. Unlike NetworkInterfaceIds, the filter does
// not fail the whole call for an id that no longer exists, and it allows
// pagination. An id EC2 does not return is gone.
func describeInterfaces(ctx context.Context, api EC2API, ids []string) (map[string]InterfaceInfo, error) {
	out := make(map[string]InterfaceInfo, len(ids))
	err := eachInterface(ctx, api, "network-interface-id", ids, func(ni ec2types.NetworkInterface) {
		out[aws.ToString(ni.NetworkInterfaceId)] = interfaceInfo(ni)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = InterfaceInfo{State: InterfaceGone}
		}
	}
	return out, nil
}

// eachInterface calls fn for every interface matching filter name with any
// of values, in batches of maxFilterValues, following every page.
func eachInterface(ctx context.Context, api EC2API, name string, values []string, fn func(ec2types.NetworkInterface)) error {
	for batch := range slices.Chunk(values, maxFilterValues) {
		p := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{
			Filters:    []ec2types.Filter{{Name: aws.String(name), Values: batch}},
			MaxResults: aws.Int32(describePageSize),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("describing network interfaces by %s (%d values): %w", name, len(batch), err)
			}
			for _, ni := range page.NetworkInterfaces {
				fn(ni)
			}
		}
	}
	return nil
}

// maxEC2Text caps the free-text fields of an interface in the digest:
// EC2 allows 255 characters in a description or a group name, and whoever
// may call ec2:ModifyNetworkInterfaceAttribute writes them.
const maxEC2Text = 255

func interfaceInfo(ni ec2types.NetworkInterface) InterfaceInfo {
	info := InterfaceInfo{
		State:            InterfacePresent,
		Type:             string(ni.InterfaceType),
		Description:      capRunes(aws.ToString(ni.Description), maxEC2Text),
		Status:           string(ni.Status),
		RequesterManaged: aws.ToBool(ni.RequesterManaged),
		RequesterID:      aws.ToString(ni.RequesterId),
		VPCID:            aws.ToString(ni.VpcId),
		SubnetID:         aws.ToString(ni.SubnetId),
		AvailabilityZone: aws.ToString(ni.AvailabilityZone),
		PrivateIP:        aws.ToString(ni.PrivateIpAddress),
	}
	if a := ni.Attachment; a != nil {
		info.InstanceID = aws.ToString(a.InstanceId)
		info.InstanceOwnerID = aws.ToString(a.InstanceOwnerId)
	}
	if o := ni.Operator; o != nil && aws.ToBool(o.Managed) {
		info.ManagedBy = aws.ToString(o.Principal)
	}
	if as := ni.Association; as != nil {
		info.PublicIP = aws.ToString(as.PublicIp)
	}
	for _, g := range ni.Groups {
		info.SecurityGroups = append(info.SecurityGroups, SecurityGroup{ID: aws.ToString(g.GroupId), Name: capRunes(aws.ToString(g.GroupName), maxEC2Text)})
	}
	return info
}
