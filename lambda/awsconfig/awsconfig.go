package awsconfig

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Retry settings. EC2 mutating calls refill at 5 per second and CloudWatch
// Logs reads at 5 to 25 per second, so a burst of throttles needs more than
// the SDK's default 3 attempts to clear.
const (
	MaxAttempts = 10
	MaxBackoff  = 20 * time.Second
)

// NewRetryer is the retryer every client gets. config.WithRetryer calls it
// once per client, so no two clients share one.
//
// The client-side retry quota is switched off: each function runs as a
// single instance whose calls are bounded by MaxAttempts and by the
// invocation's deadline, and a drained quota would turn a burst of throttles
// into failed runs instead of slower ones.
func NewRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.RateLimiter = ratelimit.None
	})
}

// Load reads the default configuration with NewRetryer.
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts = append([]func(*config.LoadOptions) error{config.WithRetryer(NewRetryer)}, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}
