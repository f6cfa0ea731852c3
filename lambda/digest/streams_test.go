package digest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestStreamInterfaceRejectsHostileNames: anyone allowed
// logs:CreateLogStream on the flow log group names streams as they like,
// up to 512 characters. The id was taken as ^eni-[0-9a-f]+ of any length
// and whatever followed it was ignored, so the cases that want "" below
// came out as ids (of up to 508 characters) and failed.
func TestStreamInterfaceRejectsHostileNames(t *testing.T) {
	const id = "eni-0c19436730cc350ae"
	for _, tc := range []struct {
		name, stream, want string
	}{
		{"long id", id + "-all", id},
		{"short id", "eni-1234abcd-accept", "eni-1234abcd"},
		{"bare id", "eni-1234abcd", "eni-1234abcd"},
		{"reject", id + "-reject", id},
		{"500 hex digits", "eni-" + strings.Repeat("a", 500) + "-all", ""},
		{"18 hex digits", id + "0-all", ""},
		{"16 hex digits", id[:len(id)-1] + "-all", ""},
		{"9 hex digits", "eni-1234abcde-all", ""},
		{"upper-case hex", "eni-0C19436730CC350AE-all", ""},
		{"unknown traffic type", id + "-everything", ""},
		{"suffix after the traffic type", id + "-all-" + strings.Repeat("x", 480), ""},
		{"newline and heading", id + "-all\nTop talkers (bytes):", ""},
		{"escape sequence", id + "\x1b[2J-all", ""},
		{"bidi override", id + "\u202e-all", ""},
		{"invalid UTF-8", id + "-all\xff", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := streamInterface(tc.stream); got != tc.want {
				t.Errorf("streamInterface(%.60q) = %.60q, want %q", tc.stream, got, tc.want)
			}
		})
	}
}

// bogusStreams answers DescribeLogStreams with a few real flow log
// streams among n streams of hostile 512-character names, 50 a page as
// the service does, making each page on demand.
type bogusStreams struct {
	LogsAPI
	n     int
	real  []string
	calls int
}

func (b *bogusStreams) DescribeLogStreams(_ context.Context, in *cloudwatchlogs.DescribeLogStreamsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogStreamsOutput, error) {
	b.calls++
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	out := &cloudwatchlogs.DescribeLogStreamsOutput{}
	created := aws.Int64(time.Date(2026, 11, 25, 18, 10, 0, 0, time.UTC).UnixMilli())
	for i := from; i < min(from+50, b.n); i++ {
		name := b.real[i%len(b.real)] + "-all"
		if i >= len(b.real) {
			// The same interfaces as the real streams, then names of
			// every other kind, each padded to the service's 512.
			name = fmt.Sprintf("%s-all-%d-", b.real[i%len(b.real)], i)
			if i%2 == 1 {
				name = fmt.Sprintf("eni-%d\nTop talkers (bytes):\n", i)
			}
			name += strings.Repeat("x", 512-len(name))
		}
		out.LogStreams = append(out.LogStreams, logstypes.LogStream{LogStreamName: aws.String(name), CreationTime: created})
	}
	if from+50 < b.n {
		out.NextToken = aws.String(strconv.Itoa(from + 50))
	}
	return out, nil
}

// TestListStreamsKeepsOnlyInterfaceStreams: every stream name was kept,
// so 20,000 bogus streams of 512 characters held about 10 MB, and the
// bogus streams of a real interface's id all joined its list of streams
// in the digest. It failed with 20,000 streams kept; now only the three
// real ones are.
func TestListStreamsKeepsOnlyInterfaceStreams(t *testing.T) {
	api := &bogusStreams{n: 20_000, real: []string{"eni-0c19436730cc350ae", "eni-1234abcd", "eni-75e4fa8aa481a69a2"}}
	got, err := listStreams(t.Context(), api, "/vpc/flow-logs")
	if err != nil {
		t.Fatal(err)
	}
	if api.calls != 400 {
		t.Errorf("%d DescribeLogStreams calls, want all 400 pages", api.calls)
	}
	if len(got) != len(api.real) {
		t.Fatalf("kept %d streams, want the %d real ones", len(got), len(api.real))
	}
	w := window{From: mustTime("2026-11-25T18:00:00Z"), To: mustTime("2026-11-25T19:00:00Z")}
	for _, n := range newInterfaces(got, w) {
		if len(n.Streams) != 1 || n.Streams[0] != n.ID+"-all" {
			t.Errorf("interface %s has streams %.200q, want only its -all stream", n.ID, n.Streams)
		}
	}
}
