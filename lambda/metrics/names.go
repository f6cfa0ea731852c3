package metrics

// Names of the metrics the functions emit, without dimensions. The stack's
// dashboard graphs the same names.
const (
	// The summarizer, per digest.
	Records          = "Records"
	AcceptedBytes    = "AcceptedBytes"
	RejectedBytes    = "RejectedBytes"
	NewInterfaces    = "NewInterfaces"
	SkippedRecords   = "SkippedRecords"
	MalformedRecords = "MalformedRecords"

	// The enabler, per run. Coverage comes only from runs that see every
	// tagged VPC.
	TaggedVPCs       = "TaggedVPCs"
	CoveredVPCs      = "CoveredVPCs"
	UncoveredVPCs    = "UncoveredVPCs"
	FailedVPCs       = "FailedVPCs"
	PendingVPCs      = "PendingVPCs"
	CreatedFlowLogs  = "CreatedFlowLogs"
	ReplacedFlowLogs = "ReplacedFlowLogs"
	RemovedFlowLogs  = "RemovedFlowLogs"
)
