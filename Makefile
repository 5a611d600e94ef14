# lawcket — the two commands of the README:
#   make chat   run the chat example under the local gateway (the main job)
#   make test   install what the tests need and run every check CI runs
GO   ?= go
ADDR ?= 127.0.0.1:8080

# The AWS Lambda Runtime Interface Emulator, pinned (what @latest resolved to
# through the module proxy on 2026-11-25). The sync Lambda's bootstrap test runs under it.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := $(shell $(GO) env GOPATH)/bin/aws-lambda-rie

.PHONY: test deps chromium chat bench demo fuzz

## deps: everything the tests start: dynalite and fauxqs (npm, pinned by package-lock.json),
## the Lambda Runtime Interface Emulator (Go module proxy), headless Chromium (Debian).
deps: node_modules/.package-lock.json $(RIE) chromium

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(RIE):
	$(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# The browser test needs Debian's chromium; install it when missing (needs root
# or sudo, as on the CI machine). Without it, the browser test skips locally
# and fails under CI=true.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing chromium (Debian package) for the browser test"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	} || echo "warning: could not install chromium; the browser test will skip (and fail under CI=true)"

## test: gofmt, go vet, and every test with the race detector.
test: deps
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 40m ./...

## chat: the chat example behind the local gateway; open http://$(ADDR)/ in two tabs.
## It runs the chat's SAM template (examples/chat/template.yaml): lawcket dev
## builds the function from CodeUri and creates the template's table.
chat:
	$(GO) run ./cmd/lawcket dev --rows --template examples/chat/template.yaml -c examples/chat/lawcket.yaml --static examples/chat/static --addr $(ADDR)

## demo: one connect / message / disconnect through the built sync Lambda under the emulator, against dynalite.
demo: node_modules/.package-lock.json $(RIE)
	$(GO) run ./examples/syncdemo

## bench: every benchmark once (figures and commands: docs/performance.md).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x ./...

## fuzz: every fuzz target of the tree for FUZZTIME each (make test runs only
## their seeds), then the pathological-spec corpus at full size without the
## race detector (make test runs it at 1/8 size under -race).
FUZZTIME ?= 60s
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg; \
	  done; \
	done
	$(GO) test -count=1 -v -run 'TestPathologicalSpecs|TestSyntaxErrorLinear' ./syncspec
