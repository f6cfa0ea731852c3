package settings

import (
	"errors"
	"fmt"
	"regexp"
)

// OrgEnabler is what the hub's enabler reads in organization mode, besides
// the Enabler settings it shares with the single-account mode. The
// validators here are the functions' readers; the stack validates the same
// context keys (org_validate.go).
type OrgEnabler struct {
	OrganizationID string   // o-…
	Targets        []string // OU ids (ou-…) or the root id (r-…)
	Regions        []string // the regions to cover
	WorkQueueURL   string   // the enabler's SQS work queue
	HubAccount     string   // the hub's account id
	// StateTable keeps the sweeps' coverage items and counters.
	StateTable string
	// DigestLogGroupName receives the coverage document (stream
	// CoverageStream).
	DigestLogGroupName string
}

// Enabled reports whether organization mode is on.
func (o OrgEnabler) Enabled() bool { return o.OrganizationID != "" }

// Shapes the readers check (the Organizations API reference's patterns).
var (
	orgReadIDPattern     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	orgReadTargetPattern = regexp.MustCompile(`^(r-[a-z0-9]{4,32}|ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$`)
	// A queue URL: the endpoint (https in AWS, http for a local emulator),
	// the owner account and the queue name.
	orgReadQueuePattern = regexp.MustCompile(`^https?://[A-Za-z0-9.:-]+/[0-9]{12}/[A-Za-z0-9_-]{1,80}$`)
)

// orgReadMaxTargets and orgReadMaxRegions bound the lists a function reads:
// the stack's validators bound them further.
const (
	orgReadMaxTargets = 1000
	orgReadMaxRegions = 64
)

// OrgEnablerFromEnv reads the organization settings of the enabler. With
// ORGANIZATION_ID unset it returns the zero OrgEnabler (single-account
// mode) and reads nothing else.
func OrgEnablerFromEnv(getenv func(string) string) (OrgEnabler, error) {
	r := NewReader("", Getenv(getenv))
	o := OrgEnabler{OrganizationID: r.String(EnvOrganizationID, "", orgReadMatch(orgReadIDPattern, "want o- and 10 to 32 lower-case letters or digits"))}
	if o.OrganizationID == "" {
		return OrgEnabler{}, nil
	}
	o.Targets = r.List(EnvOrganizationTargets, nil, orgReadEach(orgReadTargetPattern, orgReadMaxTargets, "want OU ids (ou-…) or the root id (r-…)"))
	o.Regions = r.List(EnvOrganizationRegions, nil, orgReadRegions)
	o.WorkQueueURL = r.String(EnvWorkQueueURL, "", orgReadMatch(orgReadQueuePattern, "want an SQS queue URL"))
	o.HubAccount = r.String(EnvHubAccount, "", ValidateAccountID)
	o.StateTable = r.String(EnvStateTable, "", ValidateTableName)
	o.DigestLogGroupName = r.String(EnvSummaryLogGroupName, "", ValidateLogGroupName)
	for key, v := range map[string]string{EnvWorkQueueURL: o.WorkQueueURL, EnvHubAccount: o.HubAccount,
		EnvStateTable: o.StateTable, EnvSummaryLogGroupName: o.DigestLogGroupName} {
		if v == "" {
			r.Fail(key, "", "required in organization mode")
		}
	}
	if len(o.Targets) == 0 {
		r.Fail(EnvOrganizationTargets, "", "want at least one OU or root id in organization mode")
	}
	if len(o.Regions) == 0 {
		r.Fail(EnvOrganizationRegions, "", "want at least one region in organization mode")
	}
	if err := r.Err(); err != nil {
		return OrgEnabler{}, fmt.Errorf("organization configuration from the environment: %w", err)
	}
	return o, nil
}

// ComplianceModeFromEnv reads COMPLIANCE_MODE: true covers every VPC
// whatever its tags, in both modes. Unset is false.
func ComplianceModeFromEnv(getenv func(string) string) (bool, error) {
	r := NewReader("", Getenv(getenv))
	on := r.Bool(EnvComplianceMode, false)
	return on, r.Err()
}

func orgReadMatch(re *regexp.Regexp, want string) func(string) error {
	return func(s string) error {
		if !re.MatchString(s) {
			return errors.New(want)
		}
		return nil
	}
}

func orgReadEach(re *regexp.Regexp, limit int, want string) func([]string) error {
	return func(l []string) error {
		if len(l) > limit {
			return fmt.Errorf("%d values, want at most %d", len(l), limit)
		}
		for _, s := range l {
			if !re.MatchString(s) {
				return fmt.Errorf("%q: %s", s, want)
			}
		}
		return nil
	}
}

func orgReadRegions(l []string) error {
	if len(l) > orgReadMaxRegions {
		return fmt.Errorf("%d regions, want at most %d", len(l), orgReadMaxRegions)
	}
	for _, s := range l {
		if err := ValidateRegion(s); err != nil {
			return err
		}
	}
	return nil
}
