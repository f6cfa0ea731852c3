package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// MaxFlowLogsPerVPC is AWS's limit of flow logs on one VPC, which cannot be
// raised.
const MaxFlowLogsPerVPC = 2

// deliveryFailed is the DeliverLogsStatus of a flow log that cannot deliver,
// for example because its role lacks permissions.
const deliveryFailed = "FAILED"

// Action is what a step does to one VPC.
type Action string

// Actions of a plan.
const (
	// ActionCreate creates a flow log on a tagged VPC that has none
	// delivering to the log group with the traffic type.
	ActionCreate Action = "create"
	// ActionReplace deletes this owner's stale flow logs on a tagged VPC and
	// creates one with the current settings (flow logs are immutable).
	ActionReplace Action = "replace"
	// ActionRemove deletes this owner's flow logs from a VPC: one no longer
	// tagged, one covered by another flow log, or every VPC when the stack
	// is deleted.
	ActionRemove Action = "remove"
)

// Step is one change to one VPC.
type Step struct {
	VPCID  string
	Action Action
	// Delete lists this owner's flow logs to delete before anything is
	// created.
	Delete []string
	// Reason says why, for the logs.
	Reason string
}

// Failure is a VPC the run could not bring to the wanted state.
type Failure struct {
	VPCID   string `json:"vpcId"`
	Action  Action `json:"action"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Plan is what a run changes, decided from what was described.
type Plan struct {
	// Tagged lists the VPCs in scope that carry the tag.
	Tagged []string
	// Covered lists the tagged VPCs that already have a flow log
	// delivering to the log group with the traffic type.
	Covered []string
	// Steps are the changes, in VPC id order.
	Steps []Step
	// Blocked lists tagged VPCs that cannot get a flow log without an API
	// call failing, such as those at the flow log limit.
	Blocked []Failure
	// CoveredByOthers lists the Covered VPCs whose covering flow log is not
	// this owner's.
	CoveredByOthers []string
}

// NewPlan decides, for every tagged VPC, whether it is covered, needs a
// flow log, or needs this owner's stale flow logs replaced, and, when
// cfg.RemoveOnUntag is set, which of this owner's flow logs sit on VPCs no
// longer tagged. flowLogs are every flow log of the tagged VPCs plus this
// owner's flow logs anywhere; tagged VPC ids may repeat. home is where the
// configured log group is.
func NewPlan(cfg settings.Enabler, home Home, tagged []string, flowLogs []types.FlowLog) Plan {
	byVPC := map[string][]types.FlowLog{}
	seen := map[string]bool{}
	for _, fl := range flowLogs {
		id := aws.ToString(fl.FlowLogId)
		if seen[id] {
			continue
		}
		seen[id] = true
		byVPC[aws.ToString(fl.ResourceId)] = append(byVPC[aws.ToString(fl.ResourceId)], fl)
	}
	tagged = sortedUnique(tagged)
	p := Plan{Tagged: tagged}
	isTagged := map[string]bool{}
	for _, vpc := range tagged {
		isTagged[vpc] = true
		var covering string
		var stale []string
		var reasons []string
		for _, fl := range byVPC[vpc] {
			switch {
			case IsOwned(fl, cfg.Owner):
				if why := StaleReason(fl, cfg, home); why != "" {
					stale = append(stale, aws.ToString(fl.FlowLogId))
					reasons = append(reasons, aws.ToString(fl.FlowLogId)+": "+why)
				} else if covering == "" {
					covering = aws.ToString(fl.FlowLogId)
				}
			case Covers(fl, cfg, home) && covering == "":
				covering = aws.ToString(fl.FlowLogId)
			}
		}
		switch {
		case covering != "" && len(stale) > 0:
			p.Covered = append(p.Covered, vpc)
			p.Steps = append(p.Steps, Step{VPCID: vpc, Action: ActionRemove, Delete: stale,
				Reason: "stale (" + strings.Join(reasons, "; ") + ") and covered by " + covering})
		case covering != "":
			p.Covered = append(p.Covered, vpc)
			if !ownedCovering(byVPC[vpc], covering, cfg.Owner) {
				p.CoveredByOthers = append(p.CoveredByOthers, vpc)
			}
		case len(byVPC[vpc])-len(stale) >= MaxFlowLogsPerVPC:
			p.Blocked = append(p.Blocked, Failure{VPCID: vpc, Action: ActionCreate, Code: codeLimitExceeded,
				Message: fmt.Sprintf("the VPC already has %d flow logs, none delivering %s traffic to %s, and AWS allows %d",
					len(byVPC[vpc]), cfg.TrafficType, cfg.LogGroupName, MaxFlowLogsPerVPC)})
		case len(stale) > 0:
			p.Steps = append(p.Steps, Step{VPCID: vpc, Action: ActionReplace, Delete: stale,
				Reason: "stale: " + strings.Join(reasons, "; ")})
		default:
			p.Steps = append(p.Steps, Step{VPCID: vpc, Action: ActionCreate, Reason: "no flow log delivers " + cfg.TrafficType + " traffic to " + cfg.LogGroupName})
		}
	}
	if cfg.RemoveOnUntag {
		for vpc, fls := range byVPC {
			if isTagged[vpc] || !strings.HasPrefix(vpc, "vpc-") {
				continue
			}
			if owned := ownedIDs(fls, cfg.Owner); len(owned) > 0 {
				p.Steps = append(p.Steps, Step{VPCID: vpc, Action: ActionRemove, Delete: owned,
					Reason: "the VPC no longer carries tag " + cfg.TagKey + " with a configured value"})
			}
		}
	}
	slices.SortFunc(p.Steps, func(a, b Step) int { return strings.Compare(a.VPCID, b.VPCID) })
	return p
}

// NewTeardownPlan removes every flow log of this owner's on a VPC.
func NewTeardownPlan(owner string, flowLogs []types.FlowLog) Plan {
	byVPC := map[string][]types.FlowLog{}
	for _, fl := range flowLogs {
		byVPC[aws.ToString(fl.ResourceId)] = append(byVPC[aws.ToString(fl.ResourceId)], fl)
	}
	var p Plan
	for vpc, fls := range byVPC {
		if owned := ownedIDs(fls, owner); len(owned) > 0 && strings.HasPrefix(vpc, "vpc-") {
			p.Steps = append(p.Steps, Step{VPCID: vpc, Action: ActionRemove, Delete: owned, Reason: "the stack is being deleted"})
		}
	}
	slices.SortFunc(p.Steps, func(a, b Step) int { return strings.Compare(a.VPCID, b.VPCID) })
	return p
}

// IsOwned reports whether the enabler of owner created fl: it carries
// settings.OwnerTagKey with owner as value.
func IsOwned(fl types.FlowLog, owner string) bool {
	for _, t := range fl.Tags {
		if aws.ToString(t.Key) == settings.OwnerTagKey && aws.ToString(t.Value) == owner {
			return true
		}
	}
	return false
}

// Home is the partition, region and account the enabler works in: the
// configured log group is the one of that name there.
type Home struct {
	Partition, Region, Account string
}

// HomeOf is the home of an enabler whose EC2 client works in region and
// whose delivery role is roleARN: IAM ARNs carry the partition and the
// account, not the region. A roleARN that does not parse leaves both
// empty, and then no log group ARN is at home.
func HomeOf(region, roleARN string) Home {
	h := Home{Region: region}
	if a, err := arn.Parse(roleARN); err == nil {
		h.Partition, h.Account = a.Partition, a.AccountID
	}
	return h
}

// Covers reports whether fl, whoever created it, delivers the configured
// traffic to the configured log group: ALL covers every traffic type. A
// flow log whose delivery FAILED delivers nothing and covers nothing.
// The log group must be home's: a flow log's LogDestination can be the ARN
// of a group of the same name in another account or region, which
// anyone can create.
func Covers(fl types.FlowLog, cfg settings.Enabler, home Home) bool {
	if aws.ToString(fl.DeliverLogsStatus) == deliveryFailed {
		return false
	}
	if dt := fl.LogDestinationType; dt != "" && dt != types.LogDestinationTypeCloudWatchLogs {
		return false
	}
	if destinationDiffers(fl, cfg, home) != "" {
		return false
	}
	tt := string(fl.TrafficType)
	return tt == cfg.TrafficType || tt == settings.TrafficAll
}

// destinationDiffers says how fl's log group is not cfg's log group at
// home, "" when it is. LogGroupName, when set, must be the configured name;
// LogDestination, when set, must be the ARN of that group at home (with or
// without the ":*" suffix). A flow log with neither delivers nowhere known.
func destinationDiffers(fl types.FlowLog, cfg settings.Enabler, home Home) string {
	name, dest := aws.ToString(fl.LogGroupName), aws.ToString(fl.LogDestination)
	if name == "" && dest == "" {
		return "no log group"
	}
	if name != "" && name != cfg.LogGroupName {
		return fmt.Sprintf("log group %q, want %q", name, cfg.LogGroupName)
	}
	if dest == "" {
		// A group given by name is in the flow log's own account and
		// region, which are the ones DescribeFlowLogs was asked about.
		return ""
	}
	want := Home{}
	a, err := arn.Parse(dest)
	if err == nil && a.Service == "logs" {
		want = Home{Partition: a.Partition, Region: a.Region, Account: a.AccountID}
	}
	group, isGroup := strings.CutPrefix(a.Resource, "log-group:")
	group = strings.TrimSuffix(group, ":*")
	if err != nil || !isGroup || group != cfg.LogGroupName || want != home || home.Account == "" || home.Region == "" {
		return fmt.Sprintf("log destination %q, want the log group %q of account %q in region %q",
			dest, cfg.LogGroupName, home.Account, home.Region)
	}
	return ""
}

// StaleReason says why one of this owner's flow logs no longer matches cfg
// at home (or fails to deliver), "" when it matches.
func StaleReason(fl types.FlowLog, cfg settings.Enabler, home Home) string {
	var why []string
	differs := func(what, got, want string) {
		if got != want {
			why = append(why, fmt.Sprintf("%s %q, want %q", what, got, want))
		}
	}
	dt := string(fl.LogDestinationType)
	if dt == "" {
		dt = string(types.LogDestinationTypeCloudWatchLogs)
	}
	differs("destination type", dt, string(types.LogDestinationTypeCloudWatchLogs))
	if d := destinationDiffers(fl, cfg, home); d != "" {
		// The owner tag is anyone's to write: a flow log carrying it that
		// delivers elsewhere is replaced, never counted.
		why = append(why, d)
	}
	differs("delivery role", aws.ToString(fl.DeliverLogsPermissionArn), cfg.DeliveryRoleARN)
	differs("traffic type", string(fl.TrafficType), cfg.TrafficType)
	differs("aggregation interval", fmt.Sprint(aws.ToInt32(fl.MaxAggregationInterval)), fmt.Sprint(cfg.MaxAggregationInterval))
	differs("log format", formatOrDefault(aws.ToString(fl.LogFormat)), formatOrDefault(cfg.LogFormat))
	if aws.ToString(fl.DeliverLogsStatus) == deliveryFailed {
		why = append(why, "delivery FAILED: "+aws.ToString(fl.DeliverLogsErrorMessage))
	}
	return strings.Join(why, ", ")
}

// formatOrDefault is the format a flow log has: DescribeFlowLogs reports the
// AWS default for one created without a format, so an empty configured
// format is compared with it.
func formatOrDefault(f string) string {
	if f == "" {
		return settings.DefaultLogFormat
	}
	return f
}

// ownedCovering reports whether the covering flow log, one of fls, is
// owner's.
func ownedCovering(fls []types.FlowLog, covering, owner string) bool {
	for _, fl := range fls {
		if aws.ToString(fl.FlowLogId) == covering {
			return IsOwned(fl, owner)
		}
	}
	return false
}

func ownedIDs(fls []types.FlowLog, owner string) []string {
	var out []string
	for _, fl := range fls {
		if IsOwned(fl, owner) {
			out = append(out, aws.ToString(fl.FlowLogId))
		}
	}
	slices.Sort(out)
	return out
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
