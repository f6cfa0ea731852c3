package motoproxy

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
)

// Shards spreads the accounts of a simulated organization over several
// moto servers, as AWS serves accounts independently: one moto_server is
// one Python process, so every account's calls would otherwise queue for
// one interpreter lock, and a test of how much work runs at once would
// measure moto instead of the code under test.
//
// Each account has one shard (a hash of its id). Shards' Hook sends
// AssumeRole of a role in account X to X's shard, which issues the
// credentials, records the access key the answer carries, and sends every
// later call signed with that key to the same shard; any other call (the
// hub's own, signed with keys no shard issued) goes on to the proxy's own
// moto. A test sets up account X's resources straight at URL(X).
//
// Only the account boundary is split: nothing crosses it in moto (an
// account's EC2, Logs or IAM see only that account), so the shards answer
// as one moto would. Accounts looks roles up in the proxy's own moto and
// answers AssumeRole itself: the two are not used together.
type Shards struct {
	targets []*url.URL

	mu   sync.Mutex
	keys map[string]int // access key id -> shard
}

// NewShards returns Shards over the moto servers at urls.
func NewShards(urls ...string) (*Shards, error) {
	if len(urls) == 0 {
		return nil, fmt.Errorf("sharding accounts: no moto server")
	}
	s := &Shards{keys: map[string]int{}}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("sharding accounts: moto URL %q is not an absolute URL", raw)
		}
		s.targets = append(s.targets, u)
	}
	return s, nil
}

func (s *Shards) shard(account string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	return int(h.Sum32() % uint32(len(s.targets)))
}

// URL is the moto server that serves account.
func (s *Shards) URL(account string) string { return s.targets[s.shard(account)].String() }

// Hook routes a call to its account's shard, or lets it go on.
func (s *Shards) Hook(w http.ResponseWriter, r *http.Request, c Call) bool {
	if c.Action == "AssumeRole" && c.Form != nil {
		m := roleARNRE.FindStringSubmatch(c.Form.Get("RoleArn"))
		if m == nil {
			return false // moto answers the bad ARN
		}
		i := s.shard(m[1])
		rec := httptest.NewRecorder()
		c.ForwardTo(rec, s.targets[i])
		if k := accessKeyRE.FindSubmatch(rec.Body.Bytes()); k != nil && rec.Code == http.StatusOK {
			s.mu.Lock()
			s.keys[string(k[1])] = i
			s.mu.Unlock()
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return true
	}
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return false
	}
	s.mu.Lock()
	i, ok := s.keys[m[1]]
	s.mu.Unlock()
	if !ok {
		return false
	}
	c.ForwardTo(w, s.targets[i])
	return true
}
