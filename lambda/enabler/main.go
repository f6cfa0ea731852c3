// The enabler Lambda keeps a flow log on every tagged VPC; the logic is in
// package reconcile.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		slog.Error("starting the enabler", "error", err.Error())
		os.Exit(1)
	}
	rec := &reconcile.Reconciler{
		API:     ec2.NewFromConfig(cfg),
		Region:  cfg.Region,
		Metrics: os.Stdout,
	}
	h := reconcile.NewHandler(rec, os.Getenv)
	h.Stacks = cloudformation.NewFromConfig(cfg)
	lambda.Start(h.Handle)
}
