package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// StackAPI is the part of the CloudFormation API the enabler calls;
// *cloudformation.Client satisfies it.
type StackAPI interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// codeStackNotFound is what DescribeStacks answers for a StackName that
// names no stack ("Stack with id ... does not exist"). Its only input is
// that name, so the code alone says it.
const codeStackNotFound = "ValidationError"

// goingStatuses are the statuses of a stack on its way out: deleted, being
// deleted, or a failed creation rolled back (which deletes everything it
// created). In all of them the delivery role is deleted or about to be, and
// the custom resource's Delete, which removes this stack's flow logs, has
// run or is running: a flow log created now would outlive the stack,
// delivering nowhere. ROLLBACK_FAILED is the same rollback stopped half way;
// such a stack can only be deleted. Every other status keeps the stack,
// including UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (a replaced custom resource
// gets its Delete then, and the next run must put the flow logs back) and
// CREATE_FAILED (rollback disabled: everything created stays).
var goingStatuses = map[cfntypes.StackStatus]bool{
	cfntypes.StackStatusDeleteInProgress:   true,
	cfntypes.StackStatusDeleteComplete:     true,
	cfntypes.StackStatusDeleteFailed:       true,
	cfntypes.StackStatusRollbackInProgress: true,
	cfntypes.StackStatusRollbackComplete:   true,
	cfntypes.StackStatusRollbackFailed:     true,
}

// StackCheck is the answer of CheckStack.
type StackCheck struct {
	// Status is the stack's status; "" when none was read.
	Status string
	// Stop says that the run must change nothing: the stack is going.
	Stop bool
	// Unknown says that no stack has the id.
	Unknown bool
}

// CheckStack says whether an event or sweep run may change flow logs, from
// the status of the owner stack: DescribeStacks by stack id, which answers
// for a deleted stack too (DELETE_COMPLETE; AWS keeps deleted stacks
// describable by id for 90 days).
//
// This closes the teardown race. An event that Lambda accepted before the
// rules were deleted can wait in the function's asynchronous queue behind
// the custom resource's Delete (reserved concurrency 1), or come back as an
// EventBridge retry, and run in the seconds before CloudFormation deletes
// the function and then the delivery role. By then the stack has been
// DELETE_IN_PROGRESS since the Delete was sent, and with one run at a time
// any run that read an earlier status ended before the Delete began, which
// removes what that run created.
//
// An error means no answer about the stack, and the run must not proceed:
// the caller returns it, so the invocation fails (the function's Errors
// alarm). The function has no asynchronous retries (the next sweep redoes
// the work from the state in AWS), so that event's work waits for the sweep. That includes AccessDenied: the
// stack grants this call on its own id, so a denial comes from outside it
// (a service control policy, a permissions boundary, a hand-edited role),
// and proceeding would reopen the race the check exists for. Throttling
// and 5xx answers are retried by the SDK's retryer before they get here.
//
// A stack id that names no stack (ValidationError) is an answer, and the
// run proceeds with Unknown set: the race needs a stack being deleted, which
// is always describable by its id, so an unknown id is a deployment whose
// owner is no stack (the local harness, a hand-wired function), not one
// being torn down. Stopping there would stop the tool for good with nothing
// to protect; the caller logs it as an error on every run instead.
func CheckStack(ctx context.Context, api StackAPI, stackID string) (StackCheck, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stackID)})
	if err != nil {
		if errorCode(err) == codeStackNotFound {
			return StackCheck{Unknown: true}, nil
		}
		return StackCheck{}, fmt.Errorf("describing stack %s: %w", stackID, err)
	}
	if len(out.Stacks) == 0 {
		return StackCheck{}, fmt.Errorf("describing stack %s: %w", stackID, errNoStackInAnswer)
	}
	status := out.Stacks[0].StackStatus
	return StackCheck{Status: string(status), Stop: goingStatuses[status]}, nil
}

var errNoStackInAnswer = errors.New("the answer holds no stack")

// stackGoing checks the owner stack before an event or sweep run and logs
// what it found. It returns a non-empty reason when the run must change
// nothing, and an error when the stack could not be checked. A Handler
// without Stacks skips the check.
func (h *Handler) stackGoing(ctx context.Context, trigger string) (string, error) {
	if h.Stacks == nil {
		return "", nil
	}
	owner := h.env.Owner
	c, err := CheckStack(ctx, h.Stacks, owner)
	switch {
	case err != nil:
		slog.ErrorContext(ctx, "could not check the stack: changing nothing", "trigger", trigger, "stackId", owner, "error", err.Error())
		return "", fmt.Errorf("checking that the stack is not being deleted: %w", err)
	case c.Unknown:
		slog.ErrorContext(ctx, "the owner names no stack: reconciling anyway (a stack being deleted is always found by its id)",
			"trigger", trigger, "stackId", owner)
		return "", nil
	case c.Stop:
		reason := "the stack is " + c.Status
		slog.WarnContext(ctx, "the stack is going: changing nothing", "trigger", trigger, "stackId", owner, "stackStatus", c.Status)
		return reason, nil
	}
	return "", nil
}
