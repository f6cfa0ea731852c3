package motoproxy_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// backend answers the three calls the tests make with the smallest valid
// answer, and counts what reaches it. The proxy is what is under test: a
// stub behind it is enough to see whether a request got through.
type backend struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch {
		case strings.Contains(string(body), "Action=DescribeVpcs"):
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, `<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><vpcSet/></DescribeVpcsResponse>`)
		case r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.GetItem":
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = io.WriteString(w, `{}`)
		default:
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = io.WriteString(w, `{"logStreams":[]}`)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// faulty is a proxy in front of target with a Faults hook for c.
type faulty struct {
	URL    string
	faults *motoproxy.Faults
}

func start(t *testing.T, target string, c motoproxy.FaultConfig) faulty {
	t.Helper()
	f, err := motoproxy.NewFaults(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := motoproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.AddHook(f.Hook)
	return faulty{URL: p.URL, faults: f}
}

func retryConfig(url string, attempts int) aws.Config {
	cfg := testenv.AWSConfig(url)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		})
	}
	return cfg
}

// call makes one call of a service through url.
type call func(ctx context.Context, cfg aws.Config) error

var sdkCalls = map[string]call{
	"ec2": func(ctx context.Context, cfg aws.Config) error {
		_, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		return err
	},
	"logs": func(ctx context.Context, cfg aws.Config) error {
		_, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("g")})
		return err
	},
	"dynamodb": func(ctx context.Context, cfg aws.Config) error {
		_, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
			Key: map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "p"}}})
		return err
	},
}

// TestShapes checks that the SDK reads each injected error as AWS's own:
// the same code, status, throttle and retry classification.
func TestShapes(t *testing.T) {
	cases := []struct {
		name     string
		service  string
		kind     motoproxy.FaultKind
		code     string
		status   int
		throttle bool
	}{
		{"ec2 throttle", "ec2", motoproxy.Throttle, "RequestLimitExceeded", 503, true},
		{"ec2 500", "ec2", motoproxy.InternalError, "InternalError", 500, false},
		{"ec2 503", "ec2", motoproxy.Unavailable, "Unavailable", 503, false},
		{"logs throttle", "logs", motoproxy.Throttle, "ThrottlingException", 400, true},
		{"logs 500", "logs", motoproxy.InternalError, "ServiceUnavailableException", 500, false},
		{"logs 503", "logs", motoproxy.Unavailable, "ServiceUnavailable", 503, false},
		{"dynamodb throttle", "dynamodb", motoproxy.Throttle, "ThrottlingException", 400, true},
		{"dynamodb 500", "dynamodb", motoproxy.InternalError, "InternalServerError", 500, false},
		{"dynamodb 503", "dynamodb", motoproxy.Unavailable, "ServiceUnavailable", 503, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			p := start(t, b.srv.URL, motoproxy.FaultConfig{Rate: 1, Seed: 1, Mix: map[motoproxy.FaultKind]float64{tc.kind: 1}})
			err := sdkCalls[tc.service](t.Context(), retryConfig(p.URL, 1))
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an API error", err)
			}
			if apiErr.ErrorCode() != tc.code {
				t.Errorf("code %q, want %q", apiErr.ErrorCode(), tc.code)
			}
			var re interface{ HTTPStatusCode() int }
			if errors.As(err, &re) && re.HTTPStatusCode() != tc.status {
				t.Errorf("status %d, want %d", re.HTTPStatusCode(), tc.status)
			}
			if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary; got != tc.throttle {
				t.Errorf("throttle %v, want %v", got, tc.throttle)
			}
			if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
				t.Errorf("the SDK would not retry %v", err)
			}
			if n := b.hits.Load(); n != 0 {
				t.Errorf("the backend saw %d requests, want none", n)
			}
			if s := p.faults.Stats(); s.Faults[tc.kind] != 1 || s.Requests != 1 {
				t.Errorf("stats %+v, want one %s fault", s.FaultCounts, tc.kind)
			}
		})
	}
}

// TestConnectionFaults checks that a dropped connection never reaches the
// backend, a lost answer does, and the SDK retries both.
func TestConnectionFaults(t *testing.T) {
	cases := []struct {
		kind        motoproxy.FaultKind
		backendHits int64
	}{
		{motoproxy.Drop, 0},
		{motoproxy.LostAnswer, 1},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			b := newBackend(t)
			p := start(t, b.srv.URL, motoproxy.FaultConfig{Rate: 1, Seed: 1, Mix: map[motoproxy.FaultKind]float64{tc.kind: 1}})
			err := sdkCalls["ec2"](t.Context(), retryConfig(p.URL, 1))
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
				t.Errorf("the SDK would not retry %v", err)
			}
			if n := b.hits.Load(); n != tc.backendHits {
				t.Errorf("the backend saw %d requests, want %d", n, tc.backendHits)
			}
		})
	}
}

// TestRateAndRetries runs many calls through a 30% fault rate with the
// SDK's retryer: every call succeeds, the share of faults is near the rate,
// and every fault shows up as a retry.
func TestRateAndRetries(t *testing.T) {
	b := newBackend(t)
	p := start(t, b.srv.URL, motoproxy.FaultConfig{Rate: 0.3, Seed: 7})
	const n = 600
	for i := range n {
		svc := []string{"ec2", "logs", "dynamodb"}[i%3]
		if err := sdkCalls[svc](t.Context(), retryConfig(p.URL, 10)); err != nil {
			t.Fatalf("call %d (%s): %v", i, svc, err)
		}
	}
	s := p.faults.Stats()
	share := float64(s.TotalFaults()) / float64(s.Requests)
	if math.Abs(share-0.3) > 0.05 {
		t.Errorf("%d faults in %d requests (%.3f), want about 0.3", s.TotalFaults(), s.Requests, share)
	}
	if s.Requests != n+s.Retries {
		t.Errorf("%d requests, %d retries: want requests = %d calls + retries", s.Requests, s.Retries, n)
	}
	if s.Retries != s.TotalFaults() {
		t.Errorf("%d retries for %d faults: every fault should be retried once", s.Retries, s.TotalFaults())
	}
	for _, k := range motoproxy.FaultKinds {
		if s.Faults[k] == 0 {
			t.Errorf("no %s fault in %d requests", k, s.Requests)
		}
	}
	if got := len(s.ByAction); got != 3 {
		t.Errorf("counts for %d actions, want 3: %v", got, s.ByAction)
	}
	t.Logf("requests %d, retries %d, max attempt %d, faults %v", s.Requests, s.Retries, s.MaxAttempt, s.Faults)
}

// TestSeeded checks that the same seed and request order give the same
// faults, from a new proxy or from one reseeded.
func TestSeeded(t *testing.T) {
	sequence := func(p faulty) []bool {
		var out []bool
		for range 40 {
			before := p.faults.Stats().TotalFaults()
			_ = sdkCalls["logs"](t.Context(), retryConfig(p.URL, 1))
			out = append(out, p.faults.Stats().TotalFaults() > before)
		}
		return out
	}
	fresh := func() faulty {
		return start(t, newBackend(t).srv.URL, motoproxy.FaultConfig{Rate: 0.5, Seed: 42})
	}
	reused := fresh()
	a, b := sequence(fresh()), sequence(reused)
	reused.faults.Reseed(42)
	c := sequence(reused)
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Fatalf("request %d: faulted %v, %v and %v in three runs with seed 42", i, a[i], b[i], c[i])
		}
	}
}

func TestFaultConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		c    motoproxy.FaultConfig
	}{
		{"rate above 1", motoproxy.FaultConfig{Rate: 1.5}},
		{"negative rate", motoproxy.FaultConfig{Rate: -0.1}},
		{"unknown kind", motoproxy.FaultConfig{Mix: map[motoproxy.FaultKind]float64{"slow": 1}}},
		{"no positive weight", motoproxy.FaultConfig{Rate: 0.1, Mix: map[motoproxy.FaultKind]float64{motoproxy.Drop: 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := motoproxy.NewFaults(tc.c); err == nil {
				t.Fatal("NewFaults succeeded")
			}
		})
	}
}

// DynamoDB's errors travel as JSON 1.0 with a namespaced __type, as
// DynamoDB sends them. The fault proxy before answered DynamoDB as a JSON 1.1
// service, with InternalFailure for its 500.
func TestDynamoDBThrottleShape(t *testing.T) {
	b := newBackend(t)
	p := start(t, b.srv.URL, motoproxy.FaultConfig{Rate: 1, Seed: 1, Mix: map[motoproxy.FaultKind]float64{motoproxy.Throttle: 1}})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/", strings.NewReader(`{"TableName":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.UpdateItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" ||
		!strings.HasPrefix(string(body), `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":`) {
		t.Errorf("HTTP %d %s %s, want 400, JSON 1.0, the namespaced ThrottlingException", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
