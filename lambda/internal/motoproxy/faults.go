package motoproxy

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// FaultKind is a way a call fails.
type FaultKind string

// The kinds of fault a Faults hook injects; see the package documentation.
const (
	Throttle      FaultKind = "throttle"
	InternalError FaultKind = "http-500"
	Unavailable   FaultKind = "http-503"
	Drop          FaultKind = "dropped-connection"
	LostAnswer    FaultKind = "lost-answer"
)

// FaultKinds lists every kind in a fixed order, for reports.
var FaultKinds = []FaultKind{Throttle, InternalError, Unavailable, Drop, LostAnswer}

// DefaultFaultMix weighs the kinds as the faults of a busy account come:
// throttling most, then server errors and connections lost either way.
var DefaultFaultMix = map[FaultKind]float64{
	Throttle:      0.40,
	InternalError: 0.15,
	Unavailable:   0.15,
	Drop:          0.15,
	LostAnswer:    0.15,
}

// FaultConfig describes the faults of a Faults hook.
type FaultConfig struct {
	// Rate is the share of requests that fail, from 0 to 1.
	Rate float64
	// Seed seeds the choice of faulted requests and of their kinds.
	Seed uint64
	// Mix weighs the kinds; nil means DefaultFaultMix. A kind missing from
	// it never happens.
	Mix map[FaultKind]float64
}

// FaultStats counts what a Faults hook saw and did.
type FaultStats struct {
	FaultCounts
	// ByAction holds the same counts per action (DescribeVpcs,
	// PutLogEvents, ...).
	ByAction map[string]FaultCounts
}

// FaultCounts are the counters of FaultStats.
type FaultCounts struct {
	// Requests is every request received, retries included.
	Requests int
	// Retries is the requests whose amz-sdk-request header gave an attempt
	// number above 1: the SDK retrying after a failed attempt.
	Retries int
	// MaxAttempt is the highest attempt number seen.
	MaxAttempt int
	// Faults counts the injected faults by kind.
	Faults map[FaultKind]int
	// Unshaped counts requests of a protocol the hook cannot fault, let
	// through untouched.
	Unshaped int
}

// TotalFaults is the sum of Faults.
func (c FaultCounts) TotalFaults() int {
	n := 0
	for _, v := range c.Faults {
		n += v
	}
	return n
}

// Add adds o's counts to c's.
func (c *FaultCounts) Add(o FaultCounts) {
	c.Requests += o.Requests
	c.Retries += o.Retries
	c.MaxAttempt = max(c.MaxAttempt, o.MaxAttempt)
	c.Unshaped += o.Unshaped
	for k, v := range o.Faults {
		if c.Faults == nil {
			c.Faults = map[FaultKind]int{}
		}
		c.Faults[k] += v
	}
}

// Faults makes a share of the calls through a Proxy fail the ways AWS calls
// fail. Add its Hook to a proxy, first, so that a faulted call reaches
// neither the other hooks nor moto.
type Faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	kinds    []FaultKind
	weights  []float64
	byAction map[string]*FaultCounts
	seq      int
}

// NewFaults returns the fault injector c describes.
func NewFaults(c FaultConfig) (*Faults, error) {
	if c.Rate < 0 || c.Rate > 1 {
		return nil, fmt.Errorf("fault rate %v is not between 0 and 1", c.Rate)
	}
	mix := c.Mix
	if mix == nil {
		mix = DefaultFaultMix
	}
	for k := range mix {
		if !slices.Contains(FaultKinds, k) {
			return nil, fmt.Errorf("unknown fault kind %q", k)
		}
	}
	f := &Faults{rng: newRand(c.Seed), rate: c.Rate, byAction: map[string]*FaultCounts{}}
	for _, k := range FaultKinds {
		if w := mix[k]; w > 0 {
			f.kinds = append(f.kinds, k)
			f.weights = append(f.weights, w)
		}
	}
	if len(f.kinds) == 0 && c.Rate > 0 {
		return nil, errors.New("the fault mix gives no kind a positive weight")
	}
	return f, nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed_fa17)) }

// SetRate changes the share of requests that fail, from the next request
// on. Rate 0 lets every request through, for setting up state.
func (f *Faults) SetRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate = min(max(rate, 0), 1)
}

// Reseed restarts the choice of faults from seed, so that one injector
// can serve several seeded runs.
func (f *Faults) Reseed(seed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng = newRand(seed)
	f.seq = 0
}

// Stats returns the counts since the start or the last ResetStats.
func (f *Faults) Stats() FaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := FaultStats{ByAction: map[string]FaultCounts{}}
	for a, c := range f.byAction {
		cc := *c
		cc.Faults = maps.Clone(c.Faults)
		s.ByAction[a] = cc
		s.Add(cc)
	}
	if s.Faults == nil {
		s.Faults = map[FaultKind]int{}
	}
	return s
}

// ResetStats sets every count back to zero.
func (f *Faults) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byAction = map[string]*FaultCounts{}
}

// Hook is the Hook that injects the faults: add it with Proxy.AddHook.
func (f *Faults) Hook(w http.ResponseWriter, r *http.Request, c Call) bool {
	q := classify(r, c)
	kind, requestID := f.decide(q)
	switch kind {
	case Throttle, InternalError, Unavailable:
		errorFor(kind, q.proto, q.service).write(w, q.proto, requestID)
	case Drop:
		hangUp(w)
	case LostAnswer:
		// The call goes on to moto and is applied; its answer is lost.
		c.forward(httptest.NewRecorder())
		hangUp(w)
	default:
		return false
	}
	return true
}

// request is what the hook reads from a request before deciding.
type request struct {
	action  string
	service string // X-Amz-Target prefix of JSON protocols
	proto   Protocol
	attempt int
}

var attemptRE = regexp.MustCompile(`(?:^|;)\s*attempt=(\d+)`)

func classify(r *http.Request, c Call) request {
	q := request{proto: Unshaped, action: r.Method + " " + r.URL.Path}
	if m := attemptRE.FindStringSubmatch(r.Header.Get("Amz-Sdk-Request")); m != nil {
		q.attempt, _ = strconv.Atoi(m[1])
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		i := strings.LastIndex(t, ".")
		q.service, q.action, q.proto = t[:max(i, 0)], t[i+1:], AWSJSON
		return q
	}
	if a := c.Form.Get("Action"); a != "" {
		q.action, q.proto = a, AWSQuery
		if c.Form.Get("Version") == ec2APIVersion {
			q.proto = EC2Query
		}
	}
	return q
}

// decide draws whether the request fails and how, and counts it. It
// returns "" for a request that goes on, and the request id to answer with.
func (f *Faults) decide(q request) (FaultKind, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	c := f.byAction[q.action]
	if c == nil {
		c = &FaultCounts{Faults: map[FaultKind]int{}}
		f.byAction[q.action] = c
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
	u, v := f.rng.Float64(), f.rng.Float64()
	id := fmt.Sprintf("motoproxy-%08d", f.seq)
	if u >= f.rate {
		return "", id
	}
	kind := f.pick(v)
	c.Faults[kind]++
	return kind, id
}

// pick maps v, uniform in [0, 1), to a kind by the weights.
func (f *Faults) pick(v float64) FaultKind {
	var total float64
	for _, w := range f.weights {
		total += w
	}
	v *= total
	for i, w := range f.weights {
		if v < w {
			return f.kinds[i]
		}
		v -= w
	}
	return f.kinds[len(f.kinds)-1]
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
