// Package motoproxy is a reverse proxy in front of moto's server that adds
// what moto lacks for EC2's query protocol, so tests can exercise code paths
// that real AWS takes and moto does not:
//
//   - real pagination for DescribeVpcs, DescribeFlowLogs and
//     DescribeNetworkInterfaces: MaxResults is honoured (5 to 1,000, as AWS
//     checks) and nextToken returned, where moto returns every item at once;
//   - per-item failures: chosen resource ids of CreateFlowLogs or
//     DeleteFlowLogs are taken out of the request and reported in the
//     response's Unsuccessful list with a chosen code (a bare "400",
//     FlowLogsLimitExceeded, ...), which moto never fills;
//   - EC2's limit of 200 values in one filter: a call with more is answered
//     HTTP 400 FilterLimitExceeded, where moto takes any number;
//   - whole-call failures for chosen resource ids, the way real AWS answers
//     when one resource of a batch is denied (UnauthorizedOperation);
//   - a count of calls per action, for measuring how many API calls a run
//     makes.
//
// Every request passes through a chain of Hooks before it is forwarded, so
// fault injection (throttling, 5xx answers, delays, dropped connections) is
// a Hook that answers the call itself with WriteError, sleeps, or hijacks the
// connection. Requests of other protocols (CloudWatch Logs' JSON protocol,
// ...) are forwarded untouched and counted by their X-Amz-Target operation.
//
// Point an SDK at Proxy.URL exactly as at moto (AWS_ENDPOINT_URL or
// BaseEndpoint).
package motoproxy
