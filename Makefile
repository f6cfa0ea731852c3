# The front door: `make help` lists the targets.

SHELL := /bin/bash
GO ?= go
CDK_CLI_VERSION := 2.1148.1
CDK := CDK_DISABLE_CLI_TELEMETRY=true npx --yes aws-cdk@$(CDK_CLI_VERSION)
CDK_FLAGS := --no-notices
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

LAMBDAS := $(notdir $(patsubst %/main.go,%,$(wildcard lambda/*/main.go)))
BOOTSTRAPS := $(foreach l,$(LAMBDAS),build/$(l)/bootstrap)
# The same flags as lambda/internal/testenv.BuildFlags. -trimpath,
# -buildvcs=false and an empty build id make the binary, and so the CDK
# asset hash, depend on the source alone.
BUILD_FLAGS := -tags lambda.norpc -trimpath -buildvcs=false -ldflags='-s -w -buildid='

# cfn-lint checks ignored, each with its reason:
#   W3005: the CDK adds DependsOn from a function to its role, which the
#          function's GetAtt of the role already implies; harmless.
CFN_LINT_IGNORE := W3005

.PHONY: help tools build synth synth-org synth-s3 diff deploy destroy lint test test-go test-template bench fuzz demo demo-org update-ip-ranges clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

tools: ## Install what is missing: moto, cfn-lint, the Lambda emulator, qemu, golangci-lint, the CDK CLI
	@.ci/tools.sh install

build: $(BOOTSTRAPS) ## Cross-compile each lambda/*/main.go to build/<name>/bootstrap (linux/arm64)

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(BUILD_FLAGS) -o $@ ./lambda/$*

FORCE:

synth: build ## Synthesize the app into cdk.out/ (context: -c key=value through CDK_ARGS)
	$(CDK) synth $(CDK_FLAGS) --quiet -o cdk.out $(CDK_ARGS)
	@echo "template: cdk.out/VpcFlowLogs.template.json"

# An example organization for checking the organization mode's templates
# (hub and spoke) with cdk-nag and cfn-lint: the ids only need AWS's shape.
ORG_SYNTH_ARGS := -c organizationId=o-exampleorg1 -c organizationTargets=r-exam,ou-exam-exampleou -c organizationRegions=eu-west-1,us-east-1

synth-org: build ## Synthesize the organization mode into cdk.out/org/ (hub and spoke; context through CDK_ARGS)
	$(CDK) synth $(CDK_FLAGS) --quiet -o cdk.out/org $(ORG_SYNTH_ARGS) $(CDK_ARGS)
	@echo "templates: cdk.out/org/VpcFlowLogs.template.json (hub), cdk.out/org/VpcFlowLogsSpoke.template.json (spoke)"

synth-s3: build ## Synthesize the S3 destination into cdk.out/s3/ and, in organization mode (hub and spoke), cdk.out/org-s3/
	$(CDK) synth $(CDK_FLAGS) --quiet -o cdk.out/s3 -c destination=s3 $(CDK_ARGS)
	$(CDK) synth $(CDK_FLAGS) --quiet -o cdk.out/org-s3 -c destination=s3 $(ORG_SYNTH_ARGS) $(CDK_ARGS)
	@echo "templates: cdk.out/s3/VpcFlowLogs.template.json, cdk.out/org-s3/VpcFlowLogs.template.json (hub), cdk.out/org-s3/VpcFlowLogsSpoke.template.json (spoke)"

diff: build ## Compare the app with the deployed stack
	$(CDK) diff $(CDK_FLAGS) $(CDK_ARGS)

deploy: build ## Deploy to the account and region of your AWS credentials
	$(CDK) deploy $(CDK_FLAGS) $(CDK_ARGS)

destroy: ## Delete the stack (the flow log groups are kept)
	$(CDK) destroy $(CDK_FLAGS) $(CDK_ARGS)

lint: ## gofmt, go vet and golangci-lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	golangci-lint run --allow-parallel-runners ./...

test: ## Everything CI runs: missing tools installed, lint, Go tests (with the built bootstraps), synth, cfn-lint
	@.ci/tools.sh install
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-go
	$(MAKE) --no-print-directory test-template

test-go: build
	BOOTSTRAP_DIR=$(CURDIR)/build FLOWLOGS_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 40m ./...

# Every destination in both modes: cdk-nag runs in each synth, cfn-lint on
# each template.
test-template: synth synth-org synth-s3
	cfn-lint --ignore-checks $(CFN_LINT_IGNORE) -- cdk.out/*.template.json cdk.out/org/*.template.json \
	  cdk.out/s3/*.template.json cdk.out/org-s3/*.template.json
	@echo "cfn-lint: no findings; cdk-nag: no unsuppressed findings (synth fails on them)"

bench: ## Run the benchmarks the README reports
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 ./lambda/...

fuzz: ## Fuzz the record and format parsers (FUZZTIME each, default 5m)
	$(GO) test -run '^$$' -fuzz FuzzParseLine -fuzztime $${FUZZTIME:-5m} -parallel 1 ./lambda/flowrecord/
	$(GO) test -run '^$$' -fuzz FuzzParseFormat -fuzztime $${FUZZTIME:-5m} -parallel 1 ./lambda/flowrecord/

demo: build ## Run the whole product locally against moto: no AWS account needed (DEMO_ARGS=-h lists options)
	@.ci/tools.sh install demo
	BOOTSTRAP_DIR=$(CURDIR)/build $(GO) run ./lambda/internal/e2e/demo $(DEMO_ARGS)

demo-org: build ## The organization mode locally: a simulated organization in moto, the hub, the spokes, sweeps and digests (DEMO_ARGS=-destination=s3: a central bucket; -h)
	@.ci/tools.sh install demo
	BOOTSTRAP_DIR=$(CURDIR)/build $(GO) run ./lambda/internal/e2e/demoorg $(DEMO_ARGS)

# The copy of AWS's ip-ranges.json built into the summarizer, used when its
# fetch at cold start is off or fails. The new copy replaces the old only
# once TestShippedAWSRanges has checked it against AWS's shape (the tests
# of the digest use their own fixed copy, lambda/flowrecord/testdata).
IP_RANGES_URL := https://ip-ranges.amazonaws.com/ip-ranges.json
IP_RANGES_FILE := lambda/digest/ip-ranges.json

update-ip-ranges: ## Refresh the summarizer's built-in copy of AWS's ip-ranges.json (checked before it is kept)
	@cp $(IP_RANGES_FILE) $(IP_RANGES_FILE).old
	set -o pipefail; curl -fsSL --proto =https --max-time 60 --max-filesize 16777216 -o $(IP_RANGES_FILE) $(IP_RANGES_URL) \
	  && $(GO) test -count=1 -run '^TestShippedAWSRanges$$' -v ./lambda/digest/ | grep -E 'ip-ranges.json|^(ok|FAIL)' \
	  || { mv $(IP_RANGES_FILE).old $(IP_RANGES_FILE); echo "kept the old copy"; exit 1; }
	@rm -f $(IP_RANGES_FILE).old

clean: ## Remove build/ and cdk.out/
	rm -rf build cdk.out
