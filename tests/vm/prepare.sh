#!/usr/bin/env bash
# Install what the sched_ext guest needs, idempotently: qemu, virtiofsd, udev and kmod (trixie,
# from a low-pin sources file so nothing on the host is upgraded by accident), virtme-ng (PyPI, in
# its own venv), the trixie-backports cloud kernel with sched_ext (unpacked, never installed),
# clang and a private libbpf >= 1.2 (bookworm-backports, unpacked) for the test schedulers.
#
# Everything downloaded goes to $SCXTOP_VM_CACHE (default /var/cache/scxtop-vm); the last line of
# $SCXTOP_VM_CACHE/env tells the tests where things are. Run it again at any time: what is there
# is kept. Needs root (apt).
#
# The kernel's own example schedulers (tools/sched_ext in linux-source-<major.minor>, the same
# trixie-backports kernel) are built once in a throw-away trixie chroot (mmdebstrap) and linked
# statically, so the guest runs them on the host's root with our venv; only the eight binaries
# are kept, in $CACHE/scx-examples-<kver>/ (about 5 minutes the first time).
set -euo pipefail

CACHE="${SCXTOP_VM_CACHE:-/var/cache/scxtop-vm}"
SOURCES=/etc/apt/sources.list.d/scxtop-vm.sources
PINS=/etc/apt/preferences.d/scxtop-vm
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> prepare: %s\n' "$*" >&2; }
die() { printf 'prepare.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get is needed)"
mkdir -p "$CACHE"

# --- apt sources: trixie, trixie-backports, bookworm-backports at priority 100 -----------------
if [ ! -e "$SOURCES" ] || [ ! -e "$PINS" ]; then
    say "adding $SOURCES (pinned at 100)"
    cat >"$SOURCES" <<'SRC'
# Added by scxtop tests/vm/prepare.sh: only used with `apt-get -t SUITE` (pinned low in
# /etc/apt/preferences.d/scxtop-vm), so the host stays on its own release.
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-backports bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat >"$PINS" <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=trixie-backports
Pin-Priority: 100

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100
PIN
    rm -f "$CACHE/.apt-updated"
fi
if [ ! -e "$CACHE/.apt-updated" ] || [ -n "$(find "$CACHE/.apt-updated" -mmin +1440)" ] \
    || ! apt-cache policy 2>/dev/null | grep -q 'n=trixie-backports'; then
    say "apt-get update"
    apt-get update -qq
    touch "$CACHE/.apt-updated"
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
apt_install() {  # apt_install SUITE|- PKG...
    local suite="$1"; shift
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "apt-get install $([ "$suite" = - ] || echo "-t $suite ")${missing[*]}"
    if [ "$suite" = - ]; then
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        apt-get install -y -qq --no-install-recommends -t "$suite" "${missing[@]}" >/dev/null
    fi
}

# --- host tools ------------------------------------------------------------------------------
apt_install - qemu-system-x86 clang-14 llvm-14 dbus-daemon python3-venv busybox-static
# virtiofsd exists only from trixie on; trixie's udev is what lets vng pass the guest's output back.
udev_version=$(dpkg-query -W -f='${Version}' udev 2>/dev/null || true)
if ! installed virtiofsd || [ -z "$udev_version" ] || dpkg --compare-versions "$udev_version" lt 253; then
    say "apt-get install -t trixie virtiofsd udev kmod"
    apt-get install -y -qq --no-install-recommends -t trixie virtiofsd udev kmod >/dev/null
fi

# --- virtme-ng (PyPI) in its own venv ----------------------------------------------------------
if [ ! -x "$CACHE/vng-venv/bin/vng" ]; then
    say "pip install virtme-ng into $CACHE/vng-venv"
    rm -rf "$CACHE/vng-venv"
    /usr/bin/python3 -m venv "$CACHE/vng-venv"
    "$CACHE/vng-venv/bin/pip" install -q virtme-ng
fi

# --- download and unpack .debs privately --------------------------------------------------------
unpack() {  # unpack SUITE DEST PKG...: apt-get download + dpkg-deb -x, once
    local suite="$1" dest="$2"; shift 2
    [ -e "$dest/.done" ] && return 0
    local dl="$CACHE/debs"; mkdir -p "$dl" "$dest"
    chown _apt "$dl" 2>/dev/null || true  # apt downloads as _apt
    say "download ($suite) $*"
    (cd "$dl" && apt-get download -qq -t "$suite" "$@" >/dev/null)
    local p f
    for p in "$@"; do
        f=$(ls -t "$dl/${p%%=*}"_*.deb | head -n1)
        dpkg-deb -x "$f" "$dest"
    done
    touch "$dest/.done"
}

# The kernel: linux-image-cloud-amd64 (trixie-backports) -> linux-image-VER-cloud-amd64.
image=$(apt-cache depends -t trixie-backports linux-image-cloud-amd64 2>/dev/null \
    | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$image" ] || die "apt-cache finds no linux-image-cloud-amd64 in trixie-backports"
kver=${image#linux-image-}
# Its parts (binary, base, modules): whatever the image package depends on with this version.
parts=$(apt-cache depends -t trixie-backports "$image" 2>/dev/null \
    | awk -v v="$kver" '/Depends:/ && index($2, v) {print $2}' | sort -u | tr '\n' ' ')
[ -n "$parts" ] || parts="$image"
unpack trixie-backports "$CACHE/kernel-$kver" $parts
vmlinuz="$CACHE/kernel-$kver/usr/lib/modules/$kver/vmlinuz"
[ -e "$vmlinuz" ] || vmlinuz=$(ls "$CACHE/kernel-$kver"/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -e "$vmlinuz" ] || die "no vmlinuz in $CACHE/kernel-$kver (packages: $parts)"

# vmlinux.h for the test schedulers: linux-bpf-dev of the same version.
bpfdev_version=$(apt-cache show -t trixie-backports "linux-bpf-dev" 2>/dev/null \
    | awk -v v="${kver%-cloud-amd64}" '/^Version:/ && index($2, v) {print $2; exit}')
[ -n "$bpfdev_version" ] || bpfdev_version=$(apt-cache policy linux-bpf-dev \
    | awk '/Candidate:/ {print $2}')
unpack trixie-backports "$CACHE/bpfdev-$kver" "linux-bpf-dev=$bpfdev_version"
vmlinux_h=$(find "$CACHE/bpfdev-$kver" -name vmlinux.h | head -n1)
[ -n "$vmlinux_h" ] || die "linux-bpf-dev $bpfdev_version has no vmlinux.h"

# libbpf >= 1.2 (bookworm-backports), headers and library, never installed on the host.
unpack bookworm-backports "$CACHE/libbpf" libbpf1 libbpf-dev
libbpf_so=$(find "$CACHE/libbpf" -name 'libbpf.so.1*' -type f | head -n1)
[ -n "$libbpf_so" ] || die "no libbpf.so.1 in $CACHE/libbpf"

# --- the kernel's example schedulers (scx_simple, scx_qmap, scx_central, ...) ---------------
# Built in a trixie chroot (clang, bpftool and libbpf new enough for this kernel's headers), with
# the tree's own Makefile and the 7.3 vmlinux.h from linux-bpf-dev (the Makefile would dump it
# from the running kernel, which has no sched_ext). Then relinked with -static: trixie's glibc is
# newer than the host's. Debian's static libelf lacks elfutils' search-tree helpers:
# upstream/eu_search.c supplies them.
examples="$CACHE/scx-examples-$kver"
if [ ! -e "$examples/.done" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    apt_install - mmdebstrap
    root="$CACHE/scx-build-root"
    src_pkg="linux-source-$(echo "$kver" | cut -d. -f1,2)"
    rm -rf "$root"
    say "mmdebstrap trixie build chroot with $src_pkg (throw-away)"
    mmdebstrap --quiet --variant=apt \
        --include="clang,llvm,lld,libbpf-dev,bpftool,make,gcc,libc6-dev,libelf-dev,zlib1g-dev,libzstd-dev,pkg-config,xz-utils,python3-minimal,$src_pkg" \
        trixie "$root" "deb http://deb.debian.org/debian trixie main" \
        "deb http://deb.debian.org/debian trixie-backports main"
    cp "$vmlinux_h" "$root/tmp/vmlinux.h"
    cp "$here/upstream/eu_search.c" "$root/tmp/eu_search.c"
    say "building tools/sched_ext of $src_pkg"
    chroot "$root" /bin/sh -ec '
        cd /usr/src && tar -xJf '"$src_pkg"'.tar.xz '"$src_pkg"'/tools '"$src_pkg"'/include \
            '"$src_pkg"'/scripts '"$src_pkg"'/arch/x86/include
        cd '"$src_pkg"'/tools/sched_ext
        make -j"$(nproc)" BPFTOOL="$(command -v bpftool)" VMLINUX_BTF=/tmp/vmlinux.h \
            VMLINUX_H=/tmp/vmlinux.h >/tmp/build.log 2>&1 || { tail -n 40 /tmp/build.log; exit 1; }
        gcc -O2 -c /tmp/eu_search.c -o build/eu_search.o
        mkdir -p /tmp/out
        for obj in build/obj/sched_ext/scx_*.o; do
            case $obj in *.bpf.*) continue ;; esac
            name=$(basename "$obj" .o)
            gcc -static -o "/tmp/out/$name" "$obj" build/obj/libbpf/libbpf.a build/eu_search.o \
                -lelf -lz -lzstd -lpthread 2>/tmp/link.log || { cat /tmp/link.log; exit 1; }
        done'
    rm -rf "$examples"; mkdir -p "$examples"
    cp "$root"/tmp/out/scx_* "$examples/"
    chmod 755 "$examples" "$examples"/scx_*
    rm -rf "$root"
    touch "$examples/.done"
fi
[ -x "$examples/scx_simple" ] || die "no scx_simple in $examples: remove it and rerun prepare.sh"

cat >"$CACHE/env" <<ENV
KVER=$kver
VMLINUZ=$vmlinuz
VMLINUX_H=$vmlinux_h
LIBBPF_SO=$libbpf_so
LIBBPF_INCLUDE=$CACHE/libbpf/usr/include
VNG=$CACHE/vng-venv/bin/vng
CLANG=$(command -v clang-14 || command -v clang)
SCX_EXAMPLES=$examples
KCONFIG=$CACHE/kernel-$kver/usr/lib/modules/$kver/config
ENV
say "ready: $(tr '\n' ' ' <"$CACHE/env")"
