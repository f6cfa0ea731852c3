package org

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// AccountRegion is one unit of work: an account in a region.
type AccountRegion struct {
	Account string `json:"account"`
	Region  string `json:"region"`
}

func (a AccountRegion) String() string { return a.Account + "/" + a.Region }

// Cross lists every account × region, sorted by account then region.
func Cross(accounts, regions []string) []AccountRegion {
	out := make([]AccountRegion, 0, len(accounts)*len(regions))
	for _, a := range accounts {
		for _, r := range regions {
			out = append(out, AccountRegion{Account: a, Region: r})
		}
	}
	slices.SortFunc(out, func(x, y AccountRegion) int { return strings.Compare(x.String(), y.String()) })
	return slices.Compact(out)
}

// Class says why an account-region could not be worked on.
type Class string

// Classes of Outcome.
const (
	// ClassOK: the work succeeded.
	ClassOK Class = "ok"
	// ClassRoleUnavailable: AssumeRole was denied: the spoke role does
	// not exist yet (the StackSet instance is still deploying or failed),
	// its trust does not admit the hub, or an SCP denies it.
	ClassRoleUnavailable Class = "role-unavailable"
	// ClassDenied: a call in the spoke was denied (an SCP, such as a
	// region-deny policy, or the spoke role's permissions).
	ClassDenied Class = "denied"
	// ClassRegionNotEnabled: the region is an opt-in region the account
	// has not enabled, or credentials are not valid there.
	ClassRegionNotEnabled Class = "region-not-enabled"
	// ClassThrottled: the SDK's retries did not outlast the throttling.
	ClassThrottled Class = "throttled"
	// ClassOther: anything else, such as a deadline.
	ClassOther Class = "other"
)

// Outcome is what happened to one account-region.
type Outcome struct {
	AccountRegion
	Class Class `json:"class"`
	// Reason is the error's text, capped at MaxReasonLen; empty when OK.
	Reason string `json:"reason,omitempty"`
	// Code is the AWS error code, when there is one.
	Code     string        `json:"code,omitempty"`
	Duration time.Duration `json:"-"`
	Err      error         `json:"-"`
}

// MaxReasonLen caps an outcome's reason: AWS error messages can quote
// names chosen by others.
const MaxReasonLen = 512

// ForEach calls fn for each account-region, at most concurrency at a time
// (at least 1), and returns one Outcome per account-region in the order
// given. A failing account-region never stops the others; a cancelled ctx
// makes the ones not started yet fail with ctx's error, unstarted.
func ForEach(ctx context.Context, items []AccountRegion, concurrency int, fn func(context.Context, AccountRegion) error) []Outcome {
	out := make([]Outcome, len(items))
	sem := make(chan struct{}, max(1, concurrency))
	var wg sync.WaitGroup
	for i, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = NewOutcome(it, fmt.Errorf("not started: %w", ctx.Err()), 0)
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			err := fn(ctx, it)
			out[i] = NewOutcome(it, err, time.Since(start))
		}()
	}
	wg.Wait()
	return out
}

// NewOutcome classifies err (nil is OK) for it.
func NewOutcome(it AccountRegion, err error, d time.Duration) Outcome {
	o := Outcome{AccountRegion: it, Class: Classify(err), Duration: d, Err: err}
	if err != nil {
		o.Reason = clip(err.Error(), MaxReasonLen)
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			o.Code = clip(apiErr.ErrorCode(), 64)
		}
	}
	return o
}

// Codes by class. AssumeRole answers AccessDenied whatever the cause
// (no such role, a trust that does not admit the caller, an SCP); the
// caller cannot tell them apart, and neither can we.
var (
	regionCodes = map[string]bool{"OptInRequired": true, "AuthFailure": true, "InvalidClientTokenId": true, "UnrecognizedClientException": true}
	deniedCodes = map[string]bool{"UnauthorizedOperation": true, "AccessDenied": true, "AccessDeniedException": true}
)

// Classify says which Class err belongs to. An AccessDenied from STS
// (the credentials of the spoke role could not be had) is
// ClassRoleUnavailable; the same code from the spoke's services is
// ClassDenied.
func Classify(err error) Class {
	if err == nil {
		return ClassOK
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return ClassOther
	}
	code := apiErr.ErrorCode()
	fromSTS := stsInChain(err)
	switch {
	case fromSTS && (deniedCodes[code] || code == "RegionDisabledException"):
		if code == "RegionDisabledException" {
			return ClassRegionNotEnabled
		}
		return ClassRoleUnavailable
	case regionCodes[code]:
		return ClassRegionNotEnabled
	case deniedCodes[code]:
		return ClassDenied
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool():
		return ClassThrottled
	}
	return ClassOther
}

// stsInChain reports whether an STS operation error is anywhere in err's
// chain: an EC2 call whose credentials could not be had wraps the
// AssumeRole error.
func stsInChain(err error) bool {
	for e := err; e != nil; {
		var opErr *smithy.OperationError
		if !errors.As(e, &opErr) {
			return false
		}
		if opErr.ServiceID == "STS" {
			return true
		}
		e = opErr.Err
	}
	return false
}

// ClipReason cuts a reason to at most n runes, dropping invalid UTF-8.
func ClipReason(s string, n int) string { return clip(s, n) }
