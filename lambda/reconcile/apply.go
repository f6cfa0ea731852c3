package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// status is where one step ended.
type status int

const (
	statusPlanned status = iota
	statusDone
	statusFailed
	statusPending // the deadline came first; the next sweep finishes it
	statusCovered // CreateFlowLogs said it already exists, and a re-check found it covered
)

// outcome is one step and where it ended.
type outcome struct {
	Step
	status    status
	flowLogID string // the created flow log, when known
	code, msg string
}

// applier carries out a plan's steps.
type applier struct {
	r       *Reconciler
	api     FlowLogAPI
	cfg     settings.Enabler
	run     string // this run's id, for ClientToken
	splits  int    // calls left for isolating a culprit in a batch
	steps   map[string]*outcome
	owner   map[string]string // flow log id -> VPC id of the step deleting it
	recheck []string          // VPCs whose creation met FlowLogAlreadyExists
}

func (r *Reconciler) apply(ctx context.Context, api FlowLogAPI, cfg settings.Enabler, p Plan) []*outcome {
	a := &applier{r: r, api: api, cfg: cfg, run: runID(ctx), splits: r.maxSplitCalls(),
		steps: map[string]*outcome{}, owner: map[string]string{}}
	var order []*outcome
	var deletes []string
	for _, s := range p.Steps {
		o := &outcome{Step: s}
		a.steps[s.VPCID] = o
		order = append(order, o)
		for _, id := range s.Delete {
			a.owner[id] = s.VPCID
			deletes = append(deletes, id)
		}
	}

	slices.Sort(deletes)
	for chunk := range slices.Chunk(deletes, r.batchSize()) {
		a.delete(ctx, chunk)
	}
	// A step whose deletes all went through is done (remove) or goes on to
	// create (replace).
	var creates []string
	for _, o := range order {
		if o.status != statusPlanned {
			continue
		}
		switch o.Action {
		case ActionRemove:
			o.status = statusDone
			o.flowLogID = strings.Join(o.Delete, ",")
		case ActionCreate, ActionReplace:
			creates = append(creates, o.VPCID)
		}
	}
	for chunk := range slices.Chunk(creates, r.batchSize()) {
		a.create(ctx, chunk)
	}
	a.recheckExisting(ctx)
	return order
}

// delete deletes flow logs, splitting the batch when one flow log fails it
// as a whole.
func (a *applier) delete(ctx context.Context, ids []string) {
	if ctx.Err() != nil {
		a.settleDeletes(ids, statusPending, codeDeadline, "the deadline came before the flow logs were deleted")
		return
	}
	out, err := a.api.DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: ids})
	if err != nil {
		if ctx.Err() != nil {
			a.settleDeletes(ids, statusPending, codeDeadline, "the deadline came while deleting: "+err.Error())
			return
		}
		code := errorCode(err)
		if len(ids) == 1 && code == codeFlowLogNotFound {
			return // already gone: what was wanted
		}
		if perItemDelete[code] && len(ids) > 1 && a.split() {
			a.delete(ctx, ids[:len(ids)/2])
			a.delete(ctx, ids[len(ids)/2:])
			return
		}
		a.settleDeletes(ids, statusFailed, codeOf(err), messageOf(err))
		return
	}
	for _, u := range out.Unsuccessful {
		code, msg := unsuccessful(u)
		if code == codeFlowLogNotFound {
			continue
		}
		a.settleDeletes([]string{aws.ToString(u.ResourceId)}, statusFailed, code, msg)
	}
}

// settleDeletes ends the steps that wanted the given flow logs deleted.
func (a *applier) settleDeletes(ids []string, st status, code, msg string) {
	for _, id := range ids {
		if o := a.steps[a.owner[id]]; o != nil && o.status == statusPlanned {
			o.status, o.code, o.msg = st, code, "deleting "+id+": "+msg
		}
	}
}

// create creates flow logs on the given VPCs, splitting the batch when one
// VPC fails it as a whole, so that the others still get theirs.
func (a *applier) create(ctx context.Context, vpcs []string) {
	if ctx.Err() != nil {
		a.settle(vpcs, statusPending, codeDeadline, "the deadline came before the flow log was created")
		return
	}
	out, err := a.api.CreateFlowLogs(ctx, a.createInput(vpcs))
	if err != nil {
		if ctx.Err() != nil {
			a.settle(vpcs, statusPending, codeDeadline, "the deadline came while creating: "+err.Error())
			return
		}
		code := errorCode(err)
		if perItemCreate[code] && len(vpcs) > 1 && a.split() {
			a.create(ctx, vpcs[:len(vpcs)/2])
			a.create(ctx, vpcs[len(vpcs)/2:])
			return
		}
		if code == codeAlreadyExists && len(vpcs) == 1 {
			a.recheck = append(a.recheck, vpcs[0])
			return
		}
		a.settle(vpcs, statusFailed, codeOf(err), messageOf(err))
		return
	}
	failed := map[string]bool{}
	for _, u := range out.Unsuccessful {
		id := aws.ToString(u.ResourceId)
		failed[id] = true
		code, msg := unsuccessful(u)
		if code == codeAlreadyExists {
			a.recheck = append(a.recheck, id)
			continue
		}
		a.settle([]string{id}, statusFailed, code, msg)
	}
	for _, id := range vpcs {
		if o := a.steps[id]; o != nil && !failed[id] && o.status == statusPlanned {
			o.status = statusDone
			// CreateFlowLogs does not say which id belongs to which VPC,
			// so the id is logged only when the batch had one VPC.
			if len(vpcs) == 1 && len(out.FlowLogIds) == 1 {
				o.flowLogID = out.FlowLogIds[0]
			}
		}
	}
}

// recheckExisting describes the VPCs whose creation met
// FlowLogAlreadyExists: those with a flow log that covers them are covered.
func (a *applier) recheckExisting(ctx context.Context) {
	if len(a.recheck) == 0 {
		return
	}
	ids := sortedUnique(a.recheck)
	fls, err := a.r.describeFlowLogs(ctx, a.api, ids)
	if err != nil {
		a.settle(ids, statusFailed, codeAlreadyExists, "a flow log already exists, and describing it failed: "+err.Error())
		return
	}
	covering := map[string]string{}
	for _, fl := range fls {
		if home := a.r.home(a.cfg); Covers(fl, a.cfg, home) && (!IsOwned(fl, a.cfg.Owner) || StaleReason(fl, a.cfg, home) == "") {
			covering[aws.ToString(fl.ResourceId)] = aws.ToString(fl.FlowLogId)
		}
	}
	for _, id := range ids {
		o := a.steps[id]
		if o == nil || o.status != statusPlanned {
			continue
		}
		if fl, ok := covering[id]; ok {
			o.status, o.flowLogID = statusCovered, fl
		} else {
			o.status, o.code, o.msg = statusFailed, codeAlreadyExists,
				"AWS reports a flow log with the same destination, and none delivers "+a.cfg.TrafficType+" traffic to "+destinationName(a.cfg)
		}
	}
}

func (a *applier) settle(vpcs []string, st status, code, msg string) {
	for _, id := range vpcs {
		if o := a.steps[id]; o != nil && o.status == statusPlanned {
			o.status, o.code, o.msg = st, code, msg
		}
	}
}

// split spends two calls of the budget for isolating culprits. Without a
// budget, a batch that fails for every VPC (a missing iam:PassRole fails
// each one with UnauthorizedOperation) would cost two calls per VPC.
func (a *applier) split() bool {
	if a.splits < 2 {
		return false
	}
	a.splits -= 2
	return true
}

func (a *applier) createInput(vpcs []string) *ec2.CreateFlowLogsInput {
	in := &ec2.CreateFlowLogsInput{
		ResourceIds:              vpcs,
		ResourceType:             types.FlowLogsResourceTypeVpc,
		TrafficType:              types.TrafficType(a.cfg.TrafficType),
		LogDestinationType:       types.LogDestinationTypeCloudWatchLogs,
		LogGroupName:             aws.String(a.cfg.LogGroupName),
		DeliverLogsPermissionArn: aws.String(a.cfg.DeliveryRoleARN),
		MaxAggregationInterval:   aws.Int32(int32(a.cfg.MaxAggregationInterval)),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeVpcFlowLog,
			Tags:         []types.Tag{{Key: aws.String(settings.OwnerTagKey), Value: aws.String(a.cfg.Owner)}},
		}},
	}
	if a.cfg.LogFormat != "" {
		in.LogFormat = aws.String(a.cfg.LogFormat)
	}
	if a.cfg.Destination.IsS3() {
		setS3Destination(in, a.cfg.Destination)
	}
	var replaced []string
	for _, id := range vpcs {
		if o := a.steps[id]; o != nil {
			replaced = append(replaced, o.Delete...)
		}
	}
	in.ClientToken = aws.String(ClientToken(a.run, a.cfg, vpcs, replaced))
	return in
}

// runID names one run for ClientToken: the Lambda request id when there is
// one, and a random nonce always. The request id alone would not do: Lambda
// retries a failed asynchronous invocation with the same request id, for up
// to six hours.
func runID(ctx context.Context) string {
	id := rand.Text()
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		id = lc.AwsRequestID + "/" + id
	}
	return id
}

// ClientToken is the idempotency token of one CreateFlowLogs call: a hash
// of the run, the owner, the flow log settings, the batch's VPCs and the
// flow logs it replaces. The SDK resends a call with its token, so a retry
// after a lost answer cannot create twice. Another run gets another token:
// EC2 answers a token it has seen with the first call's result and creates
// nothing, so a tag removed and added again, or a flow log deleted by
// someone else, would otherwise never get its flow log back.
func ClientToken(run string, cfg settings.Enabler, vpcs, replaced []string) string {
	h := sha256.New()
	for _, part := range append([]string{
		run, cfg.Owner, cfg.LogGroupName, cfg.DeliveryRoleARN, cfg.TrafficType,
		strconv.Itoa(cfg.MaxAggregationInterval), cfg.LogFormat,
		strings.Join(sortedUnique(vpcs), ","), strings.Join(sortedUnique(replaced), ","),
	}, destinationTokenParts(cfg.Destination)...) {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)) // 64 characters, EC2's maximum
}

func unsuccessful(u types.UnsuccessfulItem) (code, msg string) {
	if u.Error == nil {
		return "Unknown", "no error details"
	}
	return aws.ToString(u.Error.Code), aws.ToString(u.Error.Message)
}

func codeOf(err error) string {
	if c := errorCode(err); c != "" {
		return c
	}
	return "Error"
}

func messageOf(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return err.Error()
}
