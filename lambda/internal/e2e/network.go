package e2e

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// VPCSpec describes a VPC to create.
type VPCSpec struct {
	Name string
	// Tags besides Name.
	Tags map[string]string
	// Subnets, each with ENIsPerSubnet network interfaces.
	Subnets       int
	ENIsPerSubnet int
}

// VPC is a created VPC.
type VPC struct {
	ID      string
	Name    string
	Tags    map[string]string
	Subnets []string
	ENIs    []ENI
}

// ENI is a created network interface.
type ENI struct {
	ID, SubnetID, VPCID, Description, PrivateIP string
}

// eniRoles describe the interfaces, as the digest shows them.
var eniRoles = []string{"web server", "API server", "database primary", "batch worker", "bastion host", "cache node"}

// CreateVPCs creates the VPCs with their tags, subnets and interfaces.
func CreateVPCs(ctx context.Context, c Clients, specs []VPCSpec) ([]VPC, error) {
	var out []VPC
	for i, sp := range specs {
		v, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", i+1))})
		if err != nil {
			return nil, fmt.Errorf("creating VPC %s: %w", sp.Name, err)
		}
		vpc := VPC{ID: aws.ToString(v.Vpc.VpcId), Name: sp.Name, Tags: map[string]string{"Name": sp.Name}}
		for k, val := range sp.Tags {
			vpc.Tags[k] = val
		}
		if err := TagVPC(ctx, c, vpc.ID, vpc.Tags); err != nil {
			return nil, err
		}
		for j := range sp.Subnets {
			sn, err := c.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
				VpcId:     aws.String(vpc.ID),
				CidrBlock: aws.String(fmt.Sprintf("10.%d.%d.0/24", i+1, j)),
			})
			if err != nil {
				return nil, fmt.Errorf("creating a subnet in %s: %w", vpc.ID, err)
			}
			subnet := aws.ToString(sn.Subnet.SubnetId)
			vpc.Subnets = append(vpc.Subnets, subnet)
			for k := range sp.ENIsPerSubnet {
				desc := fmt.Sprintf("%s %d (%s)", eniRoles[(j*sp.ENIsPerSubnet+k)%len(eniRoles)], k+1, sp.Name)
				ni, err := c.EC2.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
					SubnetId:    aws.String(subnet),
					Description: aws.String(desc),
				})
				if err != nil {
					return nil, fmt.Errorf("creating an interface in %s: %w", subnet, err)
				}
				vpc.ENIs = append(vpc.ENIs, ENI{
					ID: aws.ToString(ni.NetworkInterface.NetworkInterfaceId), SubnetID: subnet, VPCID: vpc.ID,
					Description: desc, PrivateIP: aws.ToString(ni.NetworkInterface.PrivateIpAddress),
				})
			}
		}
		out = append(out, vpc)
	}
	return out, nil
}

// TagVPC sets tags on a VPC.
func TagVPC(ctx context.Context, c Clients, vpcID string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	in := &ec2.CreateTagsInput{Resources: []string{vpcID}}
	for _, k := range sortedKeys(tags) {
		in.Tags = append(in.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := c.EC2.CreateTags(ctx, in); err != nil {
		return fmt.Errorf("tagging %s: %w", vpcID, err)
	}
	return nil
}

// UntagVPC removes tag keys from a VPC.
func UntagVPC(ctx context.Context, c Clients, vpcID string, keys ...string) error {
	in := &ec2.DeleteTagsInput{Resources: []string{vpcID}}
	for _, k := range keys {
		in.Tags = append(in.Tags, ec2types.Tag{Key: aws.String(k)})
	}
	if _, err := c.EC2.DeleteTags(ctx, in); err != nil {
		return fmt.Errorf("untagging %s: %w", vpcID, err)
	}
	return nil
}

// VPCTags returns a VPC's current tags.
func VPCTags(ctx context.Context, c Clients, vpcID string) (map[string]string, error) {
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpcID}})
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", vpcID, err)
	}
	tags := map[string]string{}
	for _, v := range out.Vpcs {
		for _, t := range v.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

// FlowLog is a flow log as the harness reports it.
type FlowLog struct {
	ID, ResourceID, LogGroup, TrafficType string
	// Owner is the value of the enabler's owner tag; "" for a flow log the
	// enabler did not create.
	Owner        string
	DeliverLogs  string
	LogFormat    string
	DeliveryRole string
}

// FlowLogs lists every flow log, sorted by resource and id.
func FlowLogs(ctx context.Context, c Clients) ([]FlowLog, error) {
	var out []FlowLog
	p := ec2.NewDescribeFlowLogsPaginator(c.EC2, &ec2.DescribeFlowLogsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing flow logs: %w", err)
		}
		for _, f := range page.FlowLogs {
			fl := FlowLog{
				ID: aws.ToString(f.FlowLogId), ResourceID: aws.ToString(f.ResourceId),
				LogGroup: aws.ToString(f.LogGroupName), TrafficType: string(f.TrafficType),
				DeliverLogs: aws.ToString(f.DeliverLogsStatus), LogFormat: aws.ToString(f.LogFormat),
				DeliveryRole: aws.ToString(f.DeliverLogsPermissionArn),
			}
			for _, t := range f.Tags {
				if aws.ToString(t.Key) == settings.OwnerTagKey {
					fl.Owner = aws.ToString(t.Value)
				}
			}
			out = append(out, fl)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ResourceID != out[j].ResourceID {
			return out[i].ResourceID < out[j].ResourceID
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// CreateForeignFlowLog creates a flow log the way someone else would, with
// no owner tag: the enabler must leave it alone.
func CreateForeignFlowLog(ctx context.Context, c Clients, vpcID, group, roleARN, trafficType string) (string, error) {
	out, err := c.EC2.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
		ResourceIds:              []string{vpcID},
		ResourceType:             ec2types.FlowLogsResourceTypeVpc,
		TrafficType:              ec2types.TrafficType(trafficType),
		LogGroupName:             aws.String(group),
		DeliverLogsPermissionArn: aws.String(roleARN),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeVpcFlowLog,
			Tags:         []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("security")}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("creating a flow log on %s: %w", vpcID, err)
	}
	if len(out.FlowLogIds) != 1 {
		return "", fmt.Errorf("creating a flow log on %s: %d ids, unsuccessful %v", vpcID, len(out.FlowLogIds), out.Unsuccessful)
	}
	return out.FlowLogIds[0], nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
