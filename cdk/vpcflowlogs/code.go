package vpcflowlogs

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The module that holds this construct and its functions, and the main
// packages of the two functions.
const (
	ModulePath        = "github.com/vpcflowlogs/flowlogs"
	EnablerPackage    = ModulePath + "/lambda/enabler"
	SummarizerPackage = ModulePath + "/lambda/summarizer"
)

// BuildFlags make a bootstrap that depends on its source alone (no file
// paths, VCS stamp or build id), so that the asset's hash changes only with
// the code. They are the Makefile's BUILD_FLAGS; a test holds them equal.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// BuildBootstrap cross-compiles pkg, a main package of this module
// (EnablerPackage or SummarizerPackage), for the functions' platform
// (linux/arm64, no cgo) into dir/bootstrap.
//
// It builds inside this module's own directory: the module cache for an
// app that requires this module, the replacement for one that replaces it,
// the repository itself here. The build so uses this module's go.mod and
// go.sum whatever the app's are, and works from any app in any folder. It
// needs the go command on PATH.
func BuildBootstrap(pkg, dir string) error {
	rel, ok := strings.CutPrefix(pkg, ModulePath+"/")
	if !ok {
		return fmt.Errorf("building %s: not a package of %s", pkg, ModulePath)
	}
	root, err := moduleDir()
	if err != nil {
		return fmt.Errorf("building %s: %w", pkg, err)
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", filepath.Join(dir, "bootstrap"), "./"+rel)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	// GOWORK=off: an app's go.work must not change what this module builds.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s in %s: %w\n%s", pkg, root, err, out)
	}
	return nil
}

// moduleDir is the directory of this module's source: where this file was
// compiled from when that is on disk (any build without -trimpath), else
// what `go list -m` says from the working directory.
func moduleDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		if isModuleRoot(dir) {
			return dir, nil
		}
	}
	return listModuleDir()
}

// listModuleDir asks the go command where this module is, as the working
// directory's module sees it.
func listModuleDir() (string, error) {
	const hint = "run the app from a module that requires it, or set Props.EnablerCode and Props.SummarizerCode"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", ModulePath).Output()
	if err != nil {
		return "", fmt.Errorf("finding the source of %s with go list -m from %s: %w: %s", ModulePath, workingDir(), err, hint)
	}
	dir := strings.TrimSpace(string(out))
	if !isModuleRoot(dir) {
		return "", fmt.Errorf("finding the source of %s: go list -m from %s gave %q, which does not hold it: %s", ModulePath, workingDir(), dir, hint)
	}
	return dir, nil
}

func isModuleRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == ModulePath
		}
	}
	return false
}

func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "an unknown directory"
	}
	return wd
}

// built remembers the bootstraps this process built, so that two instances
// in one app build each function once.
var built struct {
	sync.Mutex
	dirs map[string]error
}

// codeFor is the code of a function left unset in Props: pkg built into the
// app's output directory, where the CDK stages it as an asset.
func codeFor(scope constructs.Construct, pkg string) (awslambda.Code, error) {
	stage := awscdk.Stage_Of(scope)
	if stage == nil {
		return nil, fmt.Errorf("building %s: the construct is in no CDK app", pkg)
	}
	dir := filepath.Join(*stage.Outdir(), "vpcflowlogs-build", path.Base(pkg))
	built.Lock()
	defer built.Unlock()
	if built.dirs == nil {
		built.dirs = map[string]error{}
	}
	err, done := built.dirs[dir]
	if !done {
		err = BuildBootstrap(pkg, dir)
		built.dirs[dir] = err
	}
	if err != nil {
		return nil, err
	}
	return awslambda.Code_FromAsset(jsii.String(dir), nil), nil
}

// withCode returns p with both functions' code set, building what is unset.
func (p Props) withCode(scope constructs.Construct) (Props, error) {
	var err error
	if p.EnablerCode == nil {
		if p.EnablerCode, err = codeFor(scope, EnablerPackage); err != nil {
			return p, err
		}
	}
	if p.SummarizerCode == nil {
		if p.SummarizerCode, err = codeFor(scope, SummarizerPackage); err != nil {
			return p, err
		}
	}
	return p, nil
}
