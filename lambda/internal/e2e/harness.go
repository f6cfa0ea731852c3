package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vpcflowlogs/flowlogs/lambda/internal/motoproxy"
	"github.com/vpcflowlogs/flowlogs/lambda/internal/testenv"
)

// Config describes a harness.
type Config struct {
	// WorkDir holds the bootstraps, the CDK app and the cloud assembly.
	WorkDir string
	// Context overrides keys of cdk.json's context for the synthesis.
	Context map[string]any
	// FunctionLog receives what the functions print; nil discards it.
	FunctionLog io.Writer
	// Step, when set, is told each stage of Start as it begins.
	Step func(what string)
}

// Harness is moto, the synthesized template and what a deployment of it
// created.
type Harness struct {
	Config
	Root string
	Moto *testenv.Moto
	// Proxy is a motoproxy in front of moto for the functions' calls (the
	// story's; the fault runs have their own), with the Streams hook.
	Proxy *motoproxy.Proxy
	// Streams dates the streams Harness.Deliver writes as the delivery
	// service would have created them.
	Streams *StreamClock
	// Clients call moto directly: the harness's own calls.
	Clients    Clients
	Stack      *Stack
	CFN        *testenv.CFNResponder
	Bootstraps map[string]string
}

// Functions are the Lambda functions of the app, by directory name.
var Functions = []string{"enabler", "summarizer"}

// Missing lists the tools the harness needs that are not installed, each
// with how to install it.
func Missing() []string {
	var out []string
	look := func(tool, hint string) {
		if _, err := exec.LookPath(tool); err != nil {
			out = append(out, tool+": "+hint)
		}
	}
	look("moto_server", "pip install 'moto[server]'")
	look("node", "Node.js 20 or later runs the CDK app: apt-get install nodejs npm")
	if _, err := exec.LookPath("aws-lambda-rie"); err != nil {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		if _, statErr := os.Stat(filepath.Join(strings.TrimSpace(string(gopath)), "bin", "aws-lambda-rie")); statErr != nil {
			out = append(out, "aws-lambda-rie: go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d")
		}
	}
	if runtime.GOARCH != "arm64" {
		look("qemu-aarch64-static", "apt-get install qemu-user-static (runs the linux/arm64 bootstrap on this machine)")
	}
	return out
}

// Start checks the tools, gets the bootstraps (the shipped ones from
// BOOTSTRAP_DIR, or fresh builds), synthesizes the app with them, starts
// moto and the CloudFormation response endpoint, and deploys the template.
func Start(ctx context.Context, c Config) (h *Harness, err error) {
	if m := Missing(); len(m) > 0 {
		return nil, fmt.Errorf("missing tools (or run: make tools):\n  %s", strings.Join(m, "\n  "))
	}
	step := c.Step
	if step == nil {
		step = func(string) {}
	}
	if c.WorkDir == "" {
		return nil, errors.New("starting the harness: no WorkDir")
	}
	opened := &Harness{Config: c, Bootstraps: map[string]string{}}
	h = opened
	defer func() {
		if err != nil {
			// h is nil by now: close what was started.
			opened.Close()
		}
	}()
	if h.Root, err = testenv.ModuleRoot(); err != nil {
		return nil, err
	}
	if err := h.synthWhileMotoStarts(ctx, step); err != nil {
		return nil, err
	}
	h.Clients = NewClients(h.Moto.URL)
	if err := h.startProxy(); err != nil {
		return nil, err
	}
	h.CFN = testenv.StartCFNResponder()
	step("deploying the template")
	if err := Deploy(ctx, h.Clients, h.Stack); err != nil {
		return nil, err
	}
	return h, nil
}

// synthWhileMotoStarts starts moto, and synthesizes the app while it
// comes up.
func (h *Harness) synthWhileMotoStarts(ctx context.Context, step func(string)) error {
	step("starting moto")
	type started struct {
		moto *testenv.Moto
		err  error
	}
	motoUp := make(chan started, 1)
	go func() {
		m, err := testenv.StartMoto()
		motoUp <- started{m, err}
	}()
	synthErr := h.synth(ctx, step)
	up := <-motoUp
	h.Moto = up.moto
	return errors.Join(synthErr, up.err)
}

// synth gets the bootstraps, synthesizes the app with them, and locates
// the stack in the template.
func (h *Harness) synth(ctx context.Context, step func(string)) error {
	step("synthesizing the CDK app")
	for _, name := range Functions {
		b, err := testenv.Bootstrap(name, filepath.Join(h.WorkDir, "build"))
		if err != nil {
			return err
		}
		h.Bootstraps[name] = b
	}
	began := time.Now()
	file, err := Synth(ctx, h.Root, h.WorkDir, h.Bootstraps, h.Context)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("synthesized in %.1fs", time.Since(began).Seconds()))
	t, err := ReadTemplate(file)
	if err != nil {
		return err
	}
	h.Stack, err = Locate(t, NewStackID(testenv.Region, Account, StackName, NewID()))
	return err
}

// startProxy puts the functions' proxy, with the stream clock, in front
// of moto.
func (h *Harness) startProxy() (err error) {
	if h.Streams, err = NewStreamClock(h.Moto.URL); err != nil {
		return err
	}
	if h.Proxy, err = motoproxy.New(h.Moto.URL); err != nil {
		return err
	}
	h.Proxy.AddHook(h.Streams.Hook())
	return nil
}

// Reset empties moto and deploys the template again: a fresh account with
// the stack's resources.
func (h *Harness) Reset(ctx context.Context) error {
	if err := h.Moto.Reset(ctx); err != nil {
		return err
	}
	h.Streams.Forget()
	h.Proxy.ResetCalls()
	return Deploy(ctx, h.Clients, h.Stack)
}

// StartEnabler runs the enabler with its template environment, calling
// AWS at endpoint.
func (h *Harness) StartEnabler(endpoint string, override ...string) (*Function, error) {
	return StartFunction(h.Stack, h.Stack.Enabler, FunctionOptions{Endpoint: endpoint, Override: override, Log: h.FunctionLog})
}

// StartSummarizer runs the summarizer with its template environment,
// calling AWS at endpoint.
func (h *Harness) StartSummarizer(endpoint string, override ...string) (*Function, error) {
	return StartFunction(h.Stack, h.Stack.Summarizer, FunctionOptions{Endpoint: endpoint, Override: override, Log: h.FunctionLog})
}

// Close stops moto and the response endpoint.
func (h *Harness) Close() {
	if h == nil {
		return
	}
	if h.CFN != nil {
		h.CFN.Close()
	}
	if h.Proxy != nil {
		h.Proxy.Close()
	}
	if h.Moto != nil {
		_ = h.Moto.Close()
	}
}
