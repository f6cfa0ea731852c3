#!/usr/bin/env bash
# Checks, or installs, what building and testing this project needs.
#   .ci/tools.sh check [demo]     fail with an install hint for each missing tool
#   .ci/tools.sh install [demo]   install what is missing (Go tools into GOPATH/bin,
#                                 Debian and Python packages as root)
# With demo, only what `make demo` runs: moto, Node.js (jsii runs the CDK app
# on it), the Lambda emulator and qemu. Not the linters, and not the CDK CLI:
# the demo runs the CDK app itself (lambda/internal/e2e/synth.go).
set -euo pipefail

RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
GOLANGCI_VERSION=v2.15.0
CDK_CLI_VERSION=2.1148.1

mode=${1:-check}
set=${2:-all}
case "$mode/$set" in
  check/all | check/demo | install/all | install/demo) ;;
  *) echo "usage: $0 check|install [demo]" >&2; exit 2 ;;
esac
gobin=$(go env GOPATH 2>/dev/null)/bin
export PATH="$gobin:$PATH"
missing=0

have() { command -v "$1" >/dev/null 2>&1; }

need() { # need TOOL HINT INSTALL-COMMAND...
  local tool=$1 hint=$2
  shift 2
  have "$tool" && return 0
  if [ "$mode" = install ] && [ $# -gt 0 ]; then
    echo "installing $tool: $*"
    "$@"
    have "$tool" && return 0
  fi
  echo "missing: $tool. Install it with: $hint" >&2
  missing=1
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "run as root to apt-get install $*" >&2; return 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

have go || { echo "missing: go (1.26.8 or later): https://go.dev/doc/install" >&2; exit 1; }
need node "Node.js 20 or later (the CDK CLI and jsii run on it): apt-get install nodejs npm"
need moto_server "pip install 'moto[server]'" python3 -m pip install -q 'moto[server]'
need aws-lambda-rie "go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION" \
  env GOFLAGS= go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION"
case "$(uname -m)" in
  aarch64 | arm64) ;;
  *) need qemu-aarch64-static "apt-get install qemu-user-static (runs the arm64 bootstrap here)" apt_install qemu-user-static ;;
esac
if [ "$set" = all ]; then
  need npx "npm (comes with Node.js)"
  need cfn-lint "pip install cfn-lint" python3 -m pip install -q cfn-lint
  need golangci-lint "go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION" \
    env GOFLAGS= go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION"
  if [ "$mode" = install ] && have npx; then
    # Fetch the pinned CDK CLI once, so the first synth does not.
    CDK_DISABLE_CLI_TELEMETRY=true npx --yes "aws-cdk@$CDK_CLI_VERSION" --version >/dev/null
  fi
fi
if [ "$missing" != 0 ]; then
  echo "(or run: make tools)" >&2
  exit 1
fi
