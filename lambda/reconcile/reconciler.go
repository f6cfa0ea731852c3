package reconcile

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Defaults of the Reconciler's tunables.
const (
	// DefaultBatchSize is the number of VPCs or flow logs per
	// CreateFlowLogs and DeleteFlowLogs call: AWS's maximum.
	DefaultBatchSize = 1000
	// DefaultFilterValues is the number of values per Describe filter:
	// EC2's maximum ("The maximum number of filter values specified on a
	// single call is 200", FilterLimitExceeded). A run that targets more
	// VPCs than this lists every flow log instead of filtering.
	DefaultFilterValues = 200
	// DefaultPageSize is MaxResults of every Describe call: AWS's maximum.
	DefaultPageSize = 1000
	// DefaultMaxSplitCalls bounds the extra calls a run spends isolating the
	// VPCs that fail a whole batch: enough for a few culprits in a batch of
	// 1,000 (about 2·k·log2(1000/k) calls for k of them).
	DefaultMaxSplitCalls = 100
)

// Reconciler brings flow logs in line with the configuration. Build it once
// per process; Run it once per invocation.
type Reconciler struct {
	// API is the EC2 client.
	API FlowLogAPI
	// Region is API's region. With the account of the delivery role, it
	// says which log group the configured name means: a flow log to a
	// group of that name in another account or region covers nothing.
	// Required for every run but a teardown.
	Region string
	// Metrics receives one EMF line per run, without dimensions (the
	// dashboard reads them so); nil discards them.
	Metrics io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// BatchSize, FilterValues, PageSize and MaxSplitCalls override the
	// defaults when set.
	BatchSize, FilterValues, PageSize, MaxSplitCalls int

	mu         sync.Mutex
	shrunkSize int // a filter size AWS accepted after FilterLimitExceeded
}

// Target says which VPCs a run looks at.
type Target struct {
	// Trigger names what started the run, for the logs.
	Trigger string
	// VPCIDs, when not nil, limits the run to these VPCs: their current
	// tags decide (an event's copy is not trusted).
	VPCIDs []string
	// Teardown removes every flow log of the owner (when
	// cfg.RemoveOnDelete is set) and creates nothing.
	Teardown bool
	// Inventory (a full run only) lists every VPC, unfiltered, and fills
	// Result.Inventory: the organization mode's sweep.
	Inventory bool
}

// Result counts what a run found and did. In a dry run Created, Replaced
// and Removed count what would have been done.
type Result struct {
	Trigger string `json:"trigger"`
	DryRun  bool   `json:"dryRun"`
	// Stopped says why an event or sweep run changed nothing without
	// looking at EC2: the stack is being deleted (see CheckStack).
	Stopped string `json:"stopped,omitempty"`
	// Tagged counts the VPCs in scope carrying the tag.
	Tagged int `json:"tagged"`
	// Covered counts the tagged VPCs covered at the end of the run.
	Covered  int `json:"covered"`
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
	Removed  int `json:"removed"`
	// Failed counts the VPCs an action failed for.
	Failed int `json:"failed"`
	// Pending counts the VPCs whose action the deadline cut off.
	Pending int `json:"pending"`
	// NotFound counts VPCs named by an event that do not exist.
	NotFound int       `json:"notFound,omitempty"`
	Failures []Failure `json:"failures,omitempty"`
	// Calls counts the API calls by operation (SDK retries not included).
	Calls map[string]int `json:"calls"`
	// Attempted and Succeeded count the VPCs whose action was sent to AWS,
	// and of those, the ones that reached the wanted state.
	Attempted int `json:"attempted"`
	Succeeded int `json:"succeeded"`
	// Inventory is where every VPC stands, for a Target.Inventory run.
	Inventory *Inventory `json:"-"`
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) pageSize() int32 {
	if r.PageSize > 0 {
		return int32(r.PageSize)
	}
	return DefaultPageSize
}

// home is where cfg's log group is: this region, the delivery role's
// account.
func (r *Reconciler) home(cfg settings.Enabler) Home {
	return HomeOf(r.Region, cfg.DeliveryRoleARN)
}

func (r *Reconciler) maxSplitCalls() int {
	if r.MaxSplitCalls > 0 {
		return r.MaxSplitCalls
	}
	return DefaultMaxSplitCalls
}

func (r *Reconciler) batchSize() int {
	if r.BatchSize > 0 {
		return r.BatchSize
	}
	return DefaultBatchSize
}

// filterValues is the most VPC ids a run filters Describe calls by; a run
// targeting more lists every flow log.
func (r *Reconciler) filterValues() int {
	if r.FilterValues > 0 {
		return r.FilterValues
	}
	return DefaultFilterValues
}

// filterBatchSize is the number of values per Describe filter: the smaller
// of the batch size and the filter limit, or less once AWS answered
// FilterLimitExceeded (should EC2 ever lower its limit).
func (r *Reconciler) filterBatchSize() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shrunkSize > 0 {
		return r.shrunkSize
	}
	return min(r.batchSize(), r.filterValues())
}

func (r *Reconciler) shrinkBatch(from int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shrunkSize = max(1, (from+1)/2)
}

// Run discovers, plans and (unless cfg.DryRun) applies. It logs one line per
// action and one summary line, and writes the metrics. Per-VPC failures are
// in the Result, not the error: the error says that the run could not find
// out what to do.
func (r *Reconciler) Run(ctx context.Context, cfg settings.Enabler, t Target) (Result, error) {
	start := r.now()
	api := &countingAPI{api: r.API, calls: map[string]int{}}
	res := Result{Trigger: t.Trigger, DryRun: cfg.DryRun}
	if r.Region == "" && !t.Teardown {
		return res, errors.New("the reconciler has no Region: it cannot tell this region's log group from another's")
	}
	var p Plan
	var missing []string
	var err error
	if t.Inventory {
		p, res.Inventory, err = r.planInventory(ctx, api, cfg)
	} else {
		p, missing, err = r.plan(ctx, api, cfg, t)
	}
	if err != nil {
		res.Calls = api.snapshot()
		slog.ErrorContext(ctx, "reconcile summary", "trigger", t.Trigger, "error", err.Error(), "calls", res.Calls)
		return res, err
	}
	for _, id := range missing {
		slog.WarnContext(ctx, "flow log action", "vpcId", id, "action", "skip", "error", "the VPC does not exist")
	}
	res.NotFound = len(missing)
	res.Tagged = len(p.Tagged)
	res.Covered = len(p.Covered)
	for _, b := range p.Blocked {
		res.Failures = append(res.Failures, b)
		slog.WarnContext(ctx, "flow log action", "vpcId", b.VPCID, "action", string(b.Action), "error", b.Code+": "+b.Message)
	}

	if cfg.DryRun {
		for _, s := range p.Steps {
			slog.InfoContext(ctx, "flow log action", "vpcId", s.VPCID, "action", string(s.Action),
				"flowLogId", strings.Join(s.Delete, ","), "reason", s.Reason, "dryRun", true)
			res.count(s.Action)
			if res.Inventory != nil {
				res.Inventory.dryRun(s)
			}
		}
	} else {
		for _, o := range r.apply(ctx, api, cfg, p) {
			res.add(ctx, o)
			if res.Inventory != nil {
				res.Inventory.record(o)
			}
		}
	}
	if res.Inventory != nil {
		res.Inventory.sort()
	}
	res.Failed = len(res.Failures)
	slices.SortFunc(res.Failures, func(a, b Failure) int { return strings.Compare(a.VPCID, b.VPCID) })
	res.Calls = api.snapshot()

	slog.InfoContext(ctx, "reconcile summary", "trigger", t.Trigger, "dryRun", cfg.DryRun,
		"tagged", res.Tagged, "covered", res.Covered, "created", res.Created, "replaced", res.Replaced,
		"removed", res.Removed, "failed", res.Failed, "pending", res.Pending, "notFound", res.NotFound,
		"calls", res.Calls, "durationMs", r.now().Sub(start).Milliseconds())
	r.emit(ctx, cfg, t, res)
	return res, nil
}

// plan describes what the target needs and decides the steps. missing
// lists VPCs named by the target that do not exist.
func (r *Reconciler) plan(ctx context.Context, api FlowLogAPI, cfg settings.Enabler, t Target) (p Plan, missing []string, err error) {
	switch {
	case t.Teardown:
		if !cfg.RemoveOnDelete {
			return Plan{}, nil, nil
		}
		owned, err := r.describeOwned(ctx, api, cfg.Owner)
		if err != nil {
			return Plan{}, nil, err
		}
		return NewTeardownPlan(cfg.Owner, owned), nil, nil

	case t.VPCIDs != nil:
		tagged, untagged, missing, err := r.describeNamed(ctx, api, cfg, t.VPCIDs)
		if err != nil {
			return Plan{}, nil, err
		}
		named := sortedUnique(append(slices.Clone(tagged), untagged...))
		if len(named) <= r.filterValues() {
			fls, err := r.describeFlowLogs(ctx, api, named)
			if err != nil {
				return Plan{}, nil, err
			}
			return NewPlan(cfg, r.home(cfg), tagged, fls), missing, nil
		}
		// Beyond the filter limit, one listing of every flow log costs
		// fewer calls than filters of 200 ids. Only the named VPCs' flow
		// logs are kept: the plan would take this owner's flow logs on
		// tagged VPCs outside the event for VPCs no longer tagged.
		all, err := r.describeAllFlowLogs(ctx, api)
		if err != nil {
			return Plan{}, nil, err
		}
		var fls []types.FlowLog
		for _, fl := range all {
			if _, ok := slices.BinarySearch(named, aws.ToString(fl.ResourceId)); ok {
				fls = append(fls, fl)
			}
		}
		return NewPlan(cfg, r.home(cfg), tagged, fls), missing, nil

	default:
		tagged, err := r.describeTagged(ctx, api, cfg)
		if err != nil {
			return Plan{}, nil, err
		}
		// Every flow log of the account and region, at 1,000 a page: the
		// tagged VPCs' and this owner's on VPCs no longer tagged, in fewer
		// calls than resource-id filters of 200 values plus an owner-tag
		// listing.
		fls, err := r.describeAllFlowLogs(ctx, api)
		if err != nil {
			return Plan{}, nil, err
		}
		return NewPlan(cfg, r.home(cfg), tagged, fls), nil, nil
	}
}

func (res *Result) count(a Action) {
	switch a {
	case ActionCreate:
		res.Created++
	case ActionReplace:
		res.Replaced++
	case ActionRemove:
		res.Removed++
	}
}

// add counts one applied step and logs it.
func (res *Result) add(ctx context.Context, o *outcome) {
	attrs := []any{"vpcId", o.VPCID, "action", string(o.Action)}
	if o.flowLogID != "" {
		attrs = append(attrs, "flowLogId", o.flowLogID)
	}
	if len(o.Delete) > 0 && o.Action == ActionReplace {
		attrs = append(attrs, "replacedFlowLogIds", strings.Join(o.Delete, ","))
	}
	switch o.status {
	case statusDone:
		res.Attempted++
		res.Succeeded++
		res.count(o.Action)
		if o.Action != ActionRemove {
			res.Covered++
		}
		slog.InfoContext(ctx, "flow log action", append(attrs, "reason", o.Reason)...)
	case statusCovered:
		res.Attempted++
		res.Succeeded++
		res.Covered++
		slog.InfoContext(ctx, "flow log action", append(attrs, "result", "covered by an existing flow log")...)
	case statusPending:
		res.Pending++
		slog.WarnContext(ctx, "flow log action", append(attrs, "error", o.code+": "+o.msg)...)
	default:
		res.Attempted++
		res.Failures = append(res.Failures, Failure{VPCID: o.VPCID, Action: o.Action, Code: o.code, Message: o.msg})
		slog.WarnContext(ctx, "flow log action", append(attrs, "error", o.code+": "+o.msg)...)
	}
}

// emit writes the run's metrics. Coverage (tagged, covered, uncovered) is
// written only by runs that see every tagged VPC, so a run for one event's
// VPC does not pull the gauges down; a dry run writes only coverage.
func (r *Reconciler) emit(ctx context.Context, cfg settings.Enabler, t Target, res Result) {
	if r.Metrics == nil {
		return
	}
	var ms []metrics.Metric
	m := func(name string, v int) {
		ms = append(ms, metrics.Metric{Name: name, Value: float64(v), Unit: metrics.Count})
	}
	if t.VPCIDs == nil && !t.Teardown {
		m(metrics.TaggedVPCs, res.Tagged)
		m(metrics.CoveredVPCs, res.Covered)
		m(metrics.UncoveredVPCs, res.Tagged-res.Covered)
	}
	if !cfg.DryRun {
		m(metrics.FailedVPCs, res.Failed)
		m(metrics.PendingVPCs, res.Pending)
		m(metrics.CreatedFlowLogs, res.Created)
		m(metrics.ReplacedFlowLogs, res.Replaced)
		m(metrics.RemovedFlowLogs, res.Removed)
	}
	if len(ms) == 0 {
		return
	}
	ns := cfg.MetricsNamespace
	if ns == "" {
		ns = settings.DefaultMetricsNamespace
	}
	if err := metrics.Emit(r.Metrics, ns, nil, r.now(), ms...); err != nil {
		slog.ErrorContext(ctx, "writing metrics", "error", err.Error())
	}
}

// countingAPI counts the calls a run makes, for its summary.
type countingAPI struct {
	api   FlowLogAPI
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingAPI) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[op]++
}

func (c *countingAPI) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

func (c *countingAPI) DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	c.add("DescribeVpcs")
	return c.api.DescribeVpcs(ctx, in, opts...)
}

func (c *countingAPI) DescribeFlowLogs(ctx context.Context, in *ec2.DescribeFlowLogsInput, opts ...func(*ec2.Options)) (*ec2.DescribeFlowLogsOutput, error) {
	c.add("DescribeFlowLogs")
	return c.api.DescribeFlowLogs(ctx, in, opts...)
}

func (c *countingAPI) CreateFlowLogs(ctx context.Context, in *ec2.CreateFlowLogsInput, opts ...func(*ec2.Options)) (*ec2.CreateFlowLogsOutput, error) {
	c.add("CreateFlowLogs")
	return c.api.CreateFlowLogs(ctx, in, opts...)
}

func (c *countingAPI) DeleteFlowLogs(ctx context.Context, in *ec2.DeleteFlowLogsInput, opts ...func(*ec2.Options)) (*ec2.DeleteFlowLogsOutput, error) {
	c.add("DeleteFlowLogs")
	return c.api.DeleteFlowLogs(ctx, in, opts...)
}
