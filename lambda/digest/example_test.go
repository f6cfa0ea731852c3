package digest_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
	"github.com/vpcflowlogs/flowlogs/lambda/digest"
	"github.com/vpcflowlogs/flowlogs/lambda/settings"
)

// A Summarizer is built once from the stack's settings and the SDK's
// clients; each scheduled invocation calls Run.
func Example() {
	ctx := context.Background()
	conf, err := settings.SummarizerFromEnv(os.Getenv)
	if err != nil {
		slog.ErrorContext(ctx, "reading the configuration", "error", err)
		return
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "loading the AWS configuration", "error", err)
		return
	}
	s, err := digest.New(digest.Config{Summarizer: conf}, digest.Clients{
		Logs:  cloudwatchlogs.NewFromConfig(cfg),
		EC2:   ec2.NewFromConfig(cfg),
		State: dynamodb.NewFromConfig(cfg),
	})
	if err != nil {
		slog.ErrorContext(ctx, "creating the summarizer", "error", err)
		return
	}
	res, err := s.Run(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "summarizing", "error", err)
		return
	}
	slog.InfoContext(ctx, "digest written", "records", res.Records, "from", res.From, "to", res.To, "partial", res.Partial)
}
