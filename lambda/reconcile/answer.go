package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
)

// Defaults of AnswerClient.
const (
	// DefaultAnswerAttempts bounds the PUTs of one answer.
	DefaultAnswerAttempts = 6
	// DefaultAttemptTimeout bounds one PUT of at most 4,096 bytes to S3,
	// which normally takes well under a second.
	DefaultAttemptTimeout = 5 * time.Second
	// DefaultAnswerBackoff and DefaultAnswerMaxBackoff shape the capped
	// exponential backoff between attempts (full jitter).
	DefaultAnswerBackoff    = 200 * time.Millisecond
	DefaultAnswerMaxBackoff = 2 * time.Second
)

// minAttemptTime is the least time worth starting another attempt with.
const minAttemptTime = 100 * time.Millisecond

// maxErrorBody bounds what is read of a failed answer's response body, for
// the log.
const maxErrorBody = 1024

// AnswerClient sends the answer to CloudFormation's pre-signed ResponseURL
// (an S3 object), where cfn.LambdaWrap sends it once with
// http.DefaultClient: no time limit, no retry, so that one 503 leaves the
// stack waiting for its whole ServiceTimeout. Do has the shape of
// aws-lambda-go's (unexported) cfn client interface.
//
// Each attempt is limited to AttemptTimeout and to half the time left
// before the request context's deadline, so that a hanging attempt still
// leaves time for another. Network errors, 429 and 5xx are retried with
// capped exponential backoff and full jitter, re-sending the same body,
// until Attempts were made or the deadline would pass; any other status is
// final. Nothing is retried after a 2xx, so CloudFormation gets one
// accepted answer. A retry after a timed-out attempt may send a second
// copy of the same answer, which S3 stores over the first.
type AnswerClient struct {
	// HTTP sends each attempt; nil means a client of its own.
	HTTP *http.Client
	// Attempts, AttemptTimeout, Backoff and MaxBackoff override the
	// defaults when set.
	Attempts                            int
	AttemptTimeout, Backoff, MaxBackoff time.Duration
}

var defaultAnswerHTTP = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// Do sends req until an attempt is answered with a final status, and
// returns that response with its body read (at most 1 KB kept) and
// closed. A response of 429 or 5xx is returned when no attempt is left.
// req must have a body that GetBody can re-open (http.NewRequest sets it
// for a bytes.Reader).
func (c *AnswerClient) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempts := cmp0(c.Attempts, DefaultAnswerAttempts)
	for n := 1; ; n++ {
		resp, err := c.attempt(req, n)
		if err == nil && !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		what := attemptError(resp, err)
		if n >= attempts {
			if err != nil {
				return nil, fmt.Errorf("after %d attempts: %w", n, err)
			}
			return resp, nil
		}
		delay := c.backoff(n)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < delay+minAttemptTime {
			if err != nil {
				return nil, fmt.Errorf("after %d attempts, with no time left for another: %w", n, err)
			}
			return resp, nil
		}
		slog.WarnContext(ctx, "answering CloudFormation: attempt failed, retrying", "attempt", n, "error", what, "retryIn", delay.String())
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("after %d attempts: %w (last: %s)", n, ctx.Err(), what)
		case <-time.After(delay):
		}
	}
}

// attempt makes one PUT within its own time limit. The body is read before
// the limit's context ends, so the response stays readable.
func (c *AnswerClient) attempt(req *http.Request, n int) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), c.attemptTimeout(req.Context()))
	defer cancel()
	r := req.Clone(ctx)
	if n > 1 {
		if req.GetBody == nil {
			return nil, errors.New("the answer's body cannot be sent again")
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("re-reading the answer to send it again: %w", err)
		}
		r.Body = body
	}
	client := c.HTTP
	if client == nil {
		client = defaultAnswerHTTP
	}
	resp, err := client.Do(r)
	if err != nil {
		return nil, withoutURL(err)
	}
	defer resp.Body.Close()
	kept, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer's response: %w", withoutURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	resp.Body = io.NopCloser(bytes.NewReader(kept))
	return resp, nil
}

// attemptTimeout is AttemptTimeout, or half the time left before ctx's
// deadline when that is shorter.
func (c *AnswerClient) attemptTimeout(ctx context.Context) time.Duration {
	limit := cmp0(c.AttemptTimeout, DefaultAttemptTimeout)
	if d, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(d)/2)
	}
	return limit
}

// backoff is the wait after attempt n: uniformly random up to
// Backoff·2^(n-1), capped at MaxBackoff.
func (c *AnswerClient) backoff(n int) time.Duration {
	base, ceiling := cmp0(c.Backoff, DefaultAnswerBackoff), cmp0(c.MaxBackoff, DefaultAnswerMaxBackoff)
	d := ceiling
	if n < 30 && base<<(n-1) < ceiling {
		d = base << (n - 1)
	}
	return rand.N(d) + 1
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// attemptError says how an attempt failed, for the log.
func attemptError(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return "HTTP " + resp.Status
}

// withoutURL drops the URL from an *url.Error: the pre-signed ResponseURL
// lets whoever reads it answer for the stack, so it stays out of logs.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s response URL: %w", ue.Op, ue.Err)
	}
	return err
}

func cmp0[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// answer runs the custom resource function and answers CloudFormation
// itself, as cfn.LambdaWrap would but through an AnswerClient:
// aws-lambda-go v1.55.1 exports no way to give LambdaWrap or
// cfn.Response.Send another client, so the answer is built with
// cfn.NewResponse and sent here. Like LambdaWrap, it returns the sending
// error's text and the error; nil when CloudFormation has its answer.
func (h *Handler) answer(ctx context.Context, ev cfn.Event) (string, error) {
	r := cfn.NewResponse(&ev)
	var err error
	r.PhysicalResourceID, r.Data, err = h.CustomResource(ctx, ev)
	r.Status = cfn.StatusSuccess
	if err != nil {
		r.Status, r.Reason = cfn.StatusFailed, err.Error()
	}
	if err := SendAnswer(ctx, &AnswerClient{}, ev.ResponseURL, r); err != nil {
		slog.ErrorContext(ctx, "CloudFormation was not answered", "requestType", string(ev.RequestType),
			"status", string(r.Status), "error", err.Error())
		return err.Error(), err
	}
	return "", nil
}

// SendAnswer PUTs r to responseURL through client. An answer larger than
// CloudFormation takes (MaxResponseBytes) is replaced by a FAILED one
// that says so, since CloudFormation would reject it and keep waiting.
func SendAnswer(ctx context.Context, client *AnswerClient, responseURL string, r *cfn.Response) error {
	body, err := json.Marshal(r)
	if err == nil && len(body) > MaxResponseBytes {
		size := len(body)
		fallback := *r
		fallback.Status, fallback.Data = cfn.StatusFailed, nil
		fallback.Reason = fmt.Sprintf("the answer had %d bytes, more than CloudFormation's %d (see the function's log)", size, MaxResponseBytes)
		body, err = json.Marshal(&fallback)
	}
	if err != nil {
		return fmt.Errorf("encoding the %s answer: %w", r.Status, err)
	}
	// No Content-Type: the URL is signed without one, and S3 checks.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, responseURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the %s answer: %w", r.Status, withoutURL(err))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sending the %s answer: %w", r.Status, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("sending the %s answer: HTTP %s: %q", r.Status, resp.Status, b)
	}
	return nil
}
