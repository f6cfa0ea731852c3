package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/aws/aws-lambda-go/cfn"
)

// CFNResponse is one attempt a custom resource made at answering on its
// ResponseURL.
type CFNResponse struct {
	Path string // the URL path the answer was sent to, one per request
	Raw  []byte // the body exactly as sent
	// Body is the answer decoded into aws-lambda-go's own type, so that a
	// field the function sends and CloudFormation reads cannot be missed.
	Body cfn.Response
	// Fault is how the responder failed this attempt; "" means it was
	// accepted with HTTP 200.
	Fault Fault
}

// Fault is how the responder fails an attempt, standing in for the ways a
// PUT to S3 can go wrong.
type Fault string

// Faults the responder can inject.
const (
	// FaultUnavailable answers HTTP 503, as S3 does when it sheds load.
	FaultUnavailable Fault = "503"
	// FaultThrottled answers HTTP 429.
	FaultThrottled Fault = "429"
	// FaultBadRequest answers HTTP 400, as S3 does for a malformed or
	// expired pre-signed request: retrying cannot help.
	FaultBadRequest Fault = "400"
	// FaultDrop closes the connection without answering.
	FaultDrop Fault = "drop"
	// FaultHang reads the answer and never replies, until the client gives
	// up or the responder is closed.
	FaultHang Fault = "hang"
)

// CFNResponder stands in for CloudFormation's pre-signed S3 response URLs:
// it records every PUT it receives, and fails the first attempts of a
// request when told to.
type CFNResponder struct {
	srv       *httptest.Server
	closed    chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	got       []CFNResponse
	faults    map[string][]Fault // per path, the faults of the next attempts
}

// StartCFNResponder starts the endpoint on a loopback port.
func StartCFNResponder() *CFNResponder {
	r := &CFNResponder{closed: make(chan struct{}), faults: map[string][]Fault{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *CFNResponder) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	resp := CFNResponse{Path: req.URL.Path, Raw: body}
	if err := json.Unmarshal(body, &resp.Body); err != nil || req.Method != http.MethodPut {
		resp.Body.Status = cfn.StatusType("UNPARSEABLE " + req.Method)
	}
	r.mu.Lock()
	if fs := r.faults[req.URL.Path]; len(fs) > 0 {
		resp.Fault, r.faults[req.URL.Path] = fs[0], fs[1:]
	}
	r.got = append(r.got, resp)
	r.mu.Unlock()

	switch resp.Fault {
	case "":
		w.WriteHeader(http.StatusOK)
	case FaultUnavailable:
		http.Error(w, "<Error><Code>SlowDown</Code></Error>", http.StatusServiceUnavailable)
	case FaultThrottled:
		http.Error(w, "<Error><Code>SlowDown</Code></Error>", http.StatusTooManyRequests)
	case FaultBadRequest:
		http.Error(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", http.StatusBadRequest)
	case FaultDrop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	case FaultHang:
		select {
		case <-req.Context().Done():
		case <-r.closed:
		}
	}
}

// FailFirst makes the responder fail the next n attempts to answer the
// request named id with fault; later attempts are accepted.
func (r *CFNResponder) FailFirst(id string, n int, fault Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.faults["/"+id] = append(r.faults["/"+id], fault)
	}
}

// URL returns a response URL unique to one request, named by id.
func (r *CFNResponder) URL(id string) string { return r.srv.URL + "/" + id }

// Responses returns the answers accepted for the request named id, in
// order: CloudFormation acts on each of them.
func (r *CFNResponder) Responses(id string) []CFNResponse {
	var out []CFNResponse
	for _, g := range r.Attempts(id) {
		if g.Fault == "" {
			out = append(out, g)
		}
	}
	return out
}

// Attempts returns every attempt at answering the request named id, the
// failed ones included, in order.
func (r *CFNResponder) Attempts(id string) []CFNResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []CFNResponse
	for _, g := range r.got {
		if g.Path == "/"+id {
			out = append(out, g)
		}
	}
	return out
}

// Close releases hanging attempts and stops the endpoint.
func (r *CFNResponder) Close() {
	r.closeOnce.Do(func() {
		close(r.closed)
		r.srv.Close()
	})
}
