// Command summarizer is the scheduled Lambda function that writes a digest
// of the flow log group: see package digest. This file only wires the
// configuration and the AWS clients.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/org"
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
	conf, src, findings, err := readConfig()
	if err != nil {
		slog.ErrorContext(ctx, "reading the configuration", "error", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.Load(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "loading the AWS configuration", "error", err)
		os.Exit(1)
	}
	orgConf, err := settings.SummarizerOrgFromEnv(os.Getenv)
	if err != nil {
		slog.ErrorContext(ctx, "reading the organization configuration", "error", err)
		os.Exit(1)
	}
	cfg := digest.Config{Summarizer: conf, ReadRate: src.ReadCallsPerSecond, Findings: findings, AWSRanges: loadAWSRanges(ctx)}
	var bucket *s3.Client
	if src.Destination == settings.DestinationS3 {
		// In organization mode too: the central bucket is the hub's.
		cfg.S3 = &digest.S3Source{Bucket: src.Bucket, Prefix: src.Prefix, HiveCompatible: src.HiveCompatible, PerHour: src.PerHour}
		bucket = s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			// A custom endpoint (AWS_ENDPOINT_URL: a local emulator, a VPC
			// endpoint by IP) has no bucket subdomains: address by path.
			o.UsePathStyle = os.Getenv("AWS_ENDPOINT_URL") != ""
			// The delivery service writes objects without checksums: the
			// SDK would log that it skipped validating every one.
			o.DisableLogOutputChecksumValidationSkipped = true
		})
	}
	if orgConf.Enabled() {
		startOrg(cfg, orgConf, awsCfg, bucket)
		return
	}
	clients := digest.Clients{
		Logs:  cloudwatchlogs.NewFromConfig(awsCfg),
		EC2:   ec2.NewFromConfig(awsCfg),
		State: dynamodb.NewFromConfig(awsCfg),
	}
	if conf.TopicARN != "" {
		clients.Topic = sns.NewFromConfig(awsCfg)
	}
	if bucket != nil {
		clients.S3 = bucket
	}
	s, err := digest.New(cfg, clients)
	if err != nil {
		slog.ErrorContext(ctx, "creating the summarizer", "error", err)
		os.Exit(1)
	}
	lambda.Start(s.Run)
}

// startOrg serves the organization mode: the schedule's tick and the work
// queue's messages (digest.Org). Each spoke account's reader role is
// assumed once per process while its credentials last (org.Roles), with
// the session name vpcflowlogs-summarizer-digest.
func startOrg(conf digest.Config, orgConf settings.SummarizerOrg, awsCfg aws.Config, bucket *s3.Client) {
	ctx := context.Background()
	roles, err := org.NewRoles(sts.NewFromConfig(awsCfg), partition(awsCfg.Region), settings.SpokeReaderRoleName, org.SessionSummarizer)
	if err != nil {
		slog.ErrorContext(ctx, "creating the spoke roles", "error", err)
		os.Exit(1)
	}
	spoke := func(ctx context.Context, account, region string) (digest.LogsAPI, digest.EC2API, error) {
		cfg, err := roles.Config(awsCfg, account, region)
		if err != nil {
			return nil, nil, err
		}
		// Assume now, so that a role that cannot be had is reported as
		// such before any call in the spoke.
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return nil, nil, fmt.Errorf("assuming %s: %w", roles.RoleARN(account), err)
		}
		return cloudwatchlogs.NewFromConfig(cfg), ec2.NewFromConfig(cfg), nil
	}
	clients := digest.OrgClients{
		Logs:          cloudwatchlogs.NewFromConfig(awsCfg),
		State:         dynamodb.NewFromConfig(awsCfg),
		Organizations: organizations.NewFromConfig(awsCfg),
		Queue:         sqs.NewFromConfig(awsCfg),
		Spoke:         spoke,
	}
	if conf.TopicARN != "" {
		clients.Topic = sns.NewFromConfig(awsCfg)
	}
	if bucket != nil {
		clients.S3 = bucket
	}
	o, err := digest.NewOrg(conf, orgConf, clients)
	if err != nil {
		slog.ErrorContext(ctx, "creating the organization summarizer", "error", err)
		os.Exit(1)
	}
	lambda.Start(o.Handle)
}

// loadAWSRanges fetches AWS's IP ranges (AWS_IP_RANGES_URL) once per
// process, at cold start, falling back to the copy built in: every run of
// the process uses what it returns.
func loadAWSRanges(ctx context.Context) *digest.AWSRangesDoc {
	url, err := settings.AWSIPRangesURLFromEnv(os.Getenv)
	if err != nil {
		slog.ErrorContext(ctx, "reading the configuration", "error", err)
		os.Exit(1)
	}
	doc := digest.LoadAWSRanges(ctx, nil, url)
	return &doc
}

// readConfig reads the summarizer's settings from the environment: what
// every mode reads, where the records are, and the findings' thresholds.
func readConfig() (settings.Summarizer, settings.SummarizerSource, settings.Findings, error) {
	conf, err := settings.SummarizerFromEnv(os.Getenv)
	if err != nil {
		return conf, settings.SummarizerSource{}, settings.Findings{}, err
	}
	src, err := settings.SummarizerSourceFromEnv(os.Getenv, conf.Region)
	if err != nil {
		return conf, src, settings.Findings{}, err
	}
	findings, err := settings.FindingsFromEnv(os.Getenv)
	return conf, src, findings, err
}

// partition is the AWS partition of region, for the spoke roles' ARNs.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
