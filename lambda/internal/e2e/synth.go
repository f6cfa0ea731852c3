package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Synth builds the CDK app (./cdk) and runs it the way `cdk synth` does,
// with the context of cdk.json (and overrides), so that the template is the
// one a deployment would use. The app runs in a staging directory whose
// build/<name>/bootstrap are the given bootstraps, so the assets the
// template points at are exactly the binaries the harness then runs. It
// returns the template's path under dir/cdk.out.
//
// The CDK CLI is not needed: the app writes the cloud assembly itself when
// CDK_OUTDIR and CDK_CONTEXT_JSON are set. Node.js is, because the CDK's Go
// bindings run on jsii.
func Synth(ctx context.Context, root, dir string, bootstraps map[string]string, overrides map[string]any) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node not found: the CDK app runs on Node.js (jsii): install Node.js 20 or later (apt-get install nodejs npm), or run: make tools")
	}
	app := filepath.Join(dir, "cdkapp")
	build := exec.CommandContext(ctx, "go", "build", "-o", app, "./cdk")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("building the CDK app: %w", ctx.Err())
		}
		return "", fmt.Errorf("building the CDK app: %w\n%s", err, out)
	}

	stage := filepath.Join(dir, "stage")
	for name, src := range bootstraps {
		dst := filepath.Join(stage, "build", name, "bootstrap")
		if err := copyFile(src, dst, 0o755); err != nil {
			return "", fmt.Errorf("staging the %s bootstrap: %w", name, err)
		}
	}
	cdkContext, err := appContext(root, overrides)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "cdk.out")
	if err := os.RemoveAll(out); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, app)
	cmd.Dir = stage
	cmd.Env = append(os.Environ(),
		"CDK_OUTDIR="+out,
		"CDK_CONTEXT_JSON="+cdkContext,
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="+nodeMajor(ctx),
		"JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1",
	)
	// The app runs jsii's node process as its child: on cancellation the
	// whole process group goes, or node outlives the app.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if b, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("synthesizing the CDK app: %w", ctx.Err())
		}
		return "", fmt.Errorf("synthesizing the CDK app: %w\n%s", err, b)
	}
	matches, err := filepath.Glob(filepath.Join(out, "*.template.json"))
	// In organization mode the app also writes the spoke's template: the
	// hub is the stack named StackName.
	if hub := filepath.Join(out, StackName+".template.json"); len(matches) > 1 && slices.Contains(matches, hub) {
		matches = []string{hub}
	}
	if err != nil || len(matches) != 1 {
		return "", fmt.Errorf("synthesizing the CDK app: want one template in %s, found %v", out, matches)
	}
	return matches[0], nil
}

// appContext is cdk.json's context with overrides, plus the keys the CDK
// CLI adds so that resources carry their construct path and asset
// metadata.
func appContext(root string, overrides map[string]any) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return "", fmt.Errorf("reading cdk.json: %w", err)
	}
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		return "", fmt.Errorf("decoding cdk.json: %w", err)
	}
	c := cdk.Context
	if c == nil {
		c = map[string]any{}
	}
	for k, v := range overrides {
		c[k] = v
	}
	c["aws:cdk:enable-path-metadata"] = true
	c["aws:cdk:enable-asset-metadata"] = true
	out, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding the CDK context: %w", err)
	}
	return string(out), nil
}

// nodeMajor is the major version of the node on PATH, for silencing
// jsii's end-of-life banner the way the Makefile does.
func nodeMajor(ctx context.Context) string {
	b, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return ""
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
	major, _, _ := strings.Cut(v, ".")
	return major
}

func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// AssetBootstrap is the bootstrap in the asset directory of a function of
// the cloud assembly: the code a deployment would upload.
func AssetBootstrap(t *Template, fn *Resource) (string, error) {
	p, _ := fn.Metadata["aws:asset:path"].(string)
	if p == "" {
		return "", fmt.Errorf("%s has no aws:asset:path metadata", fn.Path())
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(t.File), p)
	}
	b := filepath.Join(p, "bootstrap")
	if _, err := os.Stat(b); err != nil {
		return "", fmt.Errorf("the asset of %s: %w", fn.Path(), err)
	}
	return b, nil
}
