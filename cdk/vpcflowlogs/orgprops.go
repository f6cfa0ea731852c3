package vpcflowlogs

import (
	"errors"
	"fmt"

	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// Organization configures the organization mode: one hub stack (this
// construct's stack, in the management account or a delegated
// administrator) covers the accounts under Targets in Regions through a
// service-managed StackSet of the spoke template (spoke.go, stackset.go).
// A zero Organization is single-account mode.
type Organization struct {
	// ID is the organization's id (o-…). Empty: single-account mode.
	ID string
	// Targets are the organizational units (ou-…) or the root (r-…) whose
	// accounts, in nested OUs too, are covered. Required with ID.
	Targets []string
	// Regions are the regions covered in each account. Default: the hub
	// stack's region.
	Regions []string
	// DeployedBy says who deploys the hub stack: settings.DeployedByManagement
	// (the default) or settings.DeployedByDelegatedAdmin. It sets the
	// StackSet's CallAs.
	DeployedBy string
}

// withDefaults returns o with its zero fields set. Single-account mode has
// no defaults to take.
func (o Organization) withDefaults() Organization {
	if o.ID != "" {
		o.DeployedBy = or(o.DeployedBy, settings.DefaultDeployedBy)
	}
	return o
}

// validate checks o with the settings package's rules, each error naming
// its field.
func (o Organization) validate() error {
	checks := []struct {
		field string
		err   error
	}{
		{"ID", ifSet(o.ID, settings.ValidateOrganizationID)},
		{"Targets", settings.ValidateOrganizationTargets(o.Targets)},
		{"Regions", settings.ValidateRegions(o.Regions)},
		{"DeployedBy", ifSet(o.DeployedBy, settings.ValidateDeployedBy)},
		{"", settings.ValidateOrganization(o.ID, o.Targets, o.Regions)},
	}
	var errs []error
	for _, c := range checks {
		switch {
		case c.err == nil:
		case c.field == "":
			errs = append(errs, fmt.Errorf("vpcflowlogs.Props.Organization: %w", c.err))
		default:
			errs = append(errs, fmt.Errorf("vpcflowlogs.Props.Organization.%s: %w", c.field, c.err))
		}
	}
	return errors.Join(errs...)
}
