package settings_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// The summarizer reads organization mode from the variables the enabler
// reads: unset means single-account mode (nothing else read), a valid set
// gives every value, and a bad value is an error naming the variable.
func TestSummarizerOrgFromEnv(t *testing.T) {
	valid := map[string]string{
		settings.EnvOrganizationID:      "o-abcdefghij",
		settings.EnvOrganizationTargets: `["ou-ab12-abcdefgh","r-ab12"]`,
		settings.EnvOrganizationRegions: `["us-east-1","eu-west-1"]`,
		settings.EnvWorkQueueURL:        "https://sqs.us-east-1.amazonaws.com/123456789012/summarizer-work",
		settings.EnvHubAccount:          "123456789012",
		settings.EnvStateTable:          "VpcFlowLogs-State",
		settings.EnvSummaryLogGroupName: "/vpc/flow-logs/digests",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for key, val := range valid {
			m[key] = val
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
		{"single-account mode", map[string]string{settings.EnvWorkQueueURL: "not read"}, false, ""},
		{"organization mode", valid, true, ""},
		{"a bad target", with(settings.EnvOrganizationTargets, `["ou-x;drop"]`), false, settings.EnvOrganizationTargets},
		{"no queue", with(settings.EnvWorkQueueURL, ""), false, settings.EnvWorkQueueURL},
		{"a bad hub account", with(settings.EnvHubAccount, "12345"), false, settings.EnvHubAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := settings.SummarizerOrgFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.Enabled() != tc.enabled {
				t.Fatalf("%+v, %v; want enabled=%v", o, err, tc.enabled)
			}
			if tc.enabled && (o.QueueURL != valid[settings.EnvWorkQueueURL] || o.HubAccount != "123456789012" ||
				!slices.Equal(o.Regions, []string{"us-east-1", "eu-west-1"}) || len(o.Targets) != 2) {
				t.Errorf("read %+v", o)
			}
		})
	}
}
