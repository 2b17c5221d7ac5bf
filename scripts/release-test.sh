#!/bin/bash
# scripts/release-test.sh — the release, tested as a site would install it (scripts/test.sh runs it;
# also `make release-test`). Steps:
#   a snapshot release with goreleaser (tools/go.mod) into dist/: archives, deb, rpm, SBOMs, checksums
#   the size of every artifact
#   the .deb installed in a clean Debian bookworm chroot (mmdebstrap; the pristine tree is cached as a
#     tarball under $CESUB_RELEASE_TEST_DIR) with the install commands of README.md's
#     `<!-- release-test: deb -->` block; there cesub --version, man -w, bash completion, and
#     cesub ping against the testbed's A-REX (loopback: the chroot shares the host's network)
#   the rpm's file list against the deb's; the darwin binaries are Mach-O for amd64 and arm64
#   reproducibility: the same commit built again in another directory gives identical bytes
# Needs root on Debian for the chroot (elsewhere those steps skip, except under CI=true). Without the
# testbed (scripts/testbed/arex status) only the ping is skipped, except under CI=true.
# Leaves git status clean: dist/ and .release-assets/ are gitignored; the chroot is under /srv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=go1.27.3
export no_proxy="localhost,127.0.0.1,::1${no_proxy:+,$no_proxy}" NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"
if [ "$(id -u)" = 0 ]; then BASE=${CESUB_RELEASE_TEST_DIR:-/srv/cesub-release-test}
else BASE=${CESUB_RELEASE_TEST_DIR:-${TMPDIR:-/tmp}/cesub-release-test-$(id -u)}; fi
mkdir -p "$BASE"
R=$BASE/root                                   # the chroot, made anew from the tarball each run
MIRROR=${CESUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CI=${CI:-}
t0=$(date +%s)
step() { printf '\n== release: %s (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }
die() { echo "release-test: FAIL: $*" >&2; exit 1; }
# readme_block NAME: the commands of README.md's fenced block after <!-- release-test: NAME -->
# (comments and blank lines dropped)
readme_block() {
  awk -v m="<!-- release-test: $1 -->" '$0 == m { mark = 1; next }
       mark && /^```/ { if (inblock) exit; inblock = 1; next }
       inblock { print }' README.md | sed -e 's/[[:space:]]*#.*$//' -e '/^[[:space:]]*$/d'
}
skip() { # skip WHY: a missing prerequisite fails under CI=true and skips otherwise
  [ "$CI" = true ] && die "$1 (CI=true: nothing may be skipped)"
  echo "release-test: SKIPPED: $1"
}

umount_chroot() {
  local m
  for m in "$R/dev/pts" "$R/dev" "$R/proc"; do
    if mountpoint -q "$m" 2>/dev/null; then umount "$m" || umount -l "$m" || echo "umount $m failed" >&2; fi
  done
  return 0
}
cleanup() { umount_chroot; [ -n "${REPRO:-}" ] && rm -rf "$REPRO"; return 0; }
trap cleanup EXIT

ensure_pkgs() { # apt-get install what is missing (an apt-get update first only if that fails)
  local need="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
  done
  [ -z "$need" ] && return 0
  echo "installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $need >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 || true; apt-get install -y --no-install-recommends $need >/dev/null; }
}

can_chroot=yes
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  can_chroot=no
  skip "the chroot and package steps need root on Debian"
fi
[ $can_chroot = yes ] && ensure_pkgs mmdebstrap rpm file

step "release tools (goreleaser, cyclonedx-gomod from tools/go.mod; built once per tools/go.sum)"
scripts/release-tools.sh
goreleaser() { "$REPO/scripts/goreleaser.sh" "$@"; }
goreleaser --version 2>/dev/null | grep -m1 GitVersion || true

step "goreleaser check"
goreleaser check

step "snapshot release into dist/"
goreleaser release --snapshot --clean --skip=publish > "$BASE/goreleaser.log" 2>&1 \
  || { tail -40 "$BASE/goreleaser.log"; die "goreleaser release --snapshot failed (log: $BASE/goreleaser.log)"; }
sed 's/\x1b\[[0-9;]*m//g' "$BASE/goreleaser.log" | grep -E 'succeeded after' | sed 's/^ *//' || true

step "artifacts"
(cd dist && find . -mindepth 1 -maxdepth 2 -type f \( -name '*.tar.gz' -o -name '*.deb' -o -name '*.rpm' \
    -o -name '*.cdx.json' -o -name checksums.txt -o -name cesub \) -printf '%s\t%P\n' | sort -k2 \
  | awk -F'\t' '{ printf "%10.1f KiB  %s\n", $1/1024, $2 }')
(cd dist && sha256sum -c --quiet checksums.txt) || die "checksums.txt does not match dist/"
deb=$(ls dist/cesub_*_amd64.deb); rpm=$(ls dist/cesub-*.x86_64.rpm)
version=$(grep -o '"version": *"[^"]*"' dist/metadata.json | head -1 | sed 's/.*: *"//; s/"$//')
[ -n "$version" ] || die "no version in dist/metadata.json"
echo "version $version; deb $deb; rpm $rpm"
for a in dist/cesub_*.tar.gz; do
  list=$(tar -tzf "$a")
  for want in cesub LICENSE README.md docs/exit-codes.md man/man1/cesub-submit.1.gz completions/cesub.bash \
              completions/_cesub completions/cesub.fish; do
    grep -qx "$want" <<<"$list" || die "$a lacks $want"
  done
  if grep -E '^docs/(dev/|testbed\.md|testing\.md|architecture\.md)' <<<"$list"; then die "$a holds developer docs"; fi
done
echo "each archive: the binary, LICENSE, README.md, $(grep -c '^docs/' <<<"$list") user docs, $(grep -c '^man/' <<<"$list") man pages, 3 completions"

step "file lists: rpm -qpl against dpkg-deb -c (files only; the licence sits where each distribution wants it)"
if [ $can_chroot = yes ]; then
  norm() { sed -e 's#^\./#/#' -e 's#^/usr/share/doc/cesub/copyright$#LICENCE#' -e 's#^/usr/share/licenses/cesub/LICENSE$#LICENCE#' | sort; }
  debfiles=$(dpkg-deb -c "$deb" | awk '$1 ~ /^-/ { print $NF }' | norm)
  rpmfiles=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null | awk '$1 ~ /^-/ { print $2 }' | norm)
  if [ "$debfiles" != "$rpmfiles" ]; then
    diff <(echo "$debfiles") <(echo "$rpmfiles") || true
    die "the rpm's files differ from the deb's (< deb, > rpm)"
  fi
  echo "deb and rpm: the same $(echo "$debfiles" | wc -l) files"
  rpm -qpi "$rpm" 2>/dev/null | grep -E '^(Name|Version|Release|License|Group|URL)' || true
  dpkg-deb -f "$deb" Package Version Section Recommends Homepage
fi

step "darwin binaries (Mach-O 64-bit: x86_64 and arm64)"
for arch in amd64:07000001 arm64:0c000001; do
  bin=$(ls dist/cesub_darwin_${arch%%:*}*/cesub) || die "no darwin/${arch%%:*} binary"
  magic=$(od -An -tx1 -N8 "$bin" | tr -d ' \n')
  [ "$magic" = "cffaedfe${arch#*:}" ] || die "$bin is not a Mach-O ${arch%%:*} binary (starts $magic)"
  file "$bin" 2>/dev/null || echo "$bin: Mach-O 64-bit ${arch%%:*}"
  ls dist/cesub_*_darwin_${arch%%:*}.tar.gz >/dev/null || die "no darwin/${arch%%:*} archive"
done

if [ $can_chroot = yes ]; then
  step "clean Debian bookworm chroot in $R"
  # the pristine tree is a tarball made once per set of options: apt's lists and the .debs of
  # bash-completion (the package Recommends it) are kept in it, so installing needs no mirror
  opts="bookworm --variant=apt --include=ca-certificates,man-db,procps --download bash-completion"
  tarball=$BASE/bookworm-$(echo "$opts" | sha256sum | cut -c1-12).tar
  if [ ! -s "$tarball" ]; then
    echo "making $tarball (once; about 60 MB from the Debian mirror)"
    mmdebstrap --mode=root --variant=apt --include=ca-certificates,man-db,procps \
      --skip=cleanup/apt/lists --skip=cleanup/apt/cache \
      --essential-hook='printf "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" > "$1/etc/hosts"' \
      --customize-hook='chroot "$1" apt-get install -y --download-only --no-install-recommends bash-completion' \
      bookworm "${tarball%.tar}.new.tar" "$MIRROR" > "$BASE/mmdebstrap.log" 2>&1 \
      || { tail -20 "$BASE/mmdebstrap.log"; rm -f "${tarball%.tar}.new.tar"; die "mmdebstrap failed (log: $BASE/mmdebstrap.log)"; }
    mv "${tarball%.tar}.new.tar" "$tarball"      # the name ends in .tar: mmdebstrap writes a tarball
  fi
  # a chroot left by a killed run may still have the host's /dev and /proc mounted: unmount first,
  # and never let rm cross into another file system (it would delete the host's device nodes)
  umount_chroot
  rm -rf --one-file-system "$R"; mkdir -p "$R"
  tar -C "$R" --numeric-owner -xpf "$tarball"
  mount -t proc proc "$R/proc"; mount --bind /dev "$R/dev"; mount --bind /dev/pts "$R/dev/pts"
  printf 'APT::Get::Assume-Yes "true";\n' > "$R/etc/apt/apt.conf.d/90cesub-release-test"   # no one answers prompts
  inch() { chroot "$R" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive no_proxy="$no_proxy" NO_PROXY="$NO_PROXY" "$@"; }
  inch sh -c '! command -v cesub' >/dev/null || die "the clean chroot already has cesub"

  step "install the .deb with README.md's commands (<!-- release-test: deb -->)"
  debversion=$(dpkg-deb -f "$deb" Version)
  cmds=$(readme_block deb | sed "s/VERSION/$debversion/g")
  [ -n "$cmds" ] || die "README.md has no fenced block after <!-- release-test: deb -->"
  printf '%s\n' "$cmds" | sed 's/^/  $ /'
  cp "$deb" "$R/root/"
  inch sh -euxc "cd /root; $cmds" > "$BASE/install.log" 2>&1 || { tail -30 "$BASE/install.log"; die "the README's deb install failed in the chroot"; }
  grep -E '^(Setting up|Unpacking) ' "$BASE/install.log" | sed 's/^/  /' || true

  step "in the chroot: cesub --version, version, man -w, completions, docs"
  out=$(inch cesub --version) || die "cesub --version failed"
  echo "  cesub --version: $out"
  [[ "$out" == "cesub $version "* ]] || die "cesub --version says '$out', not version $version"
  [[ "$out" == *"commit "* ]] || die "cesub --version shows no commit: '$out'"
  [ "$(inch cesub version)" = "$out" ] || die "cesub version and cesub --version differ"
  [ "$(inch sh -c "command -v cesub")" = /usr/bin/cesub ] || die "cesub is not /usr/bin/cesub"
  page=$(inch man -w cesub-submit) || die "man -w cesub-submit found no page"
  echo "  man -w cesub-submit: $page"
  inch sh -c 'man cesub-submit 2>/dev/null | grep -q "cesub submit"' || die "man cesub-submit does not render"
  c=$(inch bash -c 'source /usr/share/bash-completion/completions/cesub; complete -p cesub') || die "bash completion: complete -p cesub failed"
  echo "  bash: $c"
  # bash-completion (Recommends) finds the file by itself when cesub is first completed
  inch bash -c '. /usr/share/bash-completion/bash_completion; _completion_loader cesub; complete -p cesub' >/dev/null \
    || die "bash-completion does not load /usr/share/bash-completion/completions/cesub"
  for f in /usr/share/zsh/vendor-completions/_cesub /usr/share/fish/vendor_completions.d/cesub.fish \
           /usr/share/doc/cesub/copyright /usr/share/doc/cesub/README.md /usr/share/doc/cesub/docs/exit-codes.md; do
    [ -s "$R$f" ] || die "$f missing in the chroot"
  done
  echo "  zsh, fish completions, /usr/share/doc/cesub: present"
  # the drop-in links: each one /usr/lib/cesub/compat/TOOL, the same set as `cesub compat list`, and
  # each says under --version that it is cesub emulating that tool
  want=$(inch cesub compat list | awk '{print $1}' | sort)
  have=$(ls "$R/usr/lib/cesub/compat" | sort)
  [ "$want" = "$have" ] || die "the package's drop-in links differ from cesub compat list: $(diff <(echo "$want") <(echo "$have") | tr '\n' ' ')"
  for t in $have; do
    v=$(inch /usr/lib/cesub/compat/$t --version 2>&1) || die "/usr/lib/cesub/compat/$t --version failed: $v"
    [[ "$v" == *cesub*emulating* && "$v" == *"$t"* ]] || die "/usr/lib/cesub/compat/$t --version says '$v'"
  done
  echo "  /usr/lib/cesub/compat: $(echo $have | wc -w) drop-in links, each --version naming cesub and its tool"

  step "the tar.gz with README.md's commands (<!-- release-test: tar -->), into a fresh home in the chroot"
  cmds=$(readme_block tar | sed "s/VERSION/$version/g")
  [ -n "$cmds" ] || die "README.md has no fenced block after <!-- release-test: tar -->"
  printf '%s\n' "$cmds" | sed 's/^/  $ /'
  tgz=dist/cesub_${version}_linux_amd64.tar.gz
  [ -s "$tgz" ] || die "no $tgz"
  mkdir -p "$R/home/tarball"
  cp "$tgz" "$R/home/tarball/"
  tarsh() { inch env HOME=/home/tarball sh -euc "cd ~; $1"; }
  tarsh "$cmds" > "$BASE/tar.log" 2>&1 || { tail -20 "$BASE/tar.log"; die "the README's tar.gz install failed in the chroot"; }
  out=$(tarsh '~/.local/bin/cesub --version') || die "~/.local/bin/cesub --version failed"
  [[ "$out" == "cesub $version "* ]] || die "the tar.gz's cesub --version says '$out'"
  tarsh 'MANPATH=~/.local/share/man: man -w cesub-submit' >/dev/null || die "man -w finds no page from the tar.gz"
  tarsh 'bash -c "source ~/.local/share/bash-completion/completions/cesub; complete -p cesub"' >/dev/null \
    || die "the tar.gz's bash completion does not load"
  echo "  tar.gz: ~/.local/bin/cesub --version: $out; man page and bash completion found"

  step "in the chroot: cesub ping against the testbed's A-REX"
  if scripts/testbed/arex status >/dev/null 2>&1; then
    eval "$(scripts/testbed/arex env)"
    mkdir -p "$R/etc/grid-security/certificates"
    cp -a "$X509_CERT_DIR"/. "$R/etc/grid-security/certificates/"
    rm -f "$R"/etc/grid-security/certificates/*-key.pem          # the test CA's key stays outside
    install -m 600 "$BEARER_TOKEN_FILE" "$R/root/token"
    inch cesub ping -C "$CESUB_TESTBED_AREX_URL" --token-file /root/token > "$BASE/ping.log" 2>&1 \
      || { cat "$BASE/ping.log"; die "cesub ping $CESUB_TESTBED_AREX_URL from the chroot failed"; }
    sed 's/^/  /' "$BASE/ping.log"
  else
    skip "the testbed's A-REX is not up (scripts/testbed/arex status): no cesub ping from the chroot"
  fi
  umount_chroot
fi

step "reproducible: the same commit built again in another directory"
REPRO=$(mktemp -d /tmp/cesub-repro.XXXXXX)
tar -C "$REPO" --exclude=./dist --exclude=./.release-assets -cf - . | tar -C "$REPRO" -xf -
(cd "$REPRO" && scripts/goreleaser.sh release --snapshot --clean --skip=publish,sbom > goreleaser.log 2>&1) \
  || { tail -30 "$REPRO/goreleaser.log"; die "the second snapshot build failed"; }
same=0; differ=""
for f in $(cd dist && ls cesub_*.tar.gz cesub_*.deb cesub-*.rpm) $(cd dist && ls -d cesub_*_*/ | sed 's#/$#/cesub#'); do
  if cmp -s "dist/$f" "$REPRO/dist/$f"; then same=$((same + 1)); else differ="$differ $f"; fi
done
echo "identical in both builds: $same artifacts${differ:+; differing:$differ}"
for f in $(cd dist && ls -d cesub_linux_amd64*/ | sed 's#/$#/cesub#'); do
  cmp -s "dist/$f" "$REPRO/dist/$f" || die "$f differs between two builds of the same commit"
  echo "linux/amd64 binary: sha256 $(sha256sum < "dist/$f" | cut -c1-64) both times"
done
[ -z "$differ" ] || [ "${CESUB_RELEASE_REPRO_STRICT:-1}" = 0 ] || die "not reproducible:$differ"

step "release test passed"
