package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/vpcflowlogs/flowlogs/lambda/reconcile"
)

// scriptedServer answers the n-th PUT as script[n] says: an HTTP status,
// "drop" (close the connection) or "hang" (never answer); past the end of
// the script it answers 200. It records every body it receives.
type scriptedServer struct {
	*httptest.Server
	mu     sync.Mutex
	script []string
	bodies []string
	done   chan struct{}
}

func startScripted(t *testing.T, script ...string) *scriptedServer {
	s := &scriptedServer{script: script, done: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		step := "200"
		if n := len(s.bodies); n < len(s.script) {
			step = s.script[n]
		}
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		switch step {
		case "drop":
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
		case "hang":
			select {
			case <-req.Context().Done():
			case <-s.done:
			}
		default:
			code, _ := strconv.Atoi(step)
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(func() {
		close(s.done)
		s.Close()
	})
	return s
}

func (s *scriptedServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// TestAnswerClient proves that an answer survives what a PUT to S3 can
// meet: 429, 5xx, dropped connections and hanging attempts are retried
// with the same body until one is accepted; any other status is final and
// nothing is sent after a 2xx; attempts are bounded.
func TestAnswerClient(t *testing.T) {
	tests := []struct {
		name         string
		script       []string
		wantAttempts int
		wantStatus   int // 0: an error
	}{
		{name: "accepted at once", script: []string{"200"}, wantAttempts: 1, wantStatus: 200},
		{name: "any 2xx is accepted and final", script: []string{"204", "500"}, wantAttempts: 1, wantStatus: 204},
		{name: "two 503s, then accepted", script: []string{"503", "503"}, wantAttempts: 3, wantStatus: 200},
		{name: "429 is retried", script: []string{"429"}, wantAttempts: 2, wantStatus: 200},
		{name: "500, 502 and 504 are retried", script: []string{"500", "502", "504"}, wantAttempts: 4, wantStatus: 200},
		{name: "a dropped connection is retried", script: []string{"drop"}, wantAttempts: 2, wantStatus: 200},
		{name: "a hanging attempt is retried after its time limit", script: []string{"hang"}, wantAttempts: 2, wantStatus: 200},
		{name: "400 is final", script: []string{"400"}, wantAttempts: 1, wantStatus: 400},
		{name: "403 (an expired URL) is final", script: []string{"403"}, wantAttempts: 1, wantStatus: 403},
		{name: "404 is final", script: []string{"404"}, wantAttempts: 1, wantStatus: 404},
		{name: "503 every time stops after the attempts", script: []string{"503", "503", "503", "503", "503"}, wantAttempts: 4, wantStatus: 503},
		{name: "drops every time stop after the attempts with an error", script: []string{"drop", "drop", "drop", "drop", "drop"}, wantAttempts: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.script...)
			c := &reconcile.AnswerClient{Attempts: 4, AttemptTimeout: 300 * time.Millisecond, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
			const body = `{"Status":"SUCCESS"}`
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPut, srv.URL+"/answer", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			got := srv.received()
			if len(got) != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", len(got), tt.wantAttempts)
			}
			for i, b := range got {
				if b != body {
					t.Errorf("attempt %d sent %q, want %q", i+1, b, body)
				}
			}
			switch {
			case tt.wantStatus == 0 && err == nil:
				t.Errorf("status %d, want an error", resp.StatusCode)
			case tt.wantStatus == 0:
				if strings.Contains(err.Error(), srv.URL) {
					t.Errorf("error %q shows the response URL", err)
				}
			case err != nil:
				t.Errorf("error %v, want status %d", err, tt.wantStatus)
			case resp.StatusCode != tt.wantStatus:
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// TestAnswerClientDeadline proves that retries never outlive the request's
// context (the Lambda's deadline): against a ResponseURL that always
// hangs, each attempt takes at most half the time left, and Do gives up
// before the deadline, having tried more than once.
func TestAnswerClientDeadline(t *testing.T) {
	srv := startScripted(t, "hang", "hang", "hang", "hang", "hang", "hang", "hang", "hang")
	c := &reconcile.AnswerClient{Attempts: 8, AttemptTimeout: time.Minute, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+"/answer", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Error("no error from a URL that never answers")
	}
	if late := time.Since(deadline); late > 0 {
		t.Errorf("Do returned %s after the deadline", late)
	}
	if n := len(srv.received()); n < 2 {
		t.Errorf("%d attempts, want a retry after the first hanging one", n)
	}
}

// TestSendAnswer checks the answer on the wire: the fields of cfn.Response,
// an error naming the status when it is refused, and an answer too large
// for CloudFormation replaced by a FAILED one that fits.
func TestSendAnswer(t *testing.T) {
	ev := cfn.Event{RequestID: "req-1", LogicalResourceID: "Enabler", StackID: "stack-1"}
	big := map[string]any{"Blob": strings.Repeat("x", reconcile.MaxResponseBytes)}
	tests := []struct {
		name       string
		script     []string
		data       map[string]any
		wantErr    string
		wantStatus cfn.StatusType
		wantReason string
	}{
		{name: "accepted", data: map[string]any{"Tagged": "2"}, wantStatus: cfn.StatusSuccess},
		{name: "refused", script: []string{"400"}, wantErr: "sending the SUCCESS answer: HTTP 400 Bad Request", wantStatus: cfn.StatusSuccess},
		{name: "too large", data: big, wantStatus: cfn.StatusFailed, wantReason: "more than CloudFormation's 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.script...)
			r := cfn.NewResponse(&ev)
			r.Status, r.PhysicalResourceID, r.Data = cfn.StatusSuccess, "Enabler-1", tt.data
			err := reconcile.SendAnswer(context.Background(), &reconcile.AnswerClient{}, srv.URL+"/answer", r)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			got := srv.received()
			if len(got) != 1 {
				t.Fatalf("%d attempts, want 1", len(got))
			}
			var sent cfn.Response
			if err := json.NewDecoder(bytes.NewReader([]byte(got[0]))).Decode(&sent); err != nil {
				t.Fatal(err)
			}
			if len(got[0]) > reconcile.MaxResponseBytes || sent.Status != tt.wantStatus || !strings.Contains(sent.Reason, tt.wantReason) ||
				sent.RequestID != "req-1" || sent.StackID != "stack-1" || sent.PhysicalResourceID != "Enabler-1" {
				t.Errorf("sent %d bytes: %+v; want status %s, reason containing %q", len(got[0]), sent, tt.wantStatus, tt.wantReason)
			}
		})
	}
}
