// Package awsconfig loads the AWS SDK configuration both functions share:
// the default credential and endpoint chain (so AWS_ENDPOINT_URL points the
// same binary at a local emulator) and a retryer tuned for throttled
// control-plane APIs.
package awsconfig
