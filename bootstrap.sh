#!/usr/bin/env bash
# Set up scxtop on a fresh Debian machine, then run it or its tests.
#
#   ./bootstrap.sh run [scxtop args...]   install, then start scxtop (the dashboard)
#   ./bootstrap.sh test [pytest args...]  install with the test tools, then run the test suite
#   ./bootstrap.sh setup                  install only
#
# It installs the system packages (bpftrace, and for tests linux-perf, qemu and the sched_ext guest
# kernel), mounts tracefs, and makes a virtual environment in .venv with scxtop in it. It is safe to
# run again: what is already there is kept. Root is needed for apt and for BPF; without root it
# re-runs itself through sudo where sudo exists.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

verb="${1:-run}"
[ $# -gt 0 ] && shift
case "$verb" in run|test|setup) ;; *) echo "usage: $0 run|test|setup [args...]" >&2; exit 2 ;; esac

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then exec sudo --preserve-env=CI "$0" "$verb" "$@"; fi
    echo "bootstrap.sh: run as root (apt and BPF need it): su -c '$0 $verb'" >&2
    exit 1
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apt_install bpftrace python3-venv
if [ "$verb" = test ]; then
    had_prometheus=$(dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -c 'ok installed' || true)
    apt_install linux-perf tmux prometheus  # prometheus + promtool: the exporter's tests start their own
    # Installing it starts a system-wide Prometheus on every interface where systemd runs: stop the one
    # we just installed (never one that was there before).
    if [ "$had_prometheus" = 0 ] && [ -d /run/systemd/system ]; then systemctl disable -q --now prometheus || true; fi
fi

if ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
    say "mount tracefs on /sys/kernel/tracing"
    mount -t tracefs nodev /sys/kernel/tracing || echo "bootstrap.sh: could not mount tracefs; scxtop will fall back to /proc" >&2
fi

python=python3
if [ ! -x .venv/bin/python ]; then
    say "python3 -m venv .venv"
    "$python" -m venv .venv
fi
extras=""
[ "$verb" = test ] && extras="[dev]"
stamp=".venv/.installed$extras"
if [ ! -e "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "pip install -e .$extras"
    .venv/bin/python -m pip install -q -e ".$extras"
    touch "$stamp"
fi

if [ "$verb" = test ] && [ -x tests/vm/prepare.sh ]; then
    say "prepare the sched_ext guest (tests/vm/prepare.sh)"
    tests/vm/prepare.sh || echo "bootstrap.sh: the sched_ext guest could not be prepared; its tests will say why" >&2
fi

case "$verb" in
    run) exec .venv/bin/scxtop "$@" ;;
    test) exec .venv/bin/python -m pytest "$@" ;;
    setup) say "ready: .venv/bin/scxtop" ;;
esac
