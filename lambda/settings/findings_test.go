package settings

import (
	"strings"
	"testing"
)

// TestFindingsFromEnv checks that unset variables take the defaults, set
// ones are read, and a bad value fails naming the variable and the value.
func TestFindingsFromEnv(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    Findings
		wantErr string
	}{
		{"defaults", nil, DefaultFindings(), ""},
		{"set", map[string]string{EnvFindingsScanPorts: "40", EnvFindingsBaselineDays: "3", EnvFindingsEgressFactor: "5"},
			Findings{ScanPorts: 40, SweepHosts: 25, BaselineDays: 3, EgressFactor: 5, EgressMinMiB: 100}, ""},
		{"threshold too low", map[string]string{EnvFindingsSweepHosts: "2"}, Findings{}, "FINDINGS_SWEEP_HOSTS=2"},
		{"baseline too long", map[string]string{EnvFindingsBaselineDays: "30"}, Findings{}, "FINDINGS_BASELINE_DAYS=30"},
		{"not a number", map[string]string{EnvFindingsEgressMinMiB: "lots"}, Findings{}, "FINDINGS_EGRESS_MIN_MIB=lots"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindingsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			back, err := FindingsFromEnv(func(k string) string { return got.Env()[k] })
			if err != nil || back != got {
				t.Errorf("Env does not read back: %+v, %v", back, err)
			}
		})
	}
}

// TestFindingsValidate checks that the defaults pass and each bad field is
// named.
func TestFindingsValidate(t *testing.T) {
	if err := DefaultFindings().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := DefaultFindings()
	bad.SweepHosts, bad.EgressFactor = 1, 0
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "SweepHosts") || !strings.Contains(err.Error(), "EgressFactor") {
		t.Errorf("error %v; want SweepHosts and EgressFactor named", err)
	}
}

// TestFindingsFromContext checks the context keys, typed as cdk.json types
// them, and that a bad one names the context key.
func TestFindingsFromContext(t *testing.T) {
	ctx := map[string]any{CtxFindingsScanPorts: float64(50), CtxFindingsEgressFactor: "4"}
	got, err := FindingsFromContext(func(k string) any { return ctx[k] })
	if err != nil || got.ScanPorts != 50 || got.EgressFactor != 4 || got.SweepHosts != DefaultFindingsSweepHosts {
		t.Errorf("got %+v, %v", got, err)
	}
	ctx[CtxFindingsScanPorts] = float64(1)
	if _, err := FindingsFromContext(func(k string) any { return ctx[k] }); err == nil || !strings.Contains(err.Error(), "findingsScanPorts") {
		t.Errorf("error %v; want one naming findingsScanPorts", err)
	}
}
