package settings

import (
	"strings"
	"testing"
)

// TestOrgEnablerFromEnv proves that the organization mode is off without
// ORGANIZATION_ID whatever else is set, that a complete environment reads,
// and that each bad or missing value is an error naming its variable.
func TestOrgEnablerFromEnv(t *testing.T) {
	good := map[string]string{
		EnvOrganizationID: "o-abcdefghij", EnvOrganizationTargets: `["ou-ab12-abcdefgh","r-ab12"]`,
		EnvOrganizationRegions: `["us-east-1","eu-west-1"]`, EnvWorkQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/work",
		EnvHubAccount: "123456789012", EnvStateTable: "State", EnvSummaryLogGroupName: "/vpc/flow-logs/digests",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		enabled bool
		wantErr string
	}{
		{"single-account mode", map[string]string{EnvOrganizationTargets: "nonsense"}, false, ""},
		{"complete", good, true, ""},
		{"bad organization id", with(EnvOrganizationID, "o-x"), false, EnvOrganizationID},
		{"an account id as a target", with(EnvOrganizationTargets, `["123456789012"]`), false, EnvOrganizationTargets},
		{"no targets", with(EnvOrganizationTargets, ""), false, EnvOrganizationTargets},
		{"a bad region", with(EnvOrganizationRegions, `["us east 1"]`), false, EnvOrganizationRegions},
		{"no queue", with(EnvWorkQueueURL, ""), false, EnvWorkQueueURL},
		{"a queue URL with a newline", with(EnvWorkQueueURL, "https://sqs/123456789012/work\n"), false, EnvWorkQueueURL},
		{"a bad hub account", with(EnvHubAccount, "12"), false, EnvHubAccount},
		{"no state table", with(EnvStateTable, ""), false, EnvStateTable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := OrgEnablerFromEnv(func(k string) string { return tc.env[k] })
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
			case o.Enabled() != tc.enabled:
				t.Errorf("enabled %v, want %v", o.Enabled(), tc.enabled)
			}
		})
	}
}

// TestComplianceModeFromEnv proves the reading of COMPLIANCE_MODE.
func TestComplianceModeFromEnv(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    bool
		wantErr bool
	}{{"", false, false}, {"true", true, false}, {"false", false, false}, {"yes", false, true}} {
		t.Run(tc.value, func(t *testing.T) {
			on, err := ComplianceModeFromEnv(func(string) string { return tc.value })
			if on != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("%q: %v, %v; want %v, error %v", tc.value, on, err, tc.want, tc.wantErr)
			}
		})
	}
}
