package digest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Organization mode with S3 (Config.S3 set in the hub): every spoke
// delivers to one central bucket in the hub account, and the hub reads
// each account-region's folder there with its own S3 client
// (OrgClients.S3). What stays as with CloudWatch Logs: one message per
// account-region, the spoke's reader role (assumed by SpokeFunc) for
// DescribeNetworkInterfaces, the exactly-once state per account-region in
// the hub's table (source s3:<bucket>[/<prefix>], account and region the
// spoke's), the digest in stream <account>/<region> and the roll-up.
//
// The bucket admits delivery from every account of the organization, so
// its keys are not trusted: a run lists only the folder of its message's
// account-region (a member of the run, checked before), and parseObjectKey
// refuses, and names in the digest, any key there whose file name is not
// AWS's form for that account and region (another account's file placed
// in this folder, a malformed name). Keys under the folder of an account
// that is not in the run are never listed.

// memberS3Source is the hub's S3 source narrowed to m's account-region, or
// nil in CloudWatch Logs mode.
func memberS3Source(hub *S3Source, m WorkMessage) *S3Source {
	if hub == nil {
		return nil
	}
	s := *hub
	s.Partitions = []Partition{{Account: m.Account, Region: m.Region}}
	return &s
}

// probe makes one cheap call in the spoke before the run records its
// intent: a role that cannot be assumed, a region that is not enabled, or
// (with CloudWatch Logs) a spoke not yet deployed fails here without
// counting against the window. With S3 the flow log group is not the
// spoke's to read: the call is the reader role's DescribeNetworkInterfaces,
// the one the digest needs from the spoke.
func (o *Org) probe(ctx context.Context, logs LogsAPI, api EC2API, m WorkMessage) error {
	if o.cfg.S3 == nil {
		if _, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String(o.cfg.LogGroupName), Limit: aws.Int32(1),
		}); err != nil {
			return fmt.Errorf("reading log group %s in %s %s: %w", o.cfg.LogGroupName, m.Account, m.Region, err)
		}
		return nil
	}
	if _, err := api.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5)}); err != nil {
		return fmt.Errorf("describing network interfaces in %s %s: %w", m.Account, m.Region, err)
	}
	return nil
}
