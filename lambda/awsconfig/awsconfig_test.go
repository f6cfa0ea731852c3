package awsconfig_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/vpcflowlogs/flowlogs/lambda/awsconfig"
)

func TestLoad(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	cfg, err := awsconfig.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(cfg.BaseEndpoint); got != "http://127.0.0.1:9" {
		t.Errorf("BaseEndpoint = %q: AWS_ENDPOINT_URL must reach every client", got)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("Region = %q", cfg.Region)
	}
	a, b := cfg.Retryer(), cfg.Retryer()
	if a.MaxAttempts() != awsconfig.MaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", a.MaxAttempts(), awsconfig.MaxAttempts)
	}
	if a == b {
		t.Error("two clients share one retryer")
	}
}
