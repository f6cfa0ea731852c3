package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
)

// RequireToolsEnv, when set to any non-empty value, turns a missing tool
// into a test failure instead of a skip. The Makefile sets it for make test
// (and so CI), so that nothing is silently skipped where it counts; a
// developer running `go test` by hand without the tool sees a skip with the
// install command.
const RequireToolsEnv = "FLOWLOGS_REQUIRE_TOOLS"

// Tool is a program some tests need, with the command that installs it.
type Tool struct {
	Name    string
	Install string
}

// The tools the tests use. `make tools` installs every one of them.
var (
	MotoServer = Tool{"moto_server", "pip install 'moto[server]'"}
	RIETool    = Tool{"aws-lambda-rie", "make tools (go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie at the version .ci/tools.sh pins)"}
	Qemu       = Tool{"qemu-aarch64-static", "apt-get install qemu-user-static"}
	Node       = Tool{"node", "apt-get install nodejs npm"}
	NPX        = Tool{"npx", "apt-get install npm"}
)

// Need skips the test when a tool is missing, or fails it when
// RequireToolsEnv is set. qemu is needed only where the machine is not
// arm64: Need drops it elsewhere.
func Need(tb testing.TB, tools ...Tool) {
	tb.Helper()
	for _, t := range tools {
		if t == Qemu && runtime.GOARCH == "arm64" {
			continue
		}
		if _, err := exec.LookPath(t.Name); err != nil {
			msg := fmt.Sprintf("this test needs %s, which is not on PATH: install it with: %s", t.Name, t.Install)
			if os.Getenv(RequireToolsEnv) != "" {
				tb.Fatalf("%s (%s is set: a missing tool fails)", msg, RequireToolsEnv)
			}
			tb.Skip(msg)
		}
	}
}

// NeedLambda is Need for the tools that run a bootstrap under the Lambda
// Runtime Interface Emulator.
func NeedLambda(tb testing.TB) {
	tb.Helper()
	Need(tb, RIETool, Qemu)
}

// Shared is a moto server started on first use and shared by the tests of
// one package, so that tests that need no emulator run without it.
type Shared struct {
	once sync.Once
	moto *Moto
	err  error
}

// Moto returns the package's moto server, starting it on first use. A
// missing moto_server skips (or, under RequireToolsEnv, fails) the test.
func (s *Shared) Moto(tb testing.TB) *Moto {
	tb.Helper()
	Need(tb, MotoServer)
	s.once.Do(func() { s.moto, s.err = StartMoto() })
	if s.err != nil {
		tb.Fatalf("starting moto: %v", s.err)
	}
	return s.moto
}

// Close stops the server if it was started; TestMain calls it after the
// tests ran.
func (s *Shared) Close() {
	if s.moto != nil {
		_ = s.moto.Close()
	}
}
