package motoproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Call is one request as the proxy sees it.
type Call struct {
	// Action is the EC2 query action (DescribeVpcs), or the operation of a
	// JSON-protocol request's X-Amz-Target (CreateLogGroup), or "" when
	// neither is present.
	Action string
	// Form holds the decoded parameters of a query-protocol request; nil
	// for other protocols. Hooks must not change it.
	Form url.Values
	// Seq is 1 for the first call of Action since the last ResetCalls.
	Seq int

	// forward sends the call on to moto as if no hook had answered it,
	// writing moto's (rewritten) answer to w: for a hook that lets the
	// call happen and then loses its answer.
	forward func(w http.ResponseWriter)
	// forwardTo is forward to another moto server (ForwardTo).
	forwardTo func(w http.ResponseWriter, target *url.URL)
}

// Forward sends the call on to moto as if no hook had answered it and
// writes moto's (rewritten) answer to w: for a hook outside this package
// that lets the call happen and then spoils its answer.
func (c Call) Forward(w http.ResponseWriter) { c.forward(w) }

// ForwardTo sends the call to the moto server at target instead of the
// proxy's own, with the same rewrites (pagination, injected failures), and
// writes its answer to w: for a hook that routes calls (Shards).
func (c Call) ForwardTo(w http.ResponseWriter, target *url.URL) { c.forwardTo(w, target) }

// A Hook sees every call before it is forwarded, in the order the hooks were
// added. It returns true when it has answered the call itself (through w, or
// by hijacking the connection, or by forwarding r, whose body it may read),
// false to let the call go on.
type Hook func(w http.ResponseWriter, r *http.Request, c Call) bool

// Paginated maps each action the proxy paginates to the element of moto's
// answer that holds the items.
var Paginated = map[string]string{
	"DescribeVpcs":              "vpcSet",
	"DescribeFlowLogs":          "flowLogSet",
	"DescribeNetworkInterfaces": "networkInterfaceSet",
}

// ItemParams maps each batch action whose per-item failures the proxy can
// inject to the query parameter listing its items.
var ItemParams = map[string]string{
	"CreateFlowLogs": "ResourceId",
	"DeleteFlowLogs": "FlowLogId",
}

// Page sizes AWS accepts for MaxResults on the paginated actions.
const (
	MinMaxResults = 5
	MaxMaxResults = 1000
)

// MaxFilterValues is the most values EC2 takes in one filter of a call;
// the proxy answers a call with more as EC2 does, with HTTP 400
// FilterLimitExceeded, and moto, which has no limit, never sees it.
const MaxFilterValues = 200

// Proxy is a running proxy on a loopback port.
type Proxy struct {
	// URL is the endpoint to give the SDK instead of moto's.
	URL string

	target *url.URL
	srv    *httptest.Server
	rp     *httputil.ReverseProxy

	// dynamo holds DynamoDB's calls to moto one at a time (forward).
	dynamo sync.Mutex

	mu        sync.Mutex
	calls     map[string]int
	hooks     []Hook
	itemFails map[itemKey]failure
	callFails map[itemKey]failure
}

// failure is an error code and message to report.
type failure struct {
	Code    string
	Message string
}

type itemKey struct{ action, id string }

// state travels with a rewritten request to its response.
type state struct {
	page         bool
	offset, size int
	setElement   string
	failed       []unsuccessful
}

type unsuccessful struct {
	id string
	failure
}

type stateKey struct{}

// targetKey carries the moto server a hook chose for a call (ForwardTo).
type targetKey struct{}

// New starts a proxy in front of target, moto's URL.
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("moto URL %q is not an absolute URL", target)
	}
	p := &Proxy{
		target:    u,
		calls:     map[string]int{},
		itemFails: map[itemKey]failure{},
		callFails: map[itemKey]failure{},
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			if t, ok := pr.In.Context().Value(targetKey{}).(*url.URL); ok {
				pr.SetURL(t)
			} else {
				pr.SetURL(u)
			}
			// An uncompressed answer is one the proxy can rewrite.
			pr.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: p.modifyResponse,
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy. It closes the clients' connections first, so that
// a function's idle keep-alive connection or a held call does not keep it
// waiting.
func (p *Proxy) Close() {
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// AddHook appends h to the hooks every call passes through.
func (p *Proxy) AddHook(h Hook) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks = append(p.hooks, h)
}

// FailItem makes every call of action (CreateFlowLogs or DeleteFlowLogs)
// that names id leave id out of what it forwards to moto and report it in
// the answer's Unsuccessful list with code and message, as AWS reports a
// partial failure.
func (p *Proxy) FailItem(action, id, code, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.itemFails[itemKey{action, id}] = failure{code, message}
}

// FailCall makes every call of action that names id fail as a whole with
// code and message (HTTP 400), as AWS answers when one resource of a batch
// is denied or missing.
func (p *Proxy) FailCall(action, id, code, message string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.callFails[itemKey{action, id}] = failure{code, message}
}

// Calls returns how many calls of each action the proxy has seen since the
// last ResetCalls, answered by moto or by the proxy.
func (p *Proxy) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

// Count returns how many calls of action the proxy has seen.
func (p *Proxy) Count(action string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[action]
}

// Total returns how many calls of any action the proxy has seen.
func (p *Proxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.calls {
		n += v
	}
	return n
}

// ResetCalls sets every count back to zero.
func (p *Proxy) ResetCalls() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
}

// Reset drops every hook and injected failure and sets the counts to zero.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
	p.hooks = nil
	p.itemFails = map[itemKey]failure{}
	p.callFails = map[itemKey]failure{}
}

// Delay is a Hook that holds every call of action for d (or until the
// caller gives up) before letting it go on; "" matches every action.
func Delay(action string, d time.Duration) Hook {
	return func(_ http.ResponseWriter, r *http.Request, c Call) bool {
		if action != "" && c.Action != action {
			return false
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		return false
	}
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "motoproxy: reading the request: "+err.Error(), http.StatusBadGateway)
		return
	}
	c := Call{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			c.Form = form
			c.Action = form.Get("Action")
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" && c.Action == "" {
		c.Action = t[strings.LastIndex(t, ".")+1:]
	}

	p.mu.Lock()
	p.calls[c.Action]++
	c.Seq = p.calls[c.Action]
	hooks := slices.Clone(p.hooks)
	p.mu.Unlock()

	c.forward = func(w http.ResponseWriter) { p.forward(w, r, c, body) }
	c.forwardTo = func(w http.ResponseWriter, target *url.URL) {
		p.forward(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)), c, body)
	}

	for _, h := range hooks {
		// Each hook gets the whole body, so that one can forward the call.
		r.Body = io.NopCloser(bytes.NewReader(body))
		if h(w, r, c) {
			return
		}
	}

	p.forward(w, r, c, body)
}

// forward rewrites the call (pagination, injected item failures) and
// sends it to moto, or answers it when the rewrite says so.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, c Call, body []byte) {
	st := &state{}
	if c.Form != nil {
		var answered bool
		body, answered = p.rewrite(w, c, body, st)
		if answered {
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	if strings.HasPrefix(r.Header.Get("X-Amz-Target"), dynamoDBService+".") {
		// DynamoDB isolates each transaction; moto does not: one that
		// fails its condition restores the tables it names from copies
		// taken when it began, undoing what other threads wrote there
		// meanwhile. Its calls go to moto one at a time; the functions
		// still race as they would against DynamoDB.
		p.dynamo.Lock()
		defer p.dynamo.Unlock()
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
}

// rewrite changes a query-protocol request before it goes to moto, or
// answers it. It returns the body to forward and whether it answered.
func (p *Proxy) rewrite(w http.ResponseWriter, c Call, body []byte, st *state) ([]byte, bool) {
	form := cloneValues(c.Form)
	changed := false

	if n := maxFilterValues(form); n > MaxFilterValues {
		WriteError(w, http.StatusBadRequest, "FilterLimitExceeded",
			fmt.Sprintf("The maximum number of filter values specified on a single call is %d", MaxFilterValues))
		return nil, true
	}

	if set, ok := Paginated[c.Action]; ok && (form.Has("MaxResults") || form.Has("NextToken")) {
		size := MaxMaxResults
		if s := form.Get("MaxResults"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < MinMaxResults || n > MaxMaxResults {
				WriteError(w, http.StatusBadRequest, "InvalidParameterValue",
					fmt.Sprintf("Value ( %s ) for parameter maxResults is invalid. Expecting a value between %d and %d.", s, MinMaxResults, MaxMaxResults))
				return nil, true
			}
			size = n
		}
		offset := 0
		if tok := form.Get("NextToken"); tok != "" {
			n, ok := parseToken(tok)
			if !ok {
				WriteError(w, http.StatusBadRequest, "InvalidParameterValue", "Invalid value for nextToken: "+tok)
				return nil, true
			}
			offset = n
		}
		form.Del("MaxResults")
		form.Del("NextToken")
		*st = state{page: true, offset: offset, size: size, setElement: set}
		changed = true
	}

	if param, ok := ItemParams[c.Action]; ok {
		ids := listParam(form, param)
		p.mu.Lock()
		var keep []string
		for _, id := range ids {
			if f, bad := p.callFails[itemKey{c.Action, id}]; bad {
				p.mu.Unlock()
				WriteError(w, http.StatusBadRequest, f.Code, f.Message)
				return nil, true
			}
			if f, bad := p.itemFails[itemKey{c.Action, id}]; bad {
				st.failed = append(st.failed, unsuccessful{id, f})
				continue
			}
			keep = append(keep, id)
		}
		p.mu.Unlock()
		if len(st.failed) > 0 {
			if len(keep) == 0 {
				writeOnlyUnsuccessful(w, c.Action, st.failed)
				return nil, true
			}
			setListParam(form, param, keep)
			changed = true
		}
	}

	if !changed {
		return body, false
	}
	return []byte(form.Encode()), false
}

func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(stateKey{}).(*state)
	if st == nil || resp.StatusCode != http.StatusOK || (!st.page && len(st.failed) == 0) {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("motoproxy: reading moto's answer: %w", err)
	}
	if st.page {
		body, err = page(body, st.setElement, st.offset, st.size)
	}
	if err == nil && len(st.failed) > 0 {
		body, err = addUnsuccessful(body, st.failed)
	}
	if err != nil {
		return fmt.Errorf("motoproxy: rewriting moto's answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Del("Content-Encoding")
	return nil
}

const tokenPrefix = "motoproxy-"

func pageToken(offset int) string { return tokenPrefix + strconv.Itoa(offset) }

func parseToken(tok string) (int, bool) {
	s, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// maxFilterValues is the number of values of the largest filter of a
// query-protocol request (Filter.1.Value.1, Filter.1.Value.2, ...).
func maxFilterValues(form url.Values) int {
	per := map[string]int{}
	most := 0
	for k := range form {
		rest, ok := strings.CutPrefix(k, "Filter.")
		if !ok {
			continue
		}
		n, _, ok := strings.Cut(rest, ".Value.")
		if !ok {
			continue
		}
		per[n]++
		most = max(most, per[n])
	}
	return most
}

// listParam reads a query-protocol list (Param.1, Param.2, ...) in order.
func listParam(form url.Values, param string) []string {
	var out []string
	for i := 1; ; i++ {
		k := param + "." + strconv.Itoa(i)
		if !form.Has(k) {
			return out
		}
		out = append(out, form.Get(k))
	}
}

func setListParam(form url.Values, param string, ids []string) {
	for k := range form {
		if strings.HasPrefix(k, param+".") {
			form.Del(k)
		}
	}
	for i, id := range ids {
		form.Set(param+"."+strconv.Itoa(i+1), id)
	}
}
