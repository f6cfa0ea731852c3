package settings

// Organization mode: one hub deployment covers the accounts and regions of
// an AWS Organization. Empty EnvOrganizationID means single-account mode,
// the default, in which none of these is read.
//
// Names the hub and the spokes share. The hub computes a spoke's role ARNs
// from the account id alone, so the spoke template names them; IAM names
// are global in an account, so the spoke creates its two assumable roles in
// the hub's region only and the delivery role once per region.
const (
	// SpokeEnablerRoleName is assumed by the hub's enabler in each account.
	SpokeEnablerRoleName = "VpcFlowLogsSpokeEnabler"
	// SpokeReaderRoleName is assumed by the hub's summarizer in each account.
	SpokeReaderRoleName = "VpcFlowLogsSpokeReader"
	// SpokeDeliveryRolePrefix + region is the delivery role that VPC Flow
	// Logs assumes in each spoke account-region.
	SpokeDeliveryRolePrefix = "VpcFlowLogsDelivery-"
	// HubEnablerRoleName and HubSummarizerRoleName are the hub functions'
	// execution roles: the spokes' roles trust exactly these ARNs.
	HubEnablerRoleName    = "VpcFlowLogsHubEnabler"
	HubSummarizerRoleName = "VpcFlowLogsHubSummarizer"
	// HubEventBusName is the bus the spokes forward their events to.
	HubEventBusName = "VpcFlowLogsHub"
)

// Environment variables of both hub functions in organization mode.
const (
	EnvOrganizationID      = "ORGANIZATION_ID"      // o-xxxxxxxxxx; empty: single-account mode
	EnvOrganizationTargets = "ORGANIZATION_TARGETS" // a JSON array of OU ids (ou-…) or the root id (r-…)
	EnvOrganizationRegions = "ORGANIZATION_REGIONS" // a JSON array of regions to cover
	EnvWorkQueueURL        = "WORK_QUEUE_URL"       // the SQS queue this function fans its work out to
	EnvHubAccount          = "HUB_ACCOUNT"          // the hub's account id (12 digits)
	EnvComplianceMode      = "COMPLIANCE_MODE"      // "true": cover every VPC whatever its tags (both modes)
)

// DeployedBy says who deploys the hub stack: the management account, or a
// delegated administrator of CloudFormation StackSets.
const (
	DeployedByManagement     = "management"
	DeployedByDelegatedAdmin = "delegated-admin"
)
