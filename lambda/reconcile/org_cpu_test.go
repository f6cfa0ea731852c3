package reconcile_test

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// phase is what a timed part of a test used: the emulators' CPU, the test
// process's own (the handler, the SDK, the proxy), the time DynamoDB calls
// held serializeDynamoDB's lock, and the calls the proxy saw.
type phase struct {
	w                          *orgWorld
	moto, shards, dynamo, self time.Duration
	held                       int64
	calls                      int
}

func (w *orgWorld) startPhase() phase {
	p := phase{w: w, held: w.dbHeld.Load(), calls: proxy.Total(), self: selfCPU()}
	p.moto, _ = serverCPU(moto.URL)
	p.shards, _ = serverCPU(w.shardURLs...)
	p.dynamo, _ = serverCPU(aws.ToString(w.directDB.BaseEndpoint))
	return p
}

// end says what was used since startPhase.
func (p phase) end() string {
	m, ok := serverCPU(moto.URL)
	sh, _ := serverCPU(p.w.shardURLs...)
	d, _ := serverCPU(aws.ToString(p.w.directDB.BaseEndpoint))
	cpu := "moto's CPU unknown (no /proc)"
	if ok {
		cpu = fmt.Sprintf("CPU: the hub's moto %s, the %d member shards' %s, DynamoDB's moto %s", (m - p.moto).Round(time.Millisecond),
			len(p.w.shardURLs), (sh - p.shards).Round(time.Millisecond), (d - p.dynamo).Round(time.Millisecond))
	}
	held := "DynamoDB calls not held (its moto isolates them)"
	if !orgDynamo.isolated {
		held = fmt.Sprintf("DynamoDB calls held one at a time for %s", time.Duration(p.w.dbHeld.Load()-p.held).Round(time.Millisecond))
	}
	return fmt.Sprintf("%d calls; %s, this process %s; %s", proxy.Total()-p.calls, cpu, (selfCPU() - p.self).Round(time.Millisecond), held)
}

// selfCPU is the test process's CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times
// (100 on every architecture Linux supports in practice).
const clockTick = 10 * time.Millisecond

// serverCPU is the CPU time (user and system) the processes serving the
// loopback URLs have used so far, read from /proc: how much of a timed run
// the emulators spent computing, as against waiting. It finds a moto
// process by the port on its command line; ok is false when /proc cannot
// tell (not Linux, or no such process).
func serverCPU(urls ...string) (cpu time.Duration, ok bool) {
	ports := map[string]bool{}
	for _, u := range urls {
		if p, err := url.Parse(u); err == nil && p.Port() != "" {
			ports[p.Port()] = true
		}
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	found := 0
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("moto")) {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-p" && ports[args[i+1]] {
				if t, ok := procCPU(d); ok {
					cpu += t
					found++
				}
			}
		}
	}
	return cpu, found == len(ports) && found > 0
}

// procCPU reads utime and stime (fields 14 and 15) of /proc/<pid>/stat.
func procCPU(dir string) (time.Duration, bool) {
	raw, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces: count after its ")".
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}
