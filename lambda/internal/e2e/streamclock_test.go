package e2e_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/e2e"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// fakeLogs answers DescribeLogStreams as moto does, with two streams
// created "now", and remembers the bodies it received. A group named
// "missing" gets moto's ResourceNotFoundException.
type fakeLogs struct {
	mu     sync.Mutex
	bodies []string
}

const (
	motoNow      = 1_800_000_000_000 // moto's creationTime: when CreateLogStream ran
	fakeStreamsA = `{"logStreams": [` +
		`{"logStreamName": "eni-0123456789abcdef0-all", "creationTime": 1800000000000, "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs:log-stream:eni-0123456789abcdef0-all", "storedBytes": 0},` +
		`{"logStreamName": "eni-0fedcba9876543210-all", "creationTime": 1800000000000, "arn": "arn:x", "storedBytes": 0}],` +
		` "nextToken": "page-2"}`
)

func (f *fakeLogs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case strings.Contains(string(b), `"missing"`):
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."}`)
	case strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeLogStreams"):
		_, _ = io.WriteString(w, fakeStreamsA)
	default:
		_, _ = io.WriteString(w, `{"logGroups": [{"logGroupName": "/vpc/flow-logs", "creationTime": 1800000000000}]}`)
	}
}

func (f *fakeLogs) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		return ""
	}
	return f.bodies[len(f.bodies)-1]
}

// TestStreamClock proves that the clock, as a hook of the motoproxy in
// front of moto, reports the delivery time as the creationTime of exactly
// the streams it dated, in the group it dated them in, and leaves every
// other answer as moto wrote it, the request reaching moto intact. Without
// it the streams the harness delivers look created when moto created them,
// after the digest's window, and a story that does not wait for the minute
// to end finds no new interface (TestStory's "digest" case).
func TestStreamClock(t *testing.T) {
	clock, logs, fake := startStreamClock(t)
	delivered := time.UnixMilli(1_799_997_000_000).UTC()
	const dated, undated = "eni-0123456789abcdef0-all", "eni-0fedcba9876543210-all"
	clock.Date("/vpc/flow-logs", map[string]time.Time{dated: delivered})

	cases := []struct {
		name   string
		in     cloudwatchlogs.DescribeLogStreamsInput
		forget bool
		want   map[string]int64 // creationTime by stream
	}{
		{"dated group by name", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/vpc/flow-logs")},
			false, map[string]int64{dated: delivered.UnixMilli(), undated: motoNow}},
		{"dated group by identifier", cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("/vpc/flow-logs")},
			false, map[string]int64{dated: delivered.UnixMilli(), undated: motoNow}},
		{"another group", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/other")},
			false, map[string]int64{dated: motoNow, undated: motoNow}},
		{"after Forget", cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/vpc/flow-logs")},
			true, map[string]int64{dated: motoNow, undated: motoNow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.forget {
				clock.Forget()
				defer clock.Date("/vpc/flow-logs", map[string]time.Time{dated: delivered})
			}
			checkStreams(t, logs, fake, &tc.in, tc.want)
		})
	}

	t.Run("other actions untouched", func(t *testing.T) {
		out, err := logs.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LogGroups) != 1 || aws.ToInt64(out.LogGroups[0].CreationTime) != motoNow {
			t.Errorf("log groups %+v, want moto's one group as moto dated it", out.LogGroups)
		}
	})
	t.Run("moto's errors pass through", func(t *testing.T) {
		clock.Date("missing", map[string]time.Time{dated: delivered})
		_, err := logs.DescribeLogStreams(t.Context(), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("missing")})
		var nf *logstypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("error %v, want moto's ResourceNotFoundException", err)
		}
	})
}

// startStreamClock puts a motoproxy with a stream clock's hook in front of
// a fake moto, and returns the clock, a client of the proxy and the fake.
func startStreamClock(t *testing.T) (*e2e.StreamClock, *cloudwatchlogs.Client, *fakeLogs) {
	t.Helper()
	fake := &fakeLogs{}
	moto := httptest.NewServer(fake)
	t.Cleanup(moto.Close)
	clock, err := e2e.NewStreamClock(moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := motoproxy.New(moto.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.AddHook(clock.Hook())
	return clock, cloudwatchlogs.NewFromConfig(testenv.AWSConfig(proxy.URL)), fake
}

// checkStreams describes the streams through the proxy and checks their
// creationTime, that moto's other fields are kept, and that moto got the
// request.
func checkStreams(t *testing.T, logs *cloudwatchlogs.Client, fake *fakeLogs, in *cloudwatchlogs.DescribeLogStreamsInput, want map[string]int64) {
	t.Helper()
	out, err := logs.DescribeLogStreams(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, s := range out.LogStreams {
		got[aws.ToString(s.LogStreamName)] = aws.ToInt64(s.CreationTime)
		if aws.ToString(s.Arn) == "" {
			t.Errorf("%s lost its arn", aws.ToString(s.LogStreamName))
		}
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: creationTime %d, want %d", name, got[name], w)
		}
	}
	if aws.ToString(out.NextToken) != "page-2" {
		t.Errorf("nextToken %q, want page-2", aws.ToString(out.NextToken))
	}
	if group := aws.ToString(in.LogGroupName) + aws.ToString(in.LogGroupIdentifier); !strings.Contains(fake.last(), group) {
		t.Errorf("moto got %q, want a request naming %s", fake.last(), group)
	}
}
