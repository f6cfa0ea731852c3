package metrics

// Metrics of the digest's findings: one per finding type, without
// dimensions (a dimension per interface or address would make a metric,
// and a charge, per value: CloudWatch bills each metric, a name with its
// dimensions, a month). Each counts the findings of
// its type in one digest.
const (
	FindingsEgressVolume = "FindingsEgressVolume"
	FindingsPortScan     = "FindingsPortScan"
	FindingsSweep        = "FindingsSweep"
	FindingsNewInbound   = "FindingsNewInboundPort"
	FindingsNewExternal  = "FindingsNewExternalDestination"
	FindingsNewInterface = "FindingsNewTalkingInterface"
)

// FindingsMetrics lists them in the digest's ranking order.
var FindingsMetrics = []string{FindingsEgressVolume, FindingsPortScan, FindingsSweep, FindingsNewInbound, FindingsNewExternal, FindingsNewInterface}
