package settings_test

import (
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestOrganizationValidators proves each organization setting accepts AWS's
// shapes and rejects the rest with an error that names the value and what
// is allowed.
func TestOrganizationValidators(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string // "" when valid
	}{
		{"organization id", settings.ValidateOrganizationID("o-a1b2c3d4e5"), ""},
		{"organization id of 32", settings.ValidateOrganizationID("o-" + strings.Repeat("a", 32)), ""},
		{"organization id too short", settings.ValidateOrganizationID("o-a1b2c3"), `"o-a1b2c3" is not valid: want o-`},
		{"organization id upper case", settings.ValidateOrganizationID("o-A1B2C3D4E5"), `"o-A1B2C3D4E5"`},
		{"organization id of 33", settings.ValidateOrganizationID("o-" + strings.Repeat("a", 33)), "10 to 32"},
		{"ou", settings.ValidateOrganizationTarget("ou-ab12-abcd1234"), ""},
		{"root", settings.ValidateOrganizationTarget("r-ab12"), ""},
		{"account id is no target", settings.ValidateOrganizationTarget("123456789012"), `"123456789012" is not valid: want an OU id`},
		{"ou with a short second part", settings.ValidateOrganizationTarget("ou-ab12-abc"), "ou-ab12-abc"},
		{"root too short", settings.ValidateOrganizationTarget("r-ab"), "root id"},
		{"newline in a target", settings.ValidateOrganizationTarget("r-ab12\n"), `"r-ab12\n"`},
		{"targets", settings.ValidateOrganizationTargets([]string{"r-ab12", "ou-ab12-abcd1234"}), ""},
		{"a target twice", settings.ValidateOrganizationTargets([]string{"r-ab12", "r-ab12"}), `"r-ab12" is listed twice`},
		{"too many targets", settings.ValidateOrganizationTargets(make([]string, settings.MaxOrganizationTargets+1)), "at most 100"},
		{"regions", settings.ValidateRegions([]string{"eu-west-1", "us-gov-west-1"}), ""},
		{"no regions", settings.ValidateRegions(nil), ""},
		{"a bad region", settings.ValidateRegions([]string{"eu-west-1", "Europe"}), `region "Europe" is not valid`},
		{"a region twice", settings.ValidateRegions([]string{"eu-west-1", "eu-west-1"}), `region "eu-west-1" is listed twice`},
		{"management", settings.ValidateDeployedBy(settings.DeployedByManagement), ""},
		{"delegated admin", settings.ValidateDeployedBy(settings.DeployedByDelegatedAdmin), ""},
		{"someone else", settings.ValidateDeployedBy("admin"), `"admin" is not valid: use management or delegated-admin`},
		{"single-account", settings.ValidateOrganization("", nil, nil), ""},
		{"organization", settings.ValidateOrganization("o-a1b2c3d4e5", []string{"r-ab12"}, nil), ""},
		{"organization without targets", settings.ValidateOrganization("o-a1b2c3d4e5", nil, nil), "o-a1b2c3d4e5 has no targets"},
		{"targets without organization", settings.ValidateOrganization("", []string{"r-ab12"}, nil), "without an organization id"},
		{"regions without organization", settings.ValidateOrganization("", nil, []string{"eu-west-1"}), `regions ["eu-west-1"] are set without`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.want == "" && c.err != nil:
				t.Errorf("rejected: %v", c.err)
			case c.want != "" && c.err == nil:
				t.Errorf("accepted, want an error containing %q", c.want)
			case c.want != "" && !strings.Contains(c.err.Error(), c.want):
				t.Errorf("error %q does not say %q", c.err, c.want)
			}
		})
	}
}
