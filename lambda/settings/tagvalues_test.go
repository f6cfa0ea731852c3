package settings_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// TestUnsetTagValuesMeanTheDefault proves that an unset TagValues means the
// default ["enabled"] in every source the functions read, as nil does in the
// construct's Props, and that only an explicit empty list means any value.
// Before, an unset TAG_VALUES or TagValues property meant any value.
func TestUnsetTagValuesMeanTheDefault(t *testing.T) {
	envBase := map[string]string{
		settings.EnvTagKey:          "FlowLogs",
		settings.EnvLogGroupName:    "/vpc/flow-logs",
		settings.EnvDeliveryRoleARN: role,
		settings.EnvOwner:           "stack",
	}
	fromEnv := func(values *string) ([]string, error) {
		m := maps.Clone(envBase)
		if values != nil {
			m[settings.EnvTagValues] = *values
		}
		e, err := settings.EnablerFromEnv(env(m))
		return e.TagValues, err
	}
	fromProps := func(values any) ([]string, error) {
		props := map[string]any{
			settings.PropTagKey: "FlowLogs", settings.PropLogGroupName: "/vpc/flow-logs",
			settings.PropDeliveryRoleARN: role, settings.PropTagValues: values,
		}
		e, err := settings.EnablerFromProperties(props, settings.Enabler{Owner: "stack"})
		return e.TagValues, err
	}
	empty := "[]"
	cases := []struct {
		name string
		read func() ([]string, error)
		want []string
	}{
		{"environment unset", func() ([]string, error) { return fromEnv(nil) }, []string{"enabled"}},
		{"environment []", func() ([]string, error) { return fromEnv(&empty) }, []string{}},
		{"property absent", func() ([]string, error) { return fromProps(nil) }, []string{"enabled"}},
		{"property []", func() ([]string, error) { return fromProps([]any{}) }, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !slices.Equal(got, c.want) {
				t.Errorf("TagValues = %#v, want %#v", got, c.want)
			}
		})
	}
}
