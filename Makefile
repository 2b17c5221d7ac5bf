# Convenience targets; scripts/test.sh is the one test command.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0
export GOTOOLCHAIN := go1.27.3

.PHONY: build install test soak man docs fault-docs snapshot release-test testbed-up testbed-down
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
# release artifacts into dist/ with the goreleaser of tools/go.mod (built once into ~/.cache/cesub-release)
snapshot:
	scripts/goreleaser.sh release --snapshot --clean --skip=publish
# the snapshot, tested: the deb in a clean Debian chroot, the rpm's files, darwin, reproducibility (root)
release-test:
	scripts/release-test.sh
testbed-up:
	scripts/testbed/all up
testbed-down:
	scripts/testbed/all down
