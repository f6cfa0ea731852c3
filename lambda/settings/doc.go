// Package settings is the configuration contract between the CDK stack and
// the Lambda functions: the names of the environment variables and custom
// resource properties the stack sets, the rules every value must follow, and
// the readers that turn them into typed structs.
//
// The CDK app validates its context with the same functions the functions use
// at run time, so a value that synthesizes is a value the functions accept.
package settings
