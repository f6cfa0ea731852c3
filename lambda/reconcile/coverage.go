package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/metrics"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// CoverageLogsAPI is the part of CloudWatch Logs the coverage document
// needs; *cloudwatchlogs.Client satisfies it.
type CoverageLogsAPI interface {
	CreateLogStream(context.Context, *cloudwatchlogs.CreateLogStreamInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cloudwatchlogs.PutLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// Names of the coverage document and its metrics.
const (
	// CoverageStream is the digest group's stream of coverage documents.
	CoverageStream = "coverage"
	// MetricUnreachableAccountRegions counts the account-regions a sweep
	// could not reconcile. The organization mode also emits
	// metrics.CoveredVPCs, UncoveredVPCs, TaggedVPCs (VPCs in scope) and
	// FailedVPCs for the whole organization, without dimensions.
	MetricUnreachableAccountRegions = "UnreachableAccountRegions"
	// MaxCoveragePartBytes bounds one part of the document: a CloudWatch
	// Logs event takes 256 KiB less 26 bytes of overhead; a margin is
	// kept for the part's header.
	MaxCoveragePartBytes = 250_000
	// maxCoverageReasonLen caps an uncovered VPC's reason, which quotes
	// AWS's error messages.
	maxCoverageReasonLen = 256
)

// UncoveredVPC is a VPC in scope without a covering flow log, and why.
type UncoveredVPC struct {
	VPCID  string `json:"vpcId"`
	Code   string `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// CoverageCounts are one account-region's VPCs by where they stand; they
// are exact even when the lists are cut.
type CoverageCounts struct {
	CoveredByUs       int `json:"coveredByUs"`
	CoveredByOthers   int `json:"coveredByOthers"`
	Uncovered         int `json:"uncovered"`
	OutOfScope        int `json:"outOfScope"`
	OutOfScopeCovered int `json:"outOfScopeCovered"`
	// Failed counts the VPCs whose flow log creation, replacement or
	// removal failed in the sweep (Result.Failed, which single-account
	// runs emit as metrics.FailedVPCs); each is also counted where it
	// stands (a failed creation leaves its VPC uncovered).
	Failed int `json:"failed"`
}

func (c *CoverageCounts) add(o CoverageCounts) {
	c.CoveredByUs += o.CoveredByUs
	c.CoveredByOthers += o.CoveredByOthers
	c.Uncovered += o.Uncovered
	c.OutOfScope += o.OutOfScope
	c.OutOfScopeCovered += o.OutOfScopeCovered
	c.Failed += o.Failed
}

// AccountRegionCoverage is one account-region in the coverage document.
type AccountRegionCoverage struct {
	Account     string `json:"account"`
	AccountName string `json:"accountName,omitempty"`
	Region      string `json:"region"`
	// Reachable is false when the account-region could not be
	// reconciled; Class, Code and Reason say why.
	Reachable         bool           `json:"reachable"`
	Class             org.Class      `json:"class,omitempty"`
	Code              string         `json:"code,omitempty"`
	Reason            string         `json:"reason,omitempty"`
	Counts            CoverageCounts `json:"counts"`
	CoveredByUs       []string       `json:"coveredByUs,omitempty"`
	CoveredByOthers   []string       `json:"coveredByOthers,omitempty"`
	Uncovered         []UncoveredVPC `json:"uncovered,omitempty"`
	OutOfScope        []string       `json:"outOfScope,omitempty"`
	OutOfScopeCovered []string       `json:"outOfScopeCovered,omitempty"`
	// Truncated says that the lists were cut to fit the item; the counts
	// are still exact.
	Truncated bool `json:"truncated,omitempty"`
}

// newAccountRegionCoverage is an account-region's entry from its outcome
// and, when reachable, its run's inventory. VPC ids come from the spoke's
// EC2 and are checked for their shape; reasons are capped.
func newAccountRegionCoverage(out org.Outcome, res Result) AccountRegionCoverage {
	c := AccountRegionCoverage{Account: out.Account, Region: out.Region, Reachable: out.Class == org.ClassOK}
	if !c.Reachable || res.Inventory == nil {
		c.Reachable, c.Class, c.Code, c.Reason = false, out.Class, out.Code, out.Reason
		return c
	}
	inv := res.Inventory
	c.CoveredByUs, c.CoveredByOthers = vpcIDs(inv.Ours), vpcIDs(inv.Others)
	c.OutOfScope, c.OutOfScopeCovered = vpcIDs(inv.OutOfScope), vpcIDs(inv.OutOfScopeCovered)
	for _, f := range inv.Uncovered {
		if vpcIDPattern.MatchString(f.VPCID) {
			c.Uncovered = append(c.Uncovered, UncoveredVPC{VPCID: f.VPCID, Code: clipText(f.Code),
				Reason: org.ClipReason(f.Message, maxCoverageReasonLen)})
		}
	}
	c.Counts = CoverageCounts{CoveredByUs: len(c.CoveredByUs), CoveredByOthers: len(c.CoveredByOthers),
		Uncovered: len(c.Uncovered), OutOfScope: len(c.OutOfScope), OutOfScopeCovered: len(c.OutOfScopeCovered),
		Failed: res.Failed}
	return c
}

func vpcIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if vpcIDPattern.MatchString(id) {
			out = append(out, id)
		}
	}
	return out
}

// encode is the entry as JSON within limit bytes: the lists are halved
// until it fits, and the counts stay exact.
func (c AccountRegionCoverage) encode(limit int) ([]byte, error) {
	for {
		b, err := json.Marshal(c)
		if err != nil || len(b) <= limit {
			return b, err
		}
		if len(c.CoveredByUs)+len(c.CoveredByOthers)+len(c.Uncovered)+len(c.OutOfScope)+len(c.OutOfScopeCovered) == 0 {
			return nil, fmt.Errorf("coverage of %s/%s is %d bytes without any list, at most %d", c.Account, c.Region, len(b), limit)
		}
		c.Truncated = true
		c.CoveredByUs, c.CoveredByOthers = c.CoveredByUs[:len(c.CoveredByUs)/2], c.CoveredByOthers[:len(c.CoveredByOthers)/2]
		c.Uncovered, c.OutOfScope = c.Uncovered[:len(c.Uncovered)/2], c.OutOfScope[:len(c.OutOfScope)/2]
		c.OutOfScopeCovered = c.OutOfScopeCovered[:len(c.OutOfScopeCovered)/2]
	}
}

// finishAccount records the coverage of an account's finished regions in
// the sweep (one transaction) and, when they are the last, writes the
// coverage document.
func (h *Handler) finishAccount(ctx context.Context, sweepID, account string, outs []org.Outcome, results []Result) error {
	if len(outs) == 0 {
		return nil
	}
	regions := make([]runstate.RegionCoverage, len(outs))
	for i, out := range outs {
		b, err := newAccountRegionCoverage(out, results[i]).encode(runstate.MaxCoverageBytes)
		if err != nil {
			return err
		}
		regions[i] = runstate.RegionCoverage{Region: out.Region, Coverage: b}
	}
	last, err := h.org.Sweeps.FinishAccount(ctx, sweepID, account, regions)
	if err != nil || !last {
		return err
	}
	return h.writeCoverage(ctx, sweepID)
}

// CoverageTotals sum the organization's coverage.
type CoverageTotals struct {
	AccountRegions int               `json:"accountRegions"`
	Reachable      int               `json:"reachable"`
	Unreachable    int               `json:"unreachable"`
	ByClass        map[org.Class]int `json:"unreachableByClass,omitempty"`
	VPCs           CoverageCounts    `json:"vpcs"`
}

// CoverageDocument is one part of a sweep's coverage document: every part
// carries the totals, and the account-regions are spread over the parts.
type CoverageDocument struct {
	Kind           string                  `json:"kind"` // "coverage"
	SweepID        string                  `json:"sweepId"`
	OrganizationID string                  `json:"organizationId"`
	GeneratedAt    time.Time               `json:"generatedAt"`
	ComplianceMode bool                    `json:"complianceMode"`
	Part           int                     `json:"part"`
	Parts          int                     `json:"parts"`
	Totals         CoverageTotals          `json:"totals"`
	AccountRegions []json.RawMessage       `json:"accountRegions"`
	entries        []AccountRegionCoverage `json:"-"`
}

// writeCoverage assembles the sweep's coverage from its items, writes it to
// the digest group (stream CoverageStream) in parts of at most
// MaxCoveragePartBytes, and emits the organization's metrics.
func (h *Handler) writeCoverage(ctx context.Context, sweepID string) error {
	o := h.org
	members, err := o.Sweeps.Members(ctx, sweepID)
	if err != nil {
		return err
	}
	doc := CoverageDocument{Kind: "coverage", SweepID: sweepID, OrganizationID: o.Settings.OrganizationID,
		GeneratedAt: o.now().UTC(), ComplianceMode: h.env.ComplianceMode, Totals: CoverageTotals{ByClass: map[org.Class]int{}}}
	// Names for the document: this process's listing, unless it lacks one
	// of the sweep's accounts (none yet, or the account joined after
	// another process discovered the organization for this sweep); then
	// one discovery, at most one a document.
	names := o.accountNames()
	if slices.ContainsFunc(members, func(m runstate.SweepMember) bool { _, ok := names[m.Account]; return !ok }) {
		if _, err := o.discover(ctx); err != nil {
			slog.WarnContext(ctx, "coverage document without some account names", "error", err.Error())
		}
		names = o.accountNames()
	}
	for _, m := range members {
		var c AccountRegionCoverage
		if err := json.Unmarshal(m.Coverage, &c); err != nil {
			return fmt.Errorf("decoding the coverage of %s/%s: %w", m.Account, m.Region, err)
		}
		// The item's key, not its body, says which account-region it is.
		c.Account, c.Region, c.AccountName = m.Account, m.Region, names[m.Account]
		doc.add(c)
	}
	parts, err := doc.split()
	if err != nil {
		return err
	}
	if err := o.putCoverage(ctx, parts); err != nil {
		return err
	}
	h.emitCoverage(ctx, doc.Totals)
	slog.InfoContext(ctx, "coverage document written", "sweepId", sweepID, "parts", len(parts),
		"accountRegions", doc.Totals.AccountRegions, "unreachable", doc.Totals.Unreachable,
		"uncoveredVPCs", doc.Totals.VPCs.Uncovered, "failedVPCs", doc.Totals.VPCs.Failed)
	return nil
}

func (d *CoverageDocument) add(c AccountRegionCoverage) {
	d.Totals.AccountRegions++
	if c.Reachable {
		d.Totals.Reachable++
	} else {
		d.Totals.Unreachable++
		d.Totals.ByClass[c.Class]++
	}
	d.Totals.VPCs.add(c.Counts)
	d.entries = append(d.entries, c)
}

// split lays the entries out in parts, each a whole JSON document of at
// most MaxCoveragePartBytes, in account then region order.
func (d *CoverageDocument) split() ([][]byte, error) {
	slices.SortFunc(d.entries, func(a, b AccountRegionCoverage) int {
		return strings.Compare(a.Account+"/"+a.Region, b.Account+"/"+b.Region)
	})
	head, err := json.Marshal(CoverageDocument{Kind: d.Kind, SweepID: d.SweepID, OrganizationID: d.OrganizationID,
		GeneratedAt: d.GeneratedAt, Part: 99999, Parts: 99999, Totals: d.Totals})
	if err != nil {
		return nil, err
	}
	budget := MaxCoveragePartBytes - len(head)
	var groups [][]json.RawMessage
	var cur []json.RawMessage
	size := 0
	for _, c := range d.entries {
		b, err := c.encode(runstate.MaxCoverageBytes)
		if err != nil {
			return nil, err
		}
		if len(cur) > 0 && size+len(b)+1 > budget {
			groups, cur, size = append(groups, cur), nil, 0
		}
		cur, size = append(cur, b), size+len(b)+1
	}
	groups = append(groups, cur)
	out := make([][]byte, 0, len(groups))
	for i, g := range groups {
		part := *d
		part.Part, part.Parts, part.AccountRegions = i+1, len(groups), g
		if part.AccountRegions == nil {
			part.AccountRegions = []json.RawMessage{}
		}
		b, err := json.Marshal(part)
		if err != nil {
			return nil, fmt.Errorf("encoding coverage part %d: %w", i+1, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// putCoverage writes the parts as one event each, in order.
func (o *OrgMode) putCoverage(ctx context.Context, parts [][]byte) error {
	group := o.Settings.DigestLogGroupName
	_, err := o.Logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(CoverageStream)})
	var exists *logtypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("creating stream %s of %s: %w", CoverageStream, group, err)
	}
	ts := o.now().UnixMilli()
	for i, p := range parts {
		_, err := o.Logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(CoverageStream),
			LogEvents: []logtypes.InputLogEvent{{Message: aws.String(string(p)), Timestamp: aws.Int64(ts)}},
		})
		if err != nil {
			return fmt.Errorf("writing coverage part %d of %d to %s: %w", i+1, len(parts), group, err)
		}
	}
	return nil
}

// emitCoverage writes the organization's coverage metrics, without
// dimensions: one metric each, whatever the number of accounts and VPCs.
// FailedVPCs is the sum over the sweep's account-regions, written once per
// sweep, here only: the account-regions' runs write no metrics (spokeRun),
// since a value per message would be one account's, and a message
// delivered again would write it twice. As in single-account mode, a dry
// run writes no FailedVPCs.
func (h *Handler) emitCoverage(ctx context.Context, t CoverageTotals) {
	if h.org.Metrics == nil {
		return
	}
	v := t.VPCs
	ms := []metrics.Metric{
		{Name: metrics.TaggedVPCs, Value: float64(v.CoveredByUs + v.CoveredByOthers + v.Uncovered), Unit: metrics.Count},
		{Name: metrics.CoveredVPCs, Value: float64(v.CoveredByUs + v.CoveredByOthers), Unit: metrics.Count},
		{Name: metrics.UncoveredVPCs, Value: float64(v.Uncovered), Unit: metrics.Count},
		{Name: MetricUnreachableAccountRegions, Value: float64(t.Unreachable), Unit: metrics.Count},
	}
	if !h.env.DryRun {
		ms = append(ms, metrics.Metric{Name: metrics.FailedVPCs, Value: float64(v.Failed), Unit: metrics.Count})
	}
	ns := h.env.MetricsNamespace
	if ns == "" {
		ns = settings.DefaultMetricsNamespace
	}
	if err := metrics.Emit(h.org.Metrics, ns, nil, h.org.now(), ms...); err != nil {
		slog.ErrorContext(ctx, "writing the coverage metrics", "error", err.Error())
	}
}

// accountNames are the names of the accounts last discovered.
func (o *OrgMode) accountNames() map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts == nil {
		return nil
	}
	out := make(map[string]string, len(o.accounts))
	for id, a := range o.accounts {
		out[id] = a.Name
	}
	return out
}
