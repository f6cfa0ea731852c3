// Package faultproxy is a reverse proxy that makes a share of the AWS calls
// passing through it fail the ways AWS calls fail, so that tests can show
// that code built on the SDK's retryer survives them.
//
// A seeded generator picks, for each request, whether it fails and how:
//
//   - Throttle: the throttling error in the exact shape the service's
//     protocol sends it. EC2's query protocol: HTTP 503 with
//     <Response><Errors><Error><Code>RequestLimitExceeded</Code>... JSON
//     protocols (CloudWatch Logs): HTTP 400 with
//     {"__type":"ThrottlingException","message":"Rate exceeded"}; DynamoDB
//     (JSON 1.0): HTTP 400 with {"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",...}. Other
//     query services (IAM, STS): HTTP 400 with an <ErrorResponse> whose code
//     is Throttling.
//   - InternalError and Unavailable: HTTP 500 and 503 with the service's
//     own error body (InternalError / Unavailable for EC2,
//     ServiceUnavailableException / InternalServerError / InternalFailure
//     and ServiceUnavailable for JSON services).
//   - Drop: the connection is closed before the request reaches the
//     target, with no answer at all.
//   - LostAnswer: the request is forwarded and applied, then the
//     connection is closed before the answer is sent: the call succeeded
//     but the caller cannot know. A retried CreateFlowLogs then meets the
//     flow log its first attempt created.
//
// Every fault but LostAnswer happens before the target sees the request.
// The proxy counts requests, faults by kind and retries (the SDK's
// amz-sdk-request header numbers each attempt), overall and per action.
// Requests of a protocol it cannot shape an error for (Smithy RPC v2 CBOR)
// are forwarded untouched and counted as such.
//
// Decisions come from one seeded generator in the order requests arrive,
// so a run whose requests arrive in the same order sees the same faults.
package faultproxy
