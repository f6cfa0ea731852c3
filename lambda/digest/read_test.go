package digest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/vpcflowlogs/flowlogs/lambda/flowrecord"
)

// An empty page with a nextToken is not the end of a slice (a fake: moto
// never answers one).
func TestEmptyPagesAreNotTheEnd(t *testing.T) {
	const records = 30_000
	for _, every := range []int64{0, 2, 3} {
		src := newPageSource(t, records, benchWindow, 8)
		src.emptyEvery = every
		ctx := context.Background()
		r := &reader{api: src, group: "g", fs: defaultFormats(), opts: flowrecord.Options{}, pageLimit: 1000}
		out, err := r.readSlices(ctx, ctx, benchWindow.sliceIter(10*time.Minute), 2)
		if err != nil {
			t.Fatal(err)
		}
		s := out.agg.Summary()
		if got := s.Totals.Records + s.Malformed.Count; got != records || out.finished != 6 || out.t.OutsideWindow != 0 {
			t.Errorf("empty page every %d calls: %d records in %d slices (%d outside), want %d in 6", every, got, out.finished, out.t.OutsideWindow, records)
		}
	}
}

// failingLogs fails the FilterLogEvents calls of the slices starting at
// failFrom and later at once, and answers the others with an empty last page.
type failingLogs struct {
	LogsAPI
	failFrom int64 // milliseconds
}

func (f failingLogs) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	if aws.ToInt64(in.StartTime) >= f.failFrom {
		return nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform logs:FilterLogEvents"}
	}
	return &cloudwatchlogs.FilterLogEventsOutput{}, nil
}

// A slice that fails with anything but the read deadline ends the read at
// once, with no deadline to stop the other slices (a fake: the failure is
// chosen per slice).
func TestReadErrorReturnsPromptly(t *testing.T) {
	const slice = 5 * time.Minute
	for _, tc := range []struct {
		name string
		fail int // the first failing slice
		conc int
	}{
		{"first slice, one at a time", 0, 1},
		{"first slice, two at a time", 0, 2},
		{"later slice, one at a time", 3, 1},
		{"later slice, two at a time", 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := failingLogs{failFrom: benchWindow.From.Add(time.Duration(tc.fail) * slice).UnixMilli()}
			r := &reader{api: api, group: "g", fs: defaultFormats(), opts: flowrecord.Options{}}
			type result struct {
				out readOutcome
				err error
			}
			done := make(chan result, 1)
			go func() {
				ctx := context.Background() // no deadline
				out, err := r.readSlices(ctx, ctx, benchWindow.sliceIter(slice), tc.conc)
				done <- result{out, err}
			}()
			select {
			case res := <-done:
				var apiErr smithy.APIError
				if !errors.As(res.err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
					t.Fatalf("err = %v, want the AccessDeniedException", res.err)
				}
				if res.out.stopped || res.out.finished != tc.fail {
					t.Errorf("outcome %+v, want %d slices finished and not stopped", res.out, tc.fail)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("readSlices did not return 10 s after a slice failed")
			}
		})
	}
}

// TestLineReaderInterleavedStreams feeds alternating events of streams
// with different formats, among them two names that share a slot of the
// reader's stream cache: each line must be read with its own stream's
// format and interface.
func TestLineReaderInterleavedStreams(t *testing.T) {
	short, err := flowrecord.ParseFormat("${srcaddr} ${dstaddr} ${bytes}")
	if err != nil {
		t.Fatal(err)
	}
	// Find two interfaces whose stream names collide in the cache.
	var a, b string
	seen := map[int]string{}
	for i := 0; b == ""; i++ {
		eni := fmt.Sprintf("eni-%017x", i*7919)
		slot := streamSlot(eni + "-all")
		if other, ok := seen[slot]; ok {
			a, b = other, eni
		}
		seen[slot] = eni
	}
	c := "eni-0ffffffffffffffff"
	fs := &formats{
		byInterface: map[string]map[string]*flowrecord.Format{
			a: {"ALL": flowrecord.DefaultFormat()},
			b: {"ALL": short},
			c: {"ALL": short},
		},
		candidates: []*flowrecord.Format{flowrecord.DefaultFormat(), short},
	}
	agg := flowrecord.NewAggregator(flowrecord.Options{})
	lr := newLineReader(fs, agg)
	long := func(eni string) string {
		return "2 123456789010 " + eni + " 10.0.0.1 10.0.0.2 443 49152 6 10 100 1418530010 1418530070 ACCEPT OK"
	}
	for range 50 {
		lr.add(a+"-all", long(a))
		lr.add(b+"-all", "10.0.0.3 10.0.0.4 200")
		lr.add(c+"-all", "10.0.0.5 10.0.0.6 300")
	}
	s := agg.Summary()
	if s.Malformed.Count != 0 || lr.t.OtherFormat != 0 {
		t.Fatalf("malformed %d %v, other format %d", s.Malformed.Count, s.Malformed.Samples, lr.t.OtherFormat)
	}
	for eni, bytes := range map[string]uint64{a: 100, b: 200, c: 300} {
		got, ok := s.Interface(eni)
		if !ok || got.Records != 50 || got.Bytes != 50*bytes {
			t.Errorf("%s: %+v, want 50 records of %d bytes", eni, got, bytes)
		}
	}
}
