// The enabler Lambda keeps a flow log on every tagged VPC; the logic is in
// package reconcile.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
	"github.com/vpcflowlogs/flowlogs/lambda/runstate"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
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
	if err := organizationMode(h, cfg); err != nil {
		slog.Error("starting the enabler in organization mode", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// organizationMode switches h to the organization mode when ORGANIZATION_ID
// is set; without it, nothing changes.
func organizationMode(h *reconcile.Handler, cfg aws.Config) error {
	o, err := settings.OrgEnablerFromEnv(os.Getenv)
	if err != nil || !o.Enabled() {
		return err
	}
	sweeps, err := runstate.NewSweepStore(dynamodb.NewFromConfig(cfg), o.StateTable, o.HubAccount, cfg.Region)
	if err != nil {
		return err
	}
	partition := "aws"
	if a, err := arn.Parse(os.Getenv(settings.EnvEnablerRoleARN)); err == nil {
		partition = a.Partition
	}
	h.EnableOrganization(&reconcile.OrgMode{
		Settings:      o,
		Organizations: organizations.NewFromConfig(cfg),
		STS:           sts.NewFromConfig(cfg),
		Base:          cfg,
		Partition:     partition,
		Queue:         sqs.NewFromConfig(cfg),
		Sweeps:        sweeps,
		Logs:          cloudwatchlogs.NewFromConfig(cfg),
		Metrics:       os.Stdout,
	})
	return nil
}
