package vpcflowlogs_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
)

// scratchMain is a CDK app another team would write: it gives the construct
// no code, so the construct must find and build its functions itself.
const scratchMain = `package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/vpcflowlogs/flowlogs/cdk/vpcflowlogs"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Scratch"), nil)
	props := vpcflowlogs.Props{TagKey: "Team", MetricsNamespace: "Scratch/FlowLogs"}
	if _, err := vpcflowlogs.New(stack, "FlowLogs", props); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
`

// TestScratchAppOutsideTheRepository proves the construct is a library: an
// app in a temporary directory outside the repository, whose go.mod
// requires this module (replaced by the repository), synthesizes it with
// `go run .`. Both functions get code the construct built from the module,
// a linux/arm64 bootstrap in an asset, and the props reach them. Before, the
// default code was the working-directory-relative build/enabler, which is
// not there, and the synthesis failed.
func TestScratchAppOutsideTheRepository(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir, out := t.TempDir(), t.TempDir()
	writeScratchApp(t, repo, dir)
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	// -mod=mod: the scratch go.mod lists the repository's requirements,
	// and go may complete it from the module cache as go mod tidy would.
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run . in %s: %v\n%s", dir, err, b)
	}

	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	readJSON(t, filepath.Join(out, "Scratch.template.json"), &tmpl)
	functions := 0
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		functions++
		vars := r.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
		if vars["METRICS_NAMESPACE"] != "Scratch/FlowLogs" {
			t.Errorf("%s: METRICS_NAMESPACE = %v, want the prop's Scratch/FlowLogs", id, vars["METRICS_NAMESPACE"])
		}
		key, _ := r.Properties["Code"].(map[string]any)["S3Key"].(string)
		checkBootstrap(t, id, filepath.Join(out, "asset."+strings.TrimSuffix(key, ".zip"), "bootstrap"))
	}
	if functions != 2 {
		t.Errorf("%d functions in the template, want 2", functions)
	}
}

// writeScratchApp writes main.go, and a go.mod with the repository's
// requirements and go.sum, into dir.
func writeScratchApp(t *testing.T, repo, dir string) {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(mod, []byte("module scratch"))
	mod = append(mod, []byte("\nrequire "+vpcflowlogs.ModulePath+" v0.0.0\n\nreplace "+vpcflowlogs.ModulePath+" => "+repo+"\n")...)
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"go.mod": mod, "go.sum": sum, "main.go": []byte(scratchMain)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkBootstrap checks that path is a 64-bit ELF executable for arm64
// (e_machine 183, EM_AARCH64), what provided.al2023 on arm64 runs.
func checkBootstrap(t *testing.T, function, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%s: its asset has no bootstrap: %v", function, err)
		return
	}
	if len(b) < 20 || !bytes.HasPrefix(b, []byte("\x7fELF\x02")) || binary.LittleEndian.Uint16(b[18:]) != 183 {
		t.Errorf("%s: %s is not a linux/arm64 executable", function, path)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestBuildFlagsAreTheMakefiles holds BuildFlags equal to the Makefile's
// BUILD_FLAGS, so that the construct's own build and make build give the
// same bootstrap, and so the same asset hash.
func TestBuildFlagsAreTheMakefiles(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^BUILD_FLAGS := (.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("the Makefile has no BUILD_FLAGS line")
	}
	// The shell's words: single quotes group, and are dropped.
	var words []string
	for _, w := range regexp.MustCompile(`(?:[^\s']+|'[^']*')+`).FindAllString(string(m[1]), -1) {
		words = append(words, strings.ReplaceAll(w, "'", ""))
	}
	if strings.Join(words, "|") != strings.Join(vpcflowlogs.BuildFlags, "|") {
		t.Errorf("Makefile BUILD_FLAGS are %q, vpcflowlogs.BuildFlags %q", words, vpcflowlogs.BuildFlags)
	}
}
