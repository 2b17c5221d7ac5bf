#!/bin/bash
# scripts/release-assets.sh VERSION — what the release archives and packages carry besides the
# binary, made fresh into .release-assets/ (gitignored) by goreleaser's before hook:
#   man/cesub*.1.gz            `cesub docs man`, gzip -n (no name, no time: reproducible)
#   completions/cesub.bash, _cesub (zsh), cesub.fish   `cesub completion SHELL`
#   docs/*.md                  the user docs: docs/*.md at the top of docs/ less the developer pages
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOTOOLCHAIN=go1.27.3
version=${1:?usage: scripts/release-assets.sh VERSION}
out=.release-assets
rm -rf "$out"; mkdir -p "$out/man" "$out/completions" "$out/docs"
# a binary for this machine, stamped like the release (the man pages' footer names the version)
CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$version" -o "$out/cesub" ./cmd/cesub
"$out/cesub" docs man "$out/man"
gzip -n -9 "$out"/man/*.1
"$out/cesub" completion bash > "$out/completions/cesub.bash"
"$out/cesub" completion zsh > "$out/completions/_cesub"
"$out/cesub" completion fish > "$out/completions/cesub.fish"
# developer pages (the testbed, the test suite, the code's layout) stay out; docs/dev/ is not matched
for f in docs/*.md; do
  case ${f#docs/} in testbed.md|testing.md|architecture.md) continue ;; esac
  cp "$f" "$out/docs/"
done
rm "$out/cesub"
echo "release assets: $(ls "$out/man" | wc -l) man pages, $(ls "$out/completions" | wc -l) completions, $(ls "$out/docs" | wc -l) user docs"
