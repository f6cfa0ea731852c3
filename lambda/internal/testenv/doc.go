// Package testenv starts the real local stand-ins that the tests run the
// project against: moto's server in place of the AWS APIs, the Lambda Runtime
// Interface Emulator in place of the Lambda service, and an HTTP endpoint in
// place of CloudFormation's pre-signed response URL (which can fail the
// first attempts of an answer as S3 can: 503, 429, 400, a dropped
// connection, a hang).
//
// Everything listens on loopback ports chosen at start and is stopped by
// Close. The Lambda binaries run as they ship, a linux/arm64 bootstrap (under
// qemu-aarch64-static on other machines), pointed at moto through
// AWS_ENDPOINT_URL: no code in the binaries exists for the tests.
package testenv
