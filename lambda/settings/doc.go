// Package settings is the configuration contract between the CDK stack and
// the Lambda functions: the names of the environment variables and custom
// resource properties the stack sets, the rules every value must follow, and
// the readers that turn them into typed structs.
//
// One Reader turns every source into typed values: the functions'
// environment (Getenv), the custom resource's properties and the CDK context
// (Values, which takes JSON numbers, booleans and lists). Each setting has
// one default, in defaults.go, and one validator, in validate.go; the
// construct's Props, the CDK app and the functions all use them, so a value
// that synthesizes is a value the functions accept, and an unset value means
// the same everywhere (TagValues unset is ["enabled"]; only [] is any value).
package settings
