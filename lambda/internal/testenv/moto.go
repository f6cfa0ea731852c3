package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every local run uses.
const Region = "us-east-1"

// Moto is a running moto_server on a loopback port.
type Moto struct {
	// URL is the endpoint to give the SDK, e.g. http://127.0.0.1:41234.
	URL string
	cmd *exec.Cmd
	mu  sync.Mutex // moto writes log from exec's copying goroutine
	log bytes.Buffer
}

// StartMoto starts moto_server on a free loopback port and waits until it
// answers. It fails with an installation hint when moto_server is missing.
func StartMoto() (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, errors.New("moto_server not found on PATH: install it with: pip install 'moto[server]'")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	out := &lockedWriter{mu: &m.mu, w: &m.log}
	m.cmd.Stdout = out
	m.cmd.Stderr = out
	// Its own process group, so Close also ends the workers moto may spawn.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	if err := waitHTTP(m.URL+"/moto-api/", 30*time.Second); err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("moto_server on port %d did not come up: %w\n%s", port, err, m.Log())
	}
	return m, nil
}

// Reset drops every resource moto holds, so each test starts from nothing.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Env is the environment that points an AWS SDK at this server with dummy
// credentials.
func (m *Moto) Env() []string {
	return EndpointEnv(m.URL)
}

// EndpointEnv is the environment that points an AWS SDK at url with dummy
// credentials. Proxies in front of moto use it with their own URL.
func EndpointEnv(url string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + url,
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=testing",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv points the AWS SDK of the current process at url for the rest of
// the test (t.Setenv), so config.LoadDefaultConfig finds it as a Lambda
// would.
func SetEnv(t interface{ Setenv(k, v string) }, url string) {
	for _, kv := range EndpointEnv(url) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Close stops the server.
func (m *Moto) Close() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// Log is what moto printed so far, for failure messages.
func (m *Moto) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// environ is os.Environ without the variables that would point an SDK
// elsewhere than the emulator.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// AWSConfig is an SDK configuration for clients of url (moto or a proxy in
// front of it) with the dummy credentials of EndpointEnv, for test code
// that builds its own clients rather than reading the environment.
func AWSConfig(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", "testing"),
		BaseEndpoint: aws.String(url),
	}
}
