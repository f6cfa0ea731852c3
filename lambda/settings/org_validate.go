package settings

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// The shapes AWS Organizations gives its ids (the Organizations API
// reference's patterns for OrganizationId, OrganizationalUnitId and RootId).
var (
	organizationIDRE = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDRE           = regexp.MustCompile(`^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$`)
	rootIDRE         = regexp.MustCompile(`^r-[a-z0-9]{4,32}$`)
)

// MaxOrganizationTargets bounds the targets one deployment names. A
// StackSet's DeploymentTargets take the ids inline and the functions walk
// each target's tree, so the list is kept to what a person would write: a
// root covers the whole organization on its own.
const MaxOrganizationTargets = 100

// ValidateOrganizationID checks an AWS Organizations organization id:
// o- and 10 to 32 lower-case letters or digits.
func ValidateOrganizationID(id string) error {
	if !organizationIDRE.MatchString(id) {
		return fmt.Errorf("organization id %q is not valid: want o- and 10 to 32 lower-case letters or digits, e.g. o-a1b2c3d4e5", id)
	}
	return nil
}

// ValidateOrganizationTarget checks one target of the organization mode: an
// organizational unit id (ou-xxxx-xxxxxxxx) or the root id (r-xxxx).
func ValidateOrganizationTarget(id string) error {
	if !ouIDRE.MatchString(id) && !rootIDRE.MatchString(id) {
		return fmt.Errorf("organization target %q is not valid: want an OU id (ou-<4 to 32>-<8 to 32> lower-case letters or digits) or the root id (r-<4 to 32>)", id)
	}
	return nil
}

// ValidateOrganizationTargets checks the targets: each an OU or root id,
// none twice, at most MaxOrganizationTargets. An empty list is valid here
// (single-account mode); ValidateOrganization requires one in organization
// mode.
func ValidateOrganizationTargets(ids []string) error {
	if len(ids) > MaxOrganizationTargets {
		return fmt.Errorf("%d organization targets: at most %d are allowed (the root id covers the whole organization)", len(ids), MaxOrganizationTargets)
	}
	return validateEach(ids, "organization target", ValidateOrganizationTarget)
}

// ValidateRegions checks a list of region names: each of a region's shape,
// none twice.
func ValidateRegions(regions []string) error {
	return validateEach(regions, "region", ValidateRegion)
}

func validateEach(values []string, what string, validate func(string) error) error {
	var errs []error
	for i, v := range values {
		if err := validate(v); err != nil {
			errs = append(errs, err)
		} else if slices.Contains(values[:i], v) {
			errs = append(errs, fmt.Errorf("%s %q is listed twice", what, v))
		}
	}
	return errors.Join(errs...)
}

// DeployedBy lists who may deploy the hub (see DeployedByManagement).
var DeployedBy = []string{DeployedByManagement, DeployedByDelegatedAdmin}

// ValidateDeployedBy checks who deploys the hub: the management account or
// a delegated administrator of CloudFormation StackSets.
func ValidateDeployedBy(who string) error {
	if !slices.Contains(DeployedBy, who) {
		return fmt.Errorf("deployed-by %q is not valid: use %s or %s", who, DeployedByManagement, DeployedByDelegatedAdmin)
	}
	return nil
}

// ValidateOrganization checks the organization settings together: with an
// organization id, at least one target; without one (single-account mode),
// no targets and no regions, which would otherwise be silently ignored.
func ValidateOrganization(id string, targets, regions []string) error {
	switch {
	case id == "" && len(targets) > 0:
		return fmt.Errorf("organization targets %q are set without an organization id: set the organization id too, or leave the targets empty for single-account mode", targets)
	case id == "" && len(regions) > 0:
		return fmt.Errorf("organization regions %q are set without an organization id: set the organization id too, or leave the regions empty for single-account mode", regions)
	case id != "" && len(targets) == 0:
		return fmt.Errorf("organization %s has no targets: name the OUs (ou-…) or the root (r-…) to cover", id)
	}
	return nil
}

// DefaultDeployedBy is who deploys the hub unless told otherwise.
const DefaultDeployedBy = DeployedByManagement
