package reconcile

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/vpcflowlogs/flowlogs/lambda/org"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Kinds and triggers of a work message.
const (
	kindSweep = "sweep"
	kindEvent = "event"
)

var (
	messageTriggers = []string{"sweep", "tag", "create", "delete-flow-logs"}
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8}([0-9a-f]{9})?$`)
)

// Bounds of a work message: SQS takes 256 KiB a message, and the body is
// checked like any input (only the hub's functions can send to the queue,
// but a bug or a replayed message must not become a key).
const (
	maxMessageBytes  = 64 * 1024
	maxMessageVPCIDs = 1000
)

// workMessage is the body of a message on the enabler's work queue. A
// sweep names one account and every region to cover in it ("regions"), so
// that one invocation assumes the account's role once for all its regions;
// "region" names one (an event, or a sweep of one region).
type workMessage struct {
	Kind    string   `json:"kind"`
	SweepID string   `json:"sweepId,omitempty"`
	Account string   `json:"account"`
	Region  string   `json:"region,omitempty"`
	Regions []string `json:"regions,omitempty"`
	Trigger string   `json:"trigger"`
	VPCIDs  []string `json:"vpcIds,omitempty"`
}

// parseMessage decodes and checks a work message: each error names the bad
// field. covers says which regions the hub covers.
func parseMessage(body string, covers func(string) bool) (workMessage, error) {
	if len(body) > maxMessageBytes {
		return workMessage{}, fmt.Errorf("message of %d bytes, at most %d", len(body), maxMessageBytes)
	}
	var m workMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return workMessage{}, fmt.Errorf("message is not a JSON work message: %w", err)
	}
	var errs []error
	if err := settings.ValidateAccountID(m.Account); err != nil {
		errs = append(errs, err)
	}
	if m.Region != "" {
		m.Regions = append(m.Regions, m.Region)
	}
	m.Regions = sortedUnique(m.Regions)
	if len(m.Regions) == 0 {
		errs = append(errs, errors.New("no region"))
	}
	for _, r := range m.Regions {
		if err := settings.ValidateRegion(r); err != nil {
			errs = append(errs, err)
		} else if !covers(r) {
			errs = append(errs, fmt.Errorf("region %q is not one the organization mode covers", r))
		}
	}
	if !slices.Contains(messageTriggers, m.Trigger) {
		errs = append(errs, fmt.Errorf("trigger %q, want one of %v", clipText(m.Trigger), messageTriggers))
	}
	switch m.Kind {
	case kindSweep:
		if err := runstate.ValidateSweepID(m.SweepID); err != nil {
			errs = append(errs, err)
		}
	case kindEvent:
		if len(m.VPCIDs) > maxMessageVPCIDs {
			errs = append(errs, fmt.Errorf("%d VPC ids, at most %d", len(m.VPCIDs), maxMessageVPCIDs))
		}
		for _, id := range m.VPCIDs {
			if !vpcIDPattern.MatchString(id) {
				errs = append(errs, fmt.Errorf("VPC id %q is not one", clipText(id)))
				break
			}
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q, want sweep or event", clipText(m.Kind)))
	}
	if err := errors.Join(errs...); err != nil {
		return workMessage{}, fmt.Errorf("work message: %w", err)
	}
	return m, nil
}

// accountRegions lists the message's account-regions.
func (m workMessage) accountRegions() []org.AccountRegion {
	return org.Cross([]string{m.Account}, m.Regions)
}

// clipText cuts hostile text for an error message.
func clipText(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
