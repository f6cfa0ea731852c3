package settings

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// DigestQueueMaxReceiveCount is the maxReceiveCount of the summarizer work
// queue's redrive policy: the stack sets it, and the summarizer records an
// account-region as failed in the run's roll-up on that delivery, the last
// before the message goes to the dead-letter queue.
const DigestQueueMaxReceiveCount = 3

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

// Shapes of Organizations ids (the Organizations API reference).
var (
	summarizerOrgIDShape     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	summarizerOrgTargetShape = regexp.MustCompile(`^(r-[a-z0-9]{4,32}|ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$`)
)

// SummarizerOrgFromEnv reads the summarizer's organization settings from
// the environment the stack sets; without EnvOrganizationID it returns the
// zero value and reads nothing else.
func SummarizerOrgFromEnv(getenv func(string) string) (SummarizerOrg, error) {
	r := NewReader("", Getenv(getenv))
	o := SummarizerOrg{OrganizationID: r.String(EnvOrganizationID, "")}
	if !o.Enabled() {
		return o, nil
	}
	o.Targets = r.List(EnvOrganizationTargets, nil)
	o.Regions = r.List(EnvOrganizationRegions, nil)
	o.QueueURL = r.String(EnvWorkQueueURL, "")
	o.HubAccount = r.String(EnvHubAccount, "")
	if err := errors.Join(r.Err(), o.validate()); err != nil {
		return SummarizerOrg{}, fmt.Errorf("summarizer organization configuration from the environment: %w", err)
	}
	return o, nil
}

func (o SummarizerOrg) validate() error {
	var errs []error
	fail := func(key, value, want string) {
		errs = append(errs, fmt.Errorf("%s=%s: %s", key, value, want))
	}
	if !summarizerOrgIDShape.MatchString(o.OrganizationID) {
		fail(EnvOrganizationID, o.OrganizationID, "want an organization id, o- and 10 to 32 lower-case letters or digits")
	}
	if len(o.Targets) == 0 {
		fail(EnvOrganizationTargets, "", "want at least one OU id or the root id")
	}
	for _, t := range o.Targets {
		if !summarizerOrgTargetShape.MatchString(t) {
			fail(EnvOrganizationTargets, t, "want an OU id (ou-…) or the root id (r-…)")
		}
	}
	if len(o.Regions) == 0 {
		fail(EnvOrganizationRegions, "", "want at least one region")
	}
	for _, rg := range o.Regions {
		if err := ValidateRegion(rg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", EnvOrganizationRegions, err))
		}
	}
	if err := ValidateAccountID(o.HubAccount); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvHubAccount, err))
	}
	if !queueURL(o.QueueURL) {
		fail(EnvWorkQueueURL, o.QueueURL, "want the SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
	}
	return errors.Join(errs...)
}

// queueURL accepts an https URL, or plain http to a loopback host (a local
// emulator's queue).
func queueURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	host := u.Hostname()
	return u.Scheme == "https" || (u.Scheme == "http" && (host == "localhost" || strings.HasPrefix(host, "127.")))
}
