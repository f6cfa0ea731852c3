// Package motoproxy is a reverse proxy in front of moto's server that adds
// what moto lacks, so tests can exercise code paths that real AWS takes and
// moto does not:
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
//     makes;
//   - flow logs to S3 as AWS has them (EmulateS3FlowLogs): a destination
//     with a prefix or in another account's bucket, and DestinationOptions
//     reported back, none of which moto 5.2.1 does.
//   - several accounts (Accounts): which account each call acts in, learnt
//     from the AssumeRole answers, so that a hook can target one account
//     (ForAccount), and STS's refusal of a role that does not exist or of
//     a denied account, which moto's AssumeRole never gives.
//   - accounts served independently (Shards): each member account's calls
//     go to one of several moto servers (the AssumeRole into the account,
//     then every call signed with the key it returned), as AWS serves
//     accounts apart, where one moto_server is one Python process whose
//     interpreter lock serves one call at a time. Hooks route a call
//     elsewhere with Call.ForwardTo and keep the proxy's rewrites.
//   - DynamoDB's isolation of transactions: its calls go to moto one at a
//     time, since a transaction in moto that fails its condition restores
//     the tables it names from copies taken when it began, undoing other
//     threads' writes made meanwhile.
//
// Every request passes through a chain of Hooks before it is forwarded: a
// Hook answers the call itself (WriteError), sleeps (Delay), or hijacks the
// connection. Requests of other protocols (CloudWatch Logs' and DynamoDB's
// JSON protocols, ...) are forwarded untouched and counted by their
// X-Amz-Target operation.
//
// # Faults
//
// Faults is a Hook that makes a seeded share of the calls fail the ways AWS
// calls fail, so that tests can show that code built on the SDK's retryer
// survives them:
//
//   - Throttle: the throttling error in the exact shape the service's
//     protocol sends it. EC2's query protocol: HTTP 503 with
//     <Response><Errors><Error><Code>RequestLimitExceeded</Code>... JSON
//     protocols (CloudWatch Logs): HTTP 400 with
//     {"__type":"ThrottlingException","message":"Rate exceeded"}; DynamoDB
//     (JSON 1.0): HTTP 400 with
//     {"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",...}.
//     Other query services (IAM, STS): HTTP 400 with an <ErrorResponse>
//     whose code is Throttling.
//   - InternalError and Unavailable: HTTP 500 and 503 with the service's
//     own error body (InternalError / Unavailable for EC2,
//     ServiceUnavailableException / InternalServerError / InternalFailure
//     and ServiceUnavailable for JSON services).
//   - Drop: the connection is closed before the request reaches moto, with
//     no answer at all.
//   - LostAnswer: the request is forwarded and applied, then the
//     connection is closed before the answer is sent: the call succeeded
//     but the caller cannot know. A retried CreateFlowLogs then meets the
//     flow log its first attempt created.
//
// The hook counts requests, faults by kind and retries (the SDK's
// amz-sdk-request header numbers each attempt), overall and per action.
// Requests of a protocol it cannot shape an error for (Smithy RPC v2 CBOR,
// REST) go on untouched and are counted as such. Decisions come from one
// seeded generator in the order requests arrive, so a run whose requests
// arrive in the same order sees the same faults.
//
// Point an SDK at Proxy.URL exactly as at moto (AWS_ENDPOINT_URL or
// BaseEndpoint).
package motoproxy
