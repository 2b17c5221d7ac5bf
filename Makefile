# Convenience targets; scripts/test.sh is the one test command.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0
export GOTOOLCHAIN := go1.27.3

.PHONY: build install test soak man docs fault-docs snapshot testbed-up testbed-down
build:
	go build -trimpath -ldflags '$(LDFLAGS)' -o bin/cesub ./cmd/cesub
install:
	go install -trimpath -ldflags '$(LDFLAGS)' ./cmd/cesub
test:
	scripts/test.sh
soak:
	scripts/soak.sh
man: build
	bin/cesub docs man man/
docs: build
	bin/cesub docs config > docs/configuration.md
# the fault-matrix tables of docs/reliability.md (needs the testbed up: make testbed-up);
# without CESUB_WRITE_DOCS the same tests fail when the document is stale
fault-docs:
	CESUB_WRITE_DOCS=1 go test -count=1 -timeout 30m -run '^TestFaultMatrix' ./integration/
snapshot:
	goreleaser release --snapshot --clean
testbed-up:
	scripts/testbed/all up
testbed-down:
	scripts/testbed/all down
