package settings

import (
	"errors"
	"fmt"
)

// Findings are the thresholds of the digest's findings: when a
// source counts as scanning, how long the baseline remembers, and when
// bytes leaving count as unusual. Context keys, environment variables and
// defaults are below; the digest documents each in DIGEST.md.
type Findings struct {
	// ScanPorts is the number of distinct destination ports one source
	// must probe on one host within a digest's window to be a port scan.
	ScanPorts int
	// SweepHosts is the number of distinct hosts one source must probe on
	// one port within a window to be a sweep.
	SweepHosts int
	// BaselineDays is how many days the baseline remembers destinations,
	// inbound ports and interfaces: what was not seen in them is new.
	BaselineDays int
	// EgressFactor raises bytes leaving to public addresses when they
	// exceed this many times the same hour of the previous week, and
	// EgressMinMiB, so that small volumes never do.
	EgressFactor int
	EgressMinMiB int
}

// Context keys of the findings settings (cdk.json, -c key=value).
const (
	CtxFindingsScanPorts    = "findingsScanPorts"
	CtxFindingsSweepHosts   = "findingsSweepHosts"
	CtxFindingsBaselineDays = "findingsBaselineDays"
	CtxFindingsEgressFactor = "findingsEgressFactor"
	CtxFindingsEgressMinMiB = "findingsEgressMinMiB"
)

// Environment variables of the summarizer for the findings settings.
const (
	EnvFindingsScanPorts    = "FINDINGS_SCAN_PORTS"
	EnvFindingsSweepHosts   = "FINDINGS_SWEEP_HOSTS"
	EnvFindingsBaselineDays = "FINDINGS_BASELINE_DAYS"
	EnvFindingsEgressFactor = "FINDINGS_EGRESS_FACTOR"
	EnvFindingsEgressMinMiB = "FINDINGS_EGRESS_MIN_MIB"
)

// Defaults of the findings settings.
const (
	DefaultFindingsScanPorts    = 25
	DefaultFindingsSweepHosts   = 25
	DefaultFindingsBaselineDays = 7
	DefaultFindingsEgressFactor = 3
	DefaultFindingsEgressMinMiB = 100
	// MaxFindingsBaselineDays bounds the baseline: one filter a day, each
	// a DynamoDB item (see package runstate).
	MaxFindingsBaselineDays = 14
)

// DefaultFindings returns the defaults.
func DefaultFindings() Findings {
	return Findings{
		ScanPorts:    DefaultFindingsScanPorts,
		SweepHosts:   DefaultFindingsSweepHosts,
		BaselineDays: DefaultFindingsBaselineDays,
		EgressFactor: DefaultFindingsEgressFactor,
		EgressMinMiB: DefaultFindingsEgressMinMiB,
	}
}

// ValidateScanThreshold checks a port-scan or sweep threshold: at least 5
// (fewer is ordinary traffic) and at most 65,536.
func ValidateScanThreshold(n int) error {
	if n < 5 || n > 65536 {
		return fmt.Errorf("threshold %d is not valid: want 5 to 65536", n)
	}
	return nil
}

// ValidateBaselineDays checks the baseline's memory in days.
func ValidateBaselineDays(n int) error {
	if n < 1 || n > MaxFindingsBaselineDays {
		return fmt.Errorf("baseline of %d days is not valid: want 1 to %d", n, MaxFindingsBaselineDays)
	}
	return nil
}

// ValidateEgressFactor checks the factor over last week's same hour.
func ValidateEgressFactor(n int) error {
	if n < 2 || n > 1000 {
		return fmt.Errorf("egress factor %d is not valid: want 2 to 1000", n)
	}
	return nil
}

// ValidateEgressMinMiB checks the smallest volume the egress finding
// considers.
func ValidateEgressMinMiB(n int) error {
	if n < 1 || n > 1<<20 {
		return fmt.Errorf("egress floor of %d MiB is not valid: want 1 to %d", n, 1<<20)
	}
	return nil
}

// Validate checks every threshold, naming the field.
func (f Findings) Validate() error {
	var errs []error
	check := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	check("ScanPorts", ValidateScanThreshold(f.ScanPorts))
	check("SweepHosts", ValidateScanThreshold(f.SweepHosts))
	check("BaselineDays", ValidateBaselineDays(f.BaselineDays))
	check("EgressFactor", ValidateEgressFactor(f.EgressFactor))
	check("EgressMinMiB", ValidateEgressMinMiB(f.EgressMinMiB))
	return errors.Join(errs...)
}

// readFindings reads the findings settings under the given five names
// (context keys or environment variables, in the order of Findings).
func readFindings(r *Reader, names [5]string) Findings {
	return Findings{
		ScanPorts:    r.Int(names[0], DefaultFindingsScanPorts, ValidateScanThreshold),
		SweepHosts:   r.Int(names[1], DefaultFindingsSweepHosts, ValidateScanThreshold),
		BaselineDays: r.Int(names[2], DefaultFindingsBaselineDays, ValidateBaselineDays),
		EgressFactor: r.Int(names[3], DefaultFindingsEgressFactor, ValidateEgressFactor),
		EgressMinMiB: r.Int(names[4], DefaultFindingsEgressMinMiB, ValidateEgressMinMiB),
	}
}

// FindingsFromEnv reads the summarizer's findings settings from its
// environment; getenv is os.Getenv outside tests.
func FindingsFromEnv(getenv func(string) string) (Findings, error) {
	r := NewReader("", Getenv(getenv))
	f := readFindings(r, [5]string{EnvFindingsScanPorts, EnvFindingsSweepHosts, EnvFindingsBaselineDays, EnvFindingsEgressFactor, EnvFindingsEgressMinMiB})
	if err := r.Err(); err != nil {
		return Findings{}, fmt.Errorf("findings configuration from the environment: %w", err)
	}
	return f, nil
}

// FindingsFromContext reads the findings settings from the CDK context.
func FindingsFromContext(get func(key string) any) (Findings, error) {
	r := NewReader("context", Values(get))
	f := readFindings(r, [5]string{CtxFindingsScanPorts, CtxFindingsSweepHosts, CtxFindingsBaselineDays, CtxFindingsEgressFactor, CtxFindingsEgressMinMiB})
	return f, errors.Join(r.Err())
}

// Env returns the summarizer's environment variables for f.
func (f Findings) Env() map[string]string {
	return map[string]string{
		EnvFindingsScanPorts:    fmt.Sprint(f.ScanPorts),
		EnvFindingsSweepHosts:   fmt.Sprint(f.SweepHosts),
		EnvFindingsBaselineDays: fmt.Sprint(f.BaselineDays),
		EnvFindingsEgressFactor: fmt.Sprint(f.EgressFactor),
		EnvFindingsEgressMinMiB: fmt.Sprint(f.EgressMinMiB),
	}
}
