# lawcket — the two commands of the README:
#   make chat   run the chat example under the local gateway (the main job)
#   make test   install test dependencies and run every check CI runs
GO ?= go

.PHONY: test deps fmt vet chat bench

## deps: the test-only npm packages (dynalite), exactly as package-lock.json pins them.
deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

## test: gofmt, go vet, and every test with the race detector.
test: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

## bench: the benchmarks quoted in README.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...
