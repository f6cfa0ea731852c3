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
	// CheckpointAge is how far the digests' checkpoint lags behind the run's
	// clock, emitted by every run, including runs with nothing to read, so
	// that an alarm on it tells when the digests stop.
	CheckpointAge = "CheckpointAgeSeconds"

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
