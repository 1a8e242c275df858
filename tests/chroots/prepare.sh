#!/usr/bin/env bash
# Build, idempotently, the Debian chroots the userland tests run in: trixie (bpftrace 0.23,
# Python 3.13) and sid (bpftrace 0.27, Python 3.14), made with mmdebstrap and cached in
# $SCXTOP_CHROOTS (default /var/cache/scxtop-chroots/<suite>). Each gets a venv at
# /opt/scxtop-venv with the project's dependencies and dev extras read from pyproject.toml (re-read
# on every run: the venv is brought up to date when the requirement list changes).
#
#   tests/chroots/prepare.sh [SUITE...]     default: trixie sid
#
# A chroot is built in <suite>.tmp and renamed when complete, so a half-built one is never used.
# `<suite>/.ready` is written once bpftrace, python3 and the venv work; it holds their versions.
# A failure of one suite does not stop the others; the exit status is non-zero if any failed.
# Needs root (mmdebstrap, chroot).
set -uo pipefail

CACHE="${SCXTOP_CHROOTS:-/var/cache/scxtop-chroots}"
MIRROR="${SCXTOP_CHROOT_MIRROR:-http://deb.debian.org/debian}"
REPO="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
VENV=/opt/scxtop-venv
export DEBIAN_FRONTEND=noninteractive

# What the tests need. OPTIONAL packages are installed when the suite has them (linux-perf lags in
# sid now and then); a missing one is reported, never fatal.
REQUIRED=bpftrace,python3,python3-venv,python3-pip,kmod,udev,procps,ca-certificates,util-linux,mount,iproute2
OPTIONAL="linux-perf tmux dbus-daemon libbpf1 busybox"

say() { printf '==> chroots: %s\n' "$*" >&2; }
die() { printf 'tests/chroots/prepare.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap and chroot need it)"
if ! command -v mmdebstrap >/dev/null; then
    say "apt-get install mmdebstrap"
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; } \
        || die "could not install mmdebstrap (apt-get install mmdebstrap)"
fi
mkdir -p "$CACHE"

# pip inside a chroot uses the host's configuration: its config files and the local indexes and
# wheel directories they name (bound read-only while pip runs).
pip_dirs() {
    local f
    for f in /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
        [ -r "$f" ] && grep -oE '(file://)?/[^ ]+' "$f"
    done
    printf '%s\n' "${PIP_FIND_LINKS:-}" "${PIP_EXTRA_INDEX_URL:-}" "${PIP_INDEX_URL:-}" | tr ' ' '\n'
} 2>/dev/null

copy_host_config() {  # copy_host_config ROOT: CA bundle and pip configuration
    local root="$1"
    if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
        mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
        cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    fi
    [ -r /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
    if [ -d "$HOME/.config/pip" ]; then
        mkdir -p "$root/root/.config"
        cp -r "$HOME/.config/pip" "$root/root/.config/"
    fi
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

# Run a command in ROOT with /proc, /dev and the host's pip directories bound, in a private mount
# namespace so nothing stays mounted if it fails.
in_root() {  # in_root ROOT CMD...
    local root="$1"; shift
    local binds="" d
    while read -r d; do
        d="${d#file://}"; d="${d%/simple}"
        [ -n "$d" ] && [ -d "$d" ] && binds+="mkdir -p '$root$d' && mount --bind -o ro '$d' '$root$d' && "
    done < <(pip_dirs | sort -u)
    local envs=() v
    for v in $(compgen -e | grep -E '^PIP_|_CA_BUNDLE$|^SSL_CERT_'); do envs+=("$v=${!v}"); done
    unshare -m --propagation private sh -c "
        mount -t proc proc '$root/proc' && mount --rbind /dev '$root/dev' && $binds exec env -i \"\$@\"" \
        sh PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
        "${envs[@]}" chroot "$root" "$@"
}

build_base() {  # build_base SUITE: mmdebstrap into SUITE.tmp, then rename
    local suite="$1" dir="$CACHE/$1" tmp="$CACHE/$1.tmp"
    [ -x "$dir/usr/bin/python3" ] && { add_missing "$suite"; return; }
    rm -rf "$tmp"
    local opts=(--variant=apt --include="$REQUIRED" --components=main)
    [ "$suite" = sid ] && opts+=(--aptopt='Acquire::Check-Valid-Until "false"')
    # The optional packages one by one, so that one missing does not cost the others.
    opts+=(--customize-hook='for p in '"$OPTIONAL"'; do
        chroot "$1" apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 \
            || echo "chroots: $p is not available in this suite" >&2; done')
    say "mmdebstrap $suite (a few minutes)"
    if ! mmdebstrap --quiet "${opts[@]}" "$suite" "$tmp" "$MIRROR" >"$CACHE/$suite.log" 2>&1; then
        tail -n 20 "$CACHE/$suite.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    rm -rf "$dir"
    mv "$tmp" "$dir"
}

add_missing() {  # add_missing SUITE: required packages added to the list after the chroot was built
    local root="$CACHE/$1" missing=() p
    for p in ${REQUIRED//,/ }; do
        chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "$1: apt-get install ${missing[*]}"
    copy_host_config "$root"
    in_root "$root" sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null' \
        sh "${missing[@]}"
}

# The requirements: dependencies and the dev extras, read from pyproject.toml by the chroot's own
# Python (tomllib), one per line.
requirements() {  # requirements ROOT
    cp "$REPO/pyproject.toml" "$1/tmp/scxtop-pyproject.toml"
    chroot "$1" /usr/bin/python3 -c '
import tomllib
p = tomllib.load(open("/tmp/scxtop-pyproject.toml", "rb"))["project"]
for r in p.get("dependencies", []) + p.get("optional-dependencies", {}).get("dev", []):
    print(r)'
}

build_venv() {  # build_venv SUITE
    local root="$CACHE/$1" reqs stamp
    copy_host_config "$root"
    reqs=$(requirements "$root") || return 1
    stamp="$root$VENV/.requirements"
    if [ -x "$root$VENV/bin/python" ] && [ -e "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ]; then
        return 0
    fi
    say "$1: pip install into $VENV: $(echo "$reqs" | tr '\n' ' ')"
    [ -x "$root$VENV/bin/python" ] || in_root "$root" /usr/bin/python3 -m venv "$VENV" || return 1
    echo "$reqs" >"$root/tmp/scxtop-requirements.txt"
    # (pip warns about each local index that lacks a package: noise, not a problem)
    in_root "$root" "$VENV/bin/python" -m pip install -q -r /tmp/scxtop-requirements.txt \
        2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) || return 1
    echo "$reqs" >"$stamp"
}

mark_ready() {  # mark_ready SUITE: only when bpftrace, python3 and the venv answer
    local root="$CACHE/$1" bt py
    bt=$(chroot "$root" bpftrace --version 2>&1) || { echo "$1: bpftrace does not run: $bt" >&2; return 1; }
    py=$(chroot "$root" "$VENV/bin/python" -c 'import sys, textual, pytest; print("Python", sys.version.split()[0])' 2>&1) \
        || { echo "$1: the venv does not work: $py" >&2; return 1; }
    printf 'suite=%s\nbpftrace=%s\npython=%s\nvenv=%s\n' "$1" "$bt" "$py" "$VENV" >"$root/.ready.tmp"
    mv "$root/.ready.tmp" "$root/.ready"
    say "$1 ready: $bt, $py"
}

prepare() {  # prepare SUITE
    if build_base "$1" && build_venv "$1" && mark_ready "$1"; then return 0; fi
    echo "tests/chroots/prepare.sh: the $1 chroot could not be prepared (log: $CACHE/$1.log)" >&2
    rm -f "$CACHE/$1/.ready"
    return 1
}

# The suites in parallel: building one is mostly waiting for downloads and dpkg.
pids=()
for suite in ${*:-trixie sid}; do
    prepare "$suite" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
