// Command summarizer is the scheduled Lambda function that writes a digest
// of the flow log group: see package digest. This file only wires the
// configuration and the AWS clients.
package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

func main() {
	slog.SetDefault(lambdacontext.NewLogger())
	ctx := context.Background()
	// A soft memory limit at half the function's memory: near it the GC
	// works harder instead of letting the heap goal (twice the live heap)
	// outgrow a small function. GOMEMLIMIT, when set, wins.
	if mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")); err == nil && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(mb) << 20 / 2)
	}
	conf, err := settings.SummarizerFromEnv(os.Getenv)
	if err != nil {
		slog.ErrorContext(ctx, "reading the configuration", "error", err)
		os.Exit(1)
	}
	findings, err := settings.FindingsFromEnv(os.Getenv)
	if err != nil {
		slog.ErrorContext(ctx, "reading the configuration", "error", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "loading the AWS configuration", "error", err)
		os.Exit(1)
	}
	clients := digest.Clients{
		Logs:  cloudwatchlogs.NewFromConfig(awsCfg),
		EC2:   ec2.NewFromConfig(awsCfg),
		State: dynamodb.NewFromConfig(awsCfg),
	}
	if conf.TopicARN != "" {
		clients.Topic = sns.NewFromConfig(awsCfg)
	}
	s, err := digest.New(digest.Config{Summarizer: conf, Findings: findings}, clients)
	if err != nil {
		slog.ErrorContext(ctx, "creating the summarizer", "error", err)
		os.Exit(1)
	}
	lambda.Start(s.Run)
}
