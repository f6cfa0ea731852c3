package reconcile_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// isolatedScript runs moto_server with DynamoDB actions one at a time and
// transactions that back up the items they write rather than the whole
// table once per operation (the script says why).
const isolatedScript = "testdata/moto_dynamodb.py"

// orgDynamo is the organization tests' DynamoDB: a moto process of its
// own, as DynamoDB is a service of its own in AWS, so that its
// transactions, which run one at a time, do not queue behind the other
// services' calls in one Python process. It runs isolatedScript when
// python3 can import moto (isolated is then true), else plain moto_server;
// serializeDynamoDB sends the writes one at a time to either.
var orgDynamo struct {
	once     sync.Once
	moto     *testenv.Moto
	cmd      *exec.Cmd
	isolated bool
	err      error
}

func dynamoMoto(t *testing.T) *testenv.Moto {
	t.Helper()
	testenv.Need(t, testenv.MotoServer)
	orgDynamo.once.Do(func() {
		if exec.Command("python3", "-c", "import moto.dynamodb.models, moto.server").Run() != nil {
			orgDynamo.moto, orgDynamo.err = dynamoShared.Moto(t), nil
			return
		}
		orgDynamo.moto, orgDynamo.cmd, orgDynamo.err = startIsolated()
		if orgDynamo.err == nil {
			orgDynamo.isolated = true
			cleanups = append(cleanups, stopIsolated)
		}
	})
	if orgDynamo.err != nil {
		t.Fatalf("starting DynamoDB's moto: %v", orgDynamo.err)
	}
	return orgDynamo.moto
}

func startIsolated() (*testenv.Moto, *exec.Cmd, error) {
	script, err := filepath.Abs(isolatedScript)
	if err != nil {
		return nil, nil, err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("python3", script, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", isolatedScript, err)
	}
	m := &testenv.Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m, cmd, nil
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			return nil, nil, errors.Join(fmt.Errorf("%s on port %d did not come up", isolatedScript, port), err)
		}
	}
}

func stopIsolated() {
	if c := orgDynamo.cmd; c != nil && c.Process != nil {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		_ = c.Wait()
	}
}

// orgShardsEnv sets over how many moto servers TestOrgConcurrency spreads
// the member accounts (default defaultOrgShards; 0 keeps every account in
// the one moto).
const orgShardsEnv = "ORG_PERF_SHARDS"

// defaultOrgShards: AWS serves accounts independently, while one moto
// server is one Python process whose interpreter lock serves one call at
// a time; four processes let the two cores of the development machine
// both work on member accounts' calls.
const defaultOrgShards = 4

// memberMotos are the moto servers the member accounts are spread over,
// started on first use.
var memberMotos [8]testenv.Shared

func orgShards(t *testing.T) int {
	k := defaultOrgShards
	if s := os.Getenv(orgShardsEnv); s != "" {
		var err error
		if k, err = strconv.Atoi(s); err != nil || k < 0 || k > len(memberMotos) {
			t.Fatalf("%s=%q: want 0 to %d", orgShardsEnv, s, len(memberMotos))
		}
	}
	return k
}

// sharded spreads the world's member accounts over k moto servers of
// their own (motoproxy.Shards); the hub's calls stay on the proxy's moto.
func sharded(k int) worldOption {
	return func(w *orgWorld) {
		if k == 0 {
			return
		}
		var urls []string
		for i := range k {
			m := memberMotos[i].Moto(w.t)
			if i == 0 {
				cleanups = append(cleanups, closeMemberMotos)
			}
			if err := m.Reset(w.ctx); err != nil {
				w.t.Fatal(err)
			}
			urls = append(urls, m.URL)
		}
		s, err := motoproxy.NewShards(urls...)
		if err != nil {
			w.t.Fatal(err)
		}
		w.shards, w.shardURLs = s, urls
	}
}

var closeOnce sync.Once

func closeMemberMotos() {
	closeOnce.Do(func() {
		for i := range memberMotos {
			memberMotos[i].Close()
		}
	})
}
