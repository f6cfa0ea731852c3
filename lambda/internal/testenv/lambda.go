package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BuildFlags are the flags the shipped bootstrap is built with; the
// Makefile's build target uses the same ones.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// Bootstrap returns the path of the linux/arm64 bootstrap of the Lambda in
// lambda/<name>. When BOOTSTRAP_DIR is set (make test sets it after make
// build) it is the shipped artifact BOOTSTRAP_DIR/<name>/bootstrap;
// otherwise it is built into dir with the same flags.
func Bootstrap(name, dir string) (string, error) {
	if d := os.Getenv("BOOTSTRAP_DIR"); d != "" {
		p := filepath.Join(d, name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("BOOTSTRAP_DIR is set but has no %s bootstrap: %w", name, err)
		}
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, name, "bootstrap")
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, "./lambda/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building lambda/%s: %w\n%s", name, err, b)
	}
	return out, nil
}

// ModuleRoot is the directory holding go.mod.
func ModuleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("finding the module root: not inside the module")
	}
	return filepath.Dir(mod), nil
}

// RIE is a bootstrap running under the Lambda Runtime Interface Emulator.
type RIE struct {
	// URL is where invocations are posted.
	URL string
	cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

// RIEConfig describes one emulated function.
type RIEConfig struct {
	Bootstrap string        // path of the bootstrap binary
	Env       []string      // extra environment for the function, KEY=VALUE
	Timeout   time.Duration // the function's timeout; 0 means 60 s
	Memory    int           // MB; 0 means 128
	LogOutput io.Writer     // also receives what the function and emulator print, if set
}

// StartRIE starts aws-lambda-rie serving c.Bootstrap. On a machine that is
// not arm64 the binary runs under qemu-aarch64-static, unchanged.
func StartRIE(c RIEConfig) (*RIE, error) {
	rie, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		if gobin := goBin(); gobin != "" {
			if _, statErr := os.Stat(filepath.Join(gobin, "aws-lambda-rie")); statErr == nil {
				rie, err = filepath.Join(gobin, "aws-lambda-rie"), nil
			}
		}
	}
	if err != nil {
		return nil, errors.New("aws-lambda-rie not found: install it with: go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d")
	}
	argv := []string{c.Bootstrap}
	if runtime.GOARCH != "arm64" {
		qemu, err := exec.LookPath("qemu-aarch64-static")
		if err != nil {
			return nil, errors.New("qemu-aarch64-static not found: the arm64 bootstrap needs it on this machine: apt-get install qemu-user-static")
		}
		argv = append([]string{qemu}, argv...)
	}
	apiPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	invokePort, err := FreePort()
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	memory := c.Memory
	if memory == 0 {
		memory = 128
	}
	r := &RIE{URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", invokePort)}
	args := append([]string{
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", invokePort),
	}, argv...)
	r.cmd = exec.Command(rie, args...)
	r.cmd.Dir = filepath.Dir(c.Bootstrap)
	r.cmd.Env = append(environ(),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_TIMEOUT=%d", int(timeout.Seconds())),
		fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", memory),
		"AWS_LAMBDA_FUNCTION_NAME="+filepath.Base(filepath.Dir(c.Bootstrap)),
		"AWS_LAMBDA_LOG_FORMAT=JSON",
	)
	r.cmd.Env = append(r.cmd.Env, c.Env...)
	var out io.Writer = &lockedWriter{mu: &r.mu, w: &r.log}
	if c.LogOutput != nil {
		out = io.MultiWriter(out, c.LogOutput)
	}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting aws-lambda-rie: %w", err)
	}
	if err := waitTCP(fmt.Sprintf("127.0.0.1:%d", invokePort), 20*time.Second); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("aws-lambda-rie did not come up: %w\n%s", err, r.Log())
	}
	return r, nil
}

// Invoke sends one synchronous invocation and returns the function's answer.
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the invocation answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invocation answered HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// Log is everything the emulator and the function printed so far.
func (r *RIE) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// Close stops the emulator and the function.
func (r *RIE) Close() error {
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	_ = r.cmd.Wait()
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func goBin() string {
	b, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(b)), "bin")
}

func waitTCP(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return last
}
