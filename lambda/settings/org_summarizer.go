package settings

import "fmt"

// DigestQueueMaxReceiveCount is the maxReceiveCount of the summarizer work
// queue's redrive policy: the stack sets it, and the summarizer records an
// account-region as failed in the run's roll-up on that delivery, the last
// before the message goes to the dead-letter queue.
const DigestQueueMaxReceiveCount = 5

// SummarizerOrg is the organization mode of the summarizer (the hub's);
// the zero value (no organization id) is single-account mode.
type SummarizerOrg struct {
	OrganizationID string
	Targets        []string // OU ids (ou-…) or the root id (r-…)
	Regions        []string
	QueueURL       string // the summarizer's work queue
	HubAccount     string
}

// Enabled reports whether the summarizer runs in organization mode.
func (o SummarizerOrg) Enabled() bool { return o.OrganizationID != "" }

// SummarizerOrgFromEnv reads the summarizer's organization settings from
// the environment the stack sets, with the same variables, rules and
// reader as the enabler's (OrgEnablerFromEnv); without EnvOrganizationID it
// returns the zero value and reads nothing else.
func SummarizerOrgFromEnv(getenv func(string) string) (SummarizerOrg, error) {
	o, err := OrgEnablerFromEnv(getenv)
	if err != nil {
		return SummarizerOrg{}, fmt.Errorf("summarizer: %w", err)
	}
	return SummarizerOrg{OrganizationID: o.OrganizationID, Targets: o.Targets, Regions: o.Regions,
		QueueURL: o.WorkQueueURL, HubAccount: o.HubAccount}, nil
}
