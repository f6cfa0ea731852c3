package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Kind is a way a call fails.
type Kind string

// The kinds of fault the proxy injects; see the package documentation.
const (
	Throttle      Kind = "throttle"
	InternalError Kind = "http-500"
	Unavailable   Kind = "http-503"
	Drop          Kind = "dropped-connection"
	LostAnswer    Kind = "lost-answer"
)

// Kinds lists every kind in a fixed order, for reports.
var Kinds = []Kind{Throttle, InternalError, Unavailable, Drop, LostAnswer}

// DefaultMix weighs the kinds as the faults of a busy account come:
// throttling most, then server errors and connections lost either way.
var DefaultMix = map[Kind]float64{
	Throttle:      0.40,
	InternalError: 0.15,
	Unavailable:   0.15,
	Drop:          0.15,
	LostAnswer:    0.15,
}

// Config describes a proxy.
type Config struct {
	// Target is the URL requests are forwarded to (moto, or another proxy
	// in front of it).
	Target string
	// Rate is the share of requests that fail, from 0 to 1.
	Rate float64
	// Seed seeds the choice of faulted requests and of their kinds.
	Seed uint64
	// Mix weighs the kinds; nil means DefaultMix. A kind missing from it
	// never happens.
	Mix map[Kind]float64
}

// Stats counts what the proxy saw and did.
type Stats struct {
	Counts
	// ByAction holds the same counts per action (DescribeVpcs,
	// PutLogEvents, ...).
	ByAction map[string]Counts
}

// Counts are the counters of Stats.
type Counts struct {
	// Requests is every request received, retries included.
	Requests int
	// Retries is the requests whose amz-sdk-request header gave an attempt
	// number above 1: the SDK retrying after a failed attempt.
	Retries int
	// MaxAttempt is the highest attempt number seen.
	MaxAttempt int
	// Faults counts the injected faults by kind.
	Faults map[Kind]int
	// Unshaped counts requests of a protocol the proxy cannot fault,
	// forwarded untouched.
	Unshaped int
}

// TotalFaults is the sum of Faults.
func (c Counts) TotalFaults() int {
	n := 0
	for _, v := range c.Faults {
		n += v
	}
	return n
}

func (c *Counts) add(o Counts) {
	c.Requests += o.Requests
	c.Retries += o.Retries
	c.MaxAttempt = max(c.MaxAttempt, o.MaxAttempt)
	c.Unshaped += o.Unshaped
	for k, v := range o.Faults {
		if c.Faults == nil {
			c.Faults = map[Kind]int{}
		}
		c.Faults[k] += v
	}
}

// Proxy is a running fault-injecting proxy on a loopback port.
type Proxy struct {
	// URL is the endpoint to give the SDK (AWS_ENDPOINT_URL).
	URL string

	target *url.URL
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	client *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	kinds    []Kind
	weights  []float64
	byAction map[string]*Counts
	seq      int
}

// Start starts a proxy for c on a free loopback port.
func Start(c Config) (*Proxy, error) {
	u, err := url.Parse(c.Target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("target %q is not an absolute URL", c.Target)
	}
	if c.Rate < 0 || c.Rate > 1 {
		return nil, fmt.Errorf("fault rate %v is not between 0 and 1", c.Rate)
	}
	mix := c.Mix
	if mix == nil {
		mix = DefaultMix
	}
	p := &Proxy{
		target:   u,
		rng:      rand.New(rand.NewPCG(c.Seed, 0x5eed_fa17)),
		rate:     c.Rate,
		byAction: map[string]*Counts{},
		// The proxy's own client for LostAnswer forwards: no timeout of
		// its own, the caller's context bounds it.
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	for _, k := range Kinds {
		if w := mix[k]; w > 0 {
			p.kinds = append(p.kinds, k)
			p.weights = append(p.weights, w)
		}
	}
	for k := range mix {
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("unknown fault kind %q", k)
		}
	}
	if len(p.kinds) == 0 && c.Rate > 0 {
		return nil, errors.New("the fault mix gives no kind a positive weight")
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
		},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// SetRate changes the share of requests that fail, from the next request
// on. Rate 0 lets every request through, for setting up state.
func (p *Proxy) SetRate(rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = min(max(rate, 0), 1)
}

// Reseed restarts the choice of faults from seed, so that one proxy can
// serve several seeded runs.
func (p *Proxy) Reseed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng = rand.New(rand.NewPCG(seed, 0x5eed_fa17))
	p.seq = 0
}

// Stats returns the counts since the start or the last ResetStats.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{ByAction: map[string]Counts{}}
	for a, c := range p.byAction {
		cc := *c
		cc.Faults = map[Kind]int{}
		for k, v := range c.Faults {
			cc.Faults[k] = v
		}
		s.ByAction[a] = cc
		s.add(cc)
	}
	if s.Faults == nil {
		s.Faults = map[Kind]int{}
	}
	return s
}

// ResetStats sets every count back to zero.
func (p *Proxy) ResetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byAction = map[string]*Counts{}
}

// request is what the proxy reads from a request before deciding.
type request struct {
	action  string
	service string // X-Amz-Target prefix of JSON protocols
	proto   Protocol
	attempt int
	body    []byte
}

var attemptRE = regexp.MustCompile(`(?:^|;)\s*attempt=(\d+)`)

func readRequest(r *http.Request) (request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return request{}, err
	}
	q := request{body: body, proto: Unshaped}
	if m := attemptRE.FindStringSubmatch(r.Header.Get("Amz-Sdk-Request")); m != nil {
		q.attempt, _ = strconv.Atoi(m[1])
	}
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		t := r.Header.Get("X-Amz-Target")
		i := strings.LastIndex(t, ".")
		q.service, q.action, q.proto = t[:max(i, 0)], t[i+1:], AWSJSON
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") != "" {
			q.action, q.proto = form.Get("Action"), AWSQuery
			if form.Get("Version") == ec2APIVersion {
				q.proto = EC2Query
			}
		}
	}
	if q.action == "" {
		q.action = r.Method + " " + r.URL.Path
	}
	return q, nil
}

// decide draws whether the request fails and how, and counts it.
func (p *Proxy) decide(q request) (Kind, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	c := p.byAction[q.action]
	if c == nil {
		c = &Counts{Faults: map[Kind]int{}}
		p.byAction[q.action] = c
	}
	c.Requests++
	if q.attempt > 1 {
		c.Retries++
	}
	c.MaxAttempt = max(c.MaxAttempt, q.attempt)
	if q.proto == Unshaped {
		c.Unshaped++
		return "", ""
	}
	// Both draws happen for every request, so the sequence of decisions
	// depends on the seed and the order of requests, not on the rate.
	u, v := p.rng.Float64(), p.rng.Float64()
	id := fmt.Sprintf("faultproxy-%08d", p.seq)
	if u >= p.rate {
		return "", id
	}
	var total float64
	for _, w := range p.weights {
		total += w
	}
	v *= total
	kind := p.kinds[len(p.kinds)-1]
	for i, w := range p.weights {
		if v < w {
			kind = p.kinds[i]
			break
		}
		v -= w
	}
	c.Faults[kind]++
	return kind, id
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	q, err := readRequest(r)
	if err != nil {
		http.Error(w, "faultproxy: reading the request: "+err.Error(), http.StatusBadGateway)
		return
	}
	kind, requestID := p.decide(q)
	switch kind {
	case Throttle, InternalError, Unavailable:
		errorFor(kind, q.proto, q.service).write(w, q.proto, requestID)
		return
	case Drop:
		hangUp(w)
		return
	case LostAnswer:
		p.forwardAndHangUp(w, r, q.body)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(q.body))
	p.rp.ServeHTTP(w, r)
}

// forwardAndHangUp sends the request on, waits for the target's complete
// answer, and then closes the connection without passing it back.
func (p *Proxy) forwardAndHangUp(w http.ResponseWriter, r *http.Request, body []byte) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := p.client.Do(out)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	hangUp(w)
}

// hangUp closes the client's connection with no answer.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not reachable with the HTTP/1.1 server the proxy runs; abort
		// the handler, which also ends the connection without an answer.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
