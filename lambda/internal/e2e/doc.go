// Package e2e runs the whole product locally, as it runs in an account, with
// no AWS account: moto's server stands in for the AWS APIs, the Lambda
// Runtime Interface Emulator runs the real linux/arm64 bootstraps, and the
// harness plays the parts of the services that moto does not: CloudFormation
// (it creates what the synthesized template declares, and sends the custom
// resource's Create and Delete requests), EventBridge (it sends the aws.tag
// and scheduled events) and the VPC Flow Logs delivery service (it writes
// generated records into one eni-...-all stream per interface).
//
// The story's records fall in the past hour, as a real hour's would, so
// the summarizer's first window holds them without waiting on the clock.
// Moto dates a log stream when it is created, now; the service creates an
// interface's stream when it first delivers its records. The story's
// functions call moto through a motoproxy whose StreamClock hook reports
// each delivered stream's creationTime as that delivery time, so that the
// digest lists the interfaces as new, described from EC2.
//
// Nothing about the deployment is written down twice: log group names and
// retention, the delivery role's trust and policy, the run state table,
// the functions' environment and the custom resource's properties are read
// from the template that the CDK app synthesizes, and its Ref, Fn::GetAtt
// and Fn::Join are resolved against what the harness created.
//
// The same harness serves `make demo` (package e2e/demo, which prints what
// happens) and the end-to-end tests of this package (which assert it),
// including the fault runs, where a faultproxy sits between the functions
// and moto.
package e2e
