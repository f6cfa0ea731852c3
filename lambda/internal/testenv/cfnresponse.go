package testenv

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
)

// CFNResponse is one answer a custom resource sent to its ResponseURL.
type CFNResponse struct {
	Path string // the URL path the answer was sent to, one per request
	Raw  []byte // the body exactly as sent
	Body struct {
		Status             string         `json:"Status"`
		Reason             string         `json:"Reason"`
		PhysicalResourceID string         `json:"PhysicalResourceId"`
		StackID            string         `json:"StackId"`
		RequestID          string         `json:"RequestId"`
		LogicalResourceID  string         `json:"LogicalResourceId"`
		NoEcho             bool           `json:"NoEcho"`
		Data               map[string]any `json:"Data"`
	}
}

// CFNResponder stands in for CloudFormation's pre-signed S3 response URLs:
// it records every PUT it receives.
type CFNResponder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []CFNResponse
}

// StartCFNResponder starts the endpoint on a loopback port.
func StartCFNResponder() *CFNResponder {
	r := &CFNResponder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		resp := CFNResponse{Path: req.URL.Path, Raw: body}
		if err := json.Unmarshal(body, &resp.Body); err != nil || req.Method != http.MethodPut {
			resp.Body.Status = "UNPARSEABLE " + req.Method
		}
		r.mu.Lock()
		r.got = append(r.got, resp)
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	return r
}

// URL returns a response URL unique to one request, named by id.
func (r *CFNResponder) URL(id string) string { return r.srv.URL + "/" + id }

// Responses returns the answers received for the request named id, in order.
func (r *CFNResponder) Responses(id string) []CFNResponse {
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

// Close stops the endpoint.
func (r *CFNResponder) Close() { r.srv.Close() }
