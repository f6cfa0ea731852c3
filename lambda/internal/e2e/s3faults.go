package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
)

// S3Faults is a motoproxy hook that fails a seeded share of S3's REST
// reads (ListObjectsV2 and GetObject: GET requests with no X-Amz-Target
// and no query-protocol form), which motoproxy's Faults hook counts as
// unshaped and never fails. A faulted read gets, in equal shares: S3's
// 503 SlowDown or 500 InternalError in S3's XML error shape, a dropped
// connection, or (GetObject only; a listing gets a 503 instead) moto's
// answer cut off halfway through its body, the fault the SDK cannot retry
// and the digest's own fetch loop must.
type S3Faults struct {
	mu    sync.Mutex
	rng   *rand.Rand
	rate  float64
	stats S3FaultStats
	// cutAll cuts every GetObject short: a run's fetches then fail
	// whatever the retries, and the run fails.
	cutAll bool
}

// S3FaultStats counts what the hook did.
type S3FaultStats struct {
	Reads, SlowDown, Internal, Dropped, Truncated int
}

func (s S3FaultStats) String() string {
	return fmt.Sprintf("%d reads, faulted: %d SlowDown, %d InternalError, %d dropped, %d cut short",
		s.Reads, s.SlowDown, s.Internal, s.Dropped, s.Truncated)
}

// Faults returns how many reads were faulted.
func (s S3FaultStats) Faults() int { return s.SlowDown + s.Internal + s.Dropped + s.Truncated }

// NewS3Faults returns a hook that faults nothing until Set.
func NewS3Faults() *S3Faults { return &S3Faults{rng: rand.New(rand.NewPCG(0, 0))} }

// Set reseeds the hook, sets its rate and clears its counts.
func (f *S3Faults) Set(seed uint64, rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng, f.rate, f.stats = rand.New(rand.NewPCG(seed, 0x53334641)), rate, S3FaultStats{}
}

// CutAll cuts every GetObject short while on, faulting no listing.
func (f *S3Faults) CutAll(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutAll = on
}

// Stats returns the counts since the last Set.
func (f *S3Faults) Stats() S3FaultStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// isS3Read tells S3's REST reads from the other protocols' calls.
func isS3Read(r *http.Request, c motoproxy.Call) bool {
	return r.Method == http.MethodGet && c.Action == "" && r.Header.Get("X-Amz-Target") == "" &&
		!strings.HasPrefix(r.URL.Path, "/moto-api")
}

// Hook is the motoproxy.Hook: add it with Proxy.AddHook before the Faults
// hook.
func (f *S3Faults) Hook(w http.ResponseWriter, r *http.Request, c motoproxy.Call) bool {
	if !isS3Read(r, c) {
		return false
	}
	listing := r.URL.Query().Has("list-type")
	f.mu.Lock()
	f.stats.Reads++
	u, v := f.rng.Float64(), f.rng.Float64()
	kind := -1
	if f.cutAll && !listing {
		u, v = 0, 0.99
	}
	if u < f.rate || (f.cutAll && !listing) {
		kind = int(v * 4)
		if kind == 3 && listing {
			kind = 0
		}
		switch kind {
		case 0:
			f.stats.SlowDown++
		case 1:
			f.stats.Internal++
		case 2:
			f.stats.Dropped++
		case 3:
			f.stats.Truncated++
		}
	}
	f.mu.Unlock()
	switch kind {
	case 0:
		s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case 1:
		s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case 2:
		panic(http.ErrAbortHandler) // net/http closes the connection with no answer
	case 3:
		cutShort(w, c)
	default:
		return false
	}
	return true
}

// s3Error answers in S3's REST XML error shape.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>s3faults</RequestId></Error>`, code, msg)
}

// cutShort lets the call reach moto, then sends moto's headers (its full
// Content-Length) and half the body, and closes the connection.
func cutShort(w http.ResponseWriter, c motoproxy.Call) {
	rec := httptest.NewRecorder()
	c.Forward(rec)
	body := rec.Body.Bytes()
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:len(body)/2])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}
