package digest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// formats knows which record format each stream of the flow log group is
// written in. Flow logs of different formats may deliver to one group: a
// stream eni-…-<traffic> belongs to the flow log of that interface, or of
// its subnet, or of its VPC, with that traffic type (the most specific
// wins). A line the stream's format does not parse is tried with the other
// known formats of the same field count, the default format among them,
// before it counts as malformed.
type formats struct {
	// single is the format of every stream when the group's flow logs
	// agree on one (or none is found: the default format).
	single *flowrecord.Format
	// byInterface maps interface id, then traffic type, to a format.
	byInterface map[string]map[string]*flowrecord.Format
	// candidates are all known formats, distinct, the default included.
	candidates []*flowrecord.Format
	// flowLogs is how many flow logs deliver to the group.
	flowLogs int
}

// flowLog is what a run needs of one flow log.
type flowLog struct {
	ID       string
	Resource string // vpc-…, subnet-… or eni-…
	Traffic  string // ALL, ACCEPT or REJECT
	Format   *flowrecord.Format
}

// loadFormats describes the flow logs that deliver to group and, when they
// use more than one format, maps interfaces to them through their subnets
// and VPCs.
func loadFormats(ctx context.Context, api EC2API, group string) (*formats, []string, error) {
	var warnings []string
	var logs []flowLog
	p := ec2.NewDescribeFlowLogsPaginator(api, &ec2.DescribeFlowLogsInput{
		Filter:     []ec2types.Filter{{Name: aws.String("log-group-name"), Values: []string{group}}},
		MaxResults: aws.Int32(1000),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("describing the flow logs that deliver to %s: %w", group, err)
		}
		for _, fl := range page.FlowLogs {
			if fl.LogDestinationType != "" && fl.LogDestinationType != ec2types.LogDestinationTypeCloudWatchLogs {
				continue
			}
			f := flowrecord.DefaultFormat()
			if s := aws.ToString(fl.LogFormat); s != "" {
				var err error
				if f, err = flowrecord.ParseFormat(s); err != nil {
					warnings = append(warnings, fmt.Sprintf("flow log %s has a format this code cannot read (%v); its lines count as malformed unless another format reads them", aws.ToString(fl.FlowLogId), err))
					continue
				}
			}
			logs = append(logs, flowLog{
				ID:       aws.ToString(fl.FlowLogId),
				Resource: aws.ToString(fl.ResourceId),
				Traffic:  string(fl.TrafficType),
				Format:   f,
			})
		}
	}
	fs, err := buildFormats(ctx, api, logs)
	if err != nil {
		// Without the mapping each line is still read by the known formats
		// of its field count; say so rather than fail the digest.
		slog.WarnContext(ctx, "mapping interfaces to flow log formats failed; reading lines by field count", "error", err)
		warnings = append(warnings, fmt.Sprintf("mapping interfaces to flow log formats failed, lines were read by field count: %v", err))
	}
	return fs, warnings, nil
}

// buildFormats orders the candidate formats, the default first, and when
// the flow logs have several formats maps interfaces to theirs.
func buildFormats(ctx context.Context, api EC2API, logs []flowLog) (*formats, error) {
	fs := &formats{byInterface: map[string]map[string]*flowrecord.Format{}, flowLogs: len(logs)}
	distinct := map[string]*flowrecord.Format{}
	for _, l := range logs {
		if _, ok := distinct[l.Format.String()]; !ok {
			distinct[l.Format.String()] = l.Format
		}
	}
	def := flowrecord.DefaultFormat()
	if d, ok := distinct[def.String()]; ok {
		def = d
	}
	fs.candidates = append(fs.candidates, def)
	for _, k := range slices.Sorted(maps.Keys(distinct)) {
		if distinct[k] != def {
			fs.candidates = append(fs.candidates, distinct[k])
		}
	}
	switch len(distinct) {
	case 0:
		fs.single = def
		return fs, nil
	case 1:
		for _, f := range distinct {
			fs.single = f
		}
		return fs, nil
	}

	// Several formats: resolve each interface to its most specific flow log.
	return fs, fs.mapInterfaces(ctx, api, logs, distinct)
}

// mapInterfaces maps each interface to the formats of its flow logs by
// traffic type: its own flow logs first, then its subnet's, then its
// VPC's. distinct holds one Format value per format string.
func (fs *formats) mapInterfaces(ctx context.Context, api EC2API, logs []flowLog, distinct map[string]*flowrecord.Format) error {
	canon := func(f *flowrecord.Format) *flowrecord.Format { return distinct[f.String()] }
	bySubnet := map[string]map[string]*flowrecord.Format{}
	byVPC := map[string]map[string]*flowrecord.Format{}
	set := func(m map[string]map[string]*flowrecord.Format, id, traffic string, f *flowrecord.Format) {
		if m[id] == nil {
			m[id] = map[string]*flowrecord.Format{}
		}
		m[id][traffic] = canon(f)
	}
	for _, l := range logs {
		switch {
		case strings.HasPrefix(l.Resource, "eni-"):
			set(fs.byInterface, l.Resource, l.Traffic, l.Format)
		case strings.HasPrefix(l.Resource, "subnet-"):
			set(bySubnet, l.Resource, l.Traffic, l.Format)
		case strings.HasPrefix(l.Resource, "vpc-"):
			set(byVPC, l.Resource, l.Traffic, l.Format)
		}
	}
	inherit := func(from map[string]*flowrecord.Format, eni string) {
		for traffic, f := range from {
			if fs.byInterface[eni] == nil {
				fs.byInterface[eni] = map[string]*flowrecord.Format{}
			}
			if _, ok := fs.byInterface[eni][traffic]; !ok {
				fs.byInterface[eni][traffic] = f
			}
		}
	}
	// Subnets before VPCs: the first format set for a traffic type stays.
	err := eachInterface(ctx, api, "subnet-id", slices.Sorted(maps.Keys(bySubnet)), func(ni ec2types.NetworkInterface) {
		inherit(bySubnet[aws.ToString(ni.SubnetId)], aws.ToString(ni.NetworkInterfaceId))
	})
	if err != nil {
		return err
	}
	return eachInterface(ctx, api, "vpc-id", slices.Sorted(maps.Keys(byVPC)), func(ni ec2types.NetworkInterface) {
		inherit(byVPC[aws.ToString(ni.VpcId)], aws.ToString(ni.NetworkInterfaceId))
	})
}

// forStream returns the format of the stream named name, or nil when it is
// not known and lines are matched by field count.
func (fs *formats) forStream(name string) *flowrecord.Format {
	if fs.single != nil {
		return fs.single
	}
	m := fs.byInterface[streamInterface(name)]
	if f := m[streamTraffic(name)]; f != nil {
		return f
	}
	if len(m) == 1 {
		for _, f := range m {
			return f
		}
	}
	return nil
}
