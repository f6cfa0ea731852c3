package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// describeTagged lists the VPCs carrying cfg.TagKey with one of
// cfg.TagValues, or with any value when the list is empty. EC2 takes at
// most 200 values a filter, so the values go in chunks (see inChunks), one
// listing each: a VPC carries one value of a key, so no VPC is in two
// chunks' answers, and the ids are de-duplicated anyway.
func (r *Reconciler) describeTagged(ctx context.Context, api FlowLogAPI, cfg settings.Enabler) ([]string, error) {
	if cfg.ComplianceMode {
		ids, _, err := r.describeAllVPCs(ctx, api, cfg)
		return ids, err
	}
	if len(cfg.TagValues) == 0 {
		return r.describeVPCsFiltered(ctx, api, types.Filter{Name: aws.String("tag-key"), Values: []string{cfg.TagKey}})
	}
	var ids []string
	err := r.inChunks(sortedUnique(cfg.TagValues), func(values []string) error {
		found, err := r.describeVPCsFiltered(ctx, api, types.Filter{Name: aws.String("tag:" + cfg.TagKey), Values: values})
		ids = append(ids, found...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sortedUnique(ids), nil
}

// describeVPCsFiltered pages through the ids of the VPCs matching f.
func (r *Reconciler) describeVPCsFiltered(ctx context.Context, api FlowLogAPI, f types.Filter) ([]string, error) {
	var ids []string
	p := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{Filters: []types.Filter{f}, MaxResults: aws.Int32(r.pageSize())})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing VPCs by %s (%d values from %q): %w", aws.ToString(f.Name), len(f.Values), f.Values[0], err)
		}
		for _, v := range out.Vpcs {
			ids = append(ids, aws.ToString(v.VpcId))
		}
	}
	return sortedUnique(ids), nil
}

// describeNamed reads the current tags of the named VPCs: tagged lists
// those that match cfg, untagged those that exist and do not, and missing
// those that do not exist. A filter rather than VpcIds, because one missing
// id fails a VpcIds call as a whole.
func (r *Reconciler) describeNamed(ctx context.Context, api FlowLogAPI, cfg settings.Enabler, ids []string) (tagged, untagged, missing []string, err error) {
	ids = sortedUnique(ids)
	found := map[string]bool{}
	err = r.inChunks(ids, func(chunk []string) error {
		p := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{
			Filters:    []types.Filter{{Name: aws.String("vpc-id"), Values: chunk}},
			MaxResults: aws.Int32(r.pageSize()),
		})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("describing %d VPCs from %s: %w", len(chunk), chunk[0], err)
			}
			for _, v := range out.Vpcs {
				id := aws.ToString(v.VpcId)
				found[id] = true
				if matches(v.Tags, cfg) {
					tagged = append(tagged, id)
				} else {
					untagged = append(untagged, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return sortedUnique(tagged), sortedUnique(untagged), missing, nil
}

// matches reports whether a VPC with tags is in scope: every VPC in
// compliance mode, else those carrying the tag with a configured value.
func matches(tags []types.Tag, cfg settings.Enabler) bool {
	if cfg.ComplianceMode {
		return true
	}
	for _, t := range tags {
		if aws.ToString(t.Key) == cfg.TagKey {
			return len(cfg.TagValues) == 0 || slices.Contains(cfg.TagValues, aws.ToString(t.Value))
		}
	}
	return false
}

// describeFlowLogs lists every flow log of the given resources, batching
// them in resource-id filters of at most filterBatchSize values.
func (r *Reconciler) describeFlowLogs(ctx context.Context, api FlowLogAPI, resourceIDs []string) ([]types.FlowLog, error) {
	var all []types.FlowLog
	err := r.inChunks(resourceIDs, func(chunk []string) error {
		fls, err := r.describeFlowLogsFiltered(ctx, api, []types.Filter{{Name: aws.String("resource-id"), Values: chunk}})
		all = append(all, fls...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// inChunks calls fn with the ids in chunks of filterBatchSize. Should EC2
// answer FilterLimitExceeded (its limit of 200 values lowered), the chunk
// is halved and retried, and the smaller size kept for later runs of this
// Reconciler. fn may be called again for ids it already saw: callers
// de-duplicate.
func (r *Reconciler) inChunks(ids []string, fn func([]string) error) error {
	for i := 0; i < len(ids); {
		size := r.filterBatchSize()
		chunk := ids[i:min(i+size, len(ids))]
		err := fn(chunk)
		if errorCode(err) == codeFilterLimit && size > 1 {
			r.shrinkBatch(size)
			continue
		}
		if err != nil {
			return err
		}
		i += len(chunk)
	}
	return nil
}

// describeAllFlowLogs lists every flow log of the account and region,
// without a filter: a page of up to 1,000 flow logs a call, whatever their
// number of resources.
func (r *Reconciler) describeAllFlowLogs(ctx context.Context, api FlowLogAPI) ([]types.FlowLog, error) {
	return r.describeFlowLogsFiltered(ctx, api, nil)
}

// describeOwned lists every flow log carrying owner's tag.
func (r *Reconciler) describeOwned(ctx context.Context, api FlowLogAPI, owner string) ([]types.FlowLog, error) {
	return r.describeFlowLogsFiltered(ctx, api, []types.Filter{{Name: aws.String("tag:" + settings.OwnerTagKey), Values: []string{owner}}})
}

// describeFlowLogsFiltered pages through the flow logs matching filters,
// all of them when filters is empty. On error it returns the pages read so
// far with the error.
func (r *Reconciler) describeFlowLogsFiltered(ctx context.Context, api FlowLogAPI, filters []types.Filter) ([]types.FlowLog, error) {
	var out []types.FlowLog
	p := ec2.NewDescribeFlowLogsPaginator(api, &ec2.DescribeFlowLogsInput{Filter: filters, MaxResults: aws.Int32(r.pageSize())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("describing flow logs%s: %w", filterText(filters), err)
		}
		out = append(out, page.FlowLogs...)
	}
	return out, nil
}

func filterText(filters []types.Filter) string {
	if len(filters) == 0 {
		return ""
	}
	f := filters[0]
	return fmt.Sprintf(" by %s (%d values)", aws.ToString(f.Name), len(f.Values))
}
