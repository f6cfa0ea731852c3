package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

// StreamClock dates the flow log streams the harness delivers as the
// delivery service would have created them.
//
// Moto stamps a stream's creationTime with its own wall clock when
// CreateLogStream is called, so streams whose records the harness places in
// the past hour would look created now: after the end of the digest's
// window, which ends on a whole minute, and the digest would list their
// interfaces as new only once this minute is over. In an account, the
// service creates an interface's stream when it delivers its first
// records, inside the hour those records belong to. This is a gap moto
// leaves, and the harness fills it: the clock's Hook, on the motoproxy in
// front of moto for the functions' calls, answers DescribeLogStreams from
// moto with each dated stream's creationTime replaced by its delivery time.
// Streams it was not told about keep moto's date; the shipped functions
// are unchanged.
type StreamClock struct {
	rp *httputil.ReverseProxy

	mu      sync.Mutex
	created map[string]map[string]int64 // group, stream: Unix milliseconds
}

// streamGroup carries the group of a DescribeLogStreams call to its answer.
type streamGroup struct{}

// NewStreamClock returns a clock whose Hook forwards to target, moto's URL.
func NewStreamClock(target string) (*StreamClock, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("stream clock: moto URL %q is not an absolute URL", target)
	}
	sc := &StreamClock{created: map[string]map[string]int64{}}
	sc.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// An uncompressed answer is one the clock can rewrite.
			pr.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: sc.modifyResponse,
	}
	return sc, nil
}

// Date records when the streams of group were created, by stream name.
func (sc *StreamClock) Date(group string, created map[string]time.Time) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	m := sc.created[group]
	if m == nil {
		m = map[string]int64{}
		sc.created[group] = m
	}
	for stream, at := range created {
		m[stream] = at.UnixMilli()
	}
}

// Forget drops every date, as moto forgets every stream when it is reset.
func (sc *StreamClock) Forget() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.created = map[string]map[string]int64{}
}

// dates returns the dated streams of group, or nil.
func (sc *StreamClock) dates(group string) map[string]int64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return maps.Clone(sc.created[group])
}

// Hook answers, through moto, the DescribeLogStreams calls of a group with
// dated streams, and lets every other call go on.
func (sc *StreamClock) Hook() motoproxy.Hook {
	return func(w http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
		if c.Action != "DescribeLogStreams" {
			return false
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return false
		}
		// CloudWatch Logs' JSON protocol names the group either way.
		var in struct {
			LogGroupName       string `json:"logGroupName"`
			LogGroupIdentifier string `json:"logGroupIdentifier"`
		}
		if json.Unmarshal(body, &in) != nil {
			return false
		}
		group := in.LogGroupName
		if group == "" {
			group = in.LogGroupIdentifier
		}
		if len(sc.dates(group)) == 0 {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sc.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), streamGroup{}, group)))
		return true
	}
}

func (sc *StreamClock) modifyResponse(resp *http.Response) error {
	group, _ := resp.Request.Context().Value(streamGroup{}).(string)
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("stream clock: reading moto's DescribeLogStreams answer for %s: %w", group, err)
	}
	if body, err = redate(body, sc.dates(group)); err != nil {
		return fmt.Errorf("stream clock: the streams of %s: %w", group, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// redate sets the creationTime of each stream of a DescribeLogStreams
// answer that created names, and keeps everything else as moto wrote it.
func redate(body []byte, created map[string]int64) ([]byte, error) {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("decoding a DescribeLogStreams answer: %w", err)
	}
	raw, ok := page["logStreams"]
	if !ok {
		return body, nil
	}
	var streams []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &streams); err != nil {
		return nil, fmt.Errorf("decoding logStreams %.80s: %w", raw, err)
	}
	for _, s := range streams {
		var name string
		if err := json.Unmarshal(s["logStreamName"], &name); err != nil {
			return nil, fmt.Errorf("decoding a logStreamName %.80s: %w", s["logStreamName"], err)
		}
		if ms, ok := created[name]; ok {
			s["creationTime"] = json.RawMessage(strconv.FormatInt(ms, 10))
		}
	}
	var err error
	if page["logStreams"], err = json.Marshal(streams); err != nil {
		return nil, err
	}
	return json.Marshal(page)
}
