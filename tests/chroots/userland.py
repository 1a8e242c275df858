"""Run a command inside one of the cached Debian chroots (trixie, sid) that tests/chroots/prepare.sh
builds, against this kernel, with this checkout bound in.

The mounts live in a private mount namespace (`unshare -m`), so they vanish with the command,
whatever happens to it: nothing is left mounted on the host, even after a kill.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("SCXTOP_CHROOTS", "/var/cache/scxtop-chroots"))
REPO = Path(__file__).resolve().parents[2]
PREPARE = REPO / "tests" / "chroots" / "prepare.sh"
VENV = "/opt/scxtop-venv"
INNER_REPO = "/scxtop"  # where the checkout appears inside the chroot
SUITES = ("trixie", "sid")

# Bound from the host (recursively, so tracefs, BTF, bpffs, cgroup and devpts come along);
# /tmp and /run are fresh tmpfs so each run starts clean and leaves nothing in the cache.
MOUNTS = """
set -e
R=$1; SRC=$2; shift 2
mount --bind "$R" "$R"  # the chroot's / a mount point of its own, so tests can `unshare -m` in it
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/run"
mkdir -p "$R/scxtop"
mount --bind "$SRC" "$R/scxtop"
exec chroot "$R" "$@"
"""


@dataclass(frozen=True)
class Userland:
    """One prepared chroot: its suite and what its `.ready` file says it has."""

    suite: str
    root: Path
    bpftrace: str
    python: str


def root_of(suite: str) -> Path:
    return CACHE / suite


def not_ready_reason(suite: str) -> str | None:
    """Why the chroot of `suite` cannot be used, or None when it can."""
    if os.geteuid() != 0:
        return "the chroots need root (chroot, mount namespaces)"
    ready = root_of(suite) / ".ready"
    if not ready.exists():
        log = CACHE / f"{suite}.log"
        return (f"the {suite} chroot is not prepared ({ready} missing): run {PREPARE} {suite}"
                + (f"; its last build log is {log}" if log.exists() else ""))
    return None


def requirements() -> list[str]:
    """What prepare.sh installs into the venvs: pyproject's dependencies and dev extras."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project.get("dependencies", []), *project.get("optional-dependencies", {}).get("dev", [])]


def venv_current(suite: str) -> bool:
    """True when the chroot's venv was installed from today's pyproject.toml."""
    stamp = root_of(suite) / VENV.lstrip("/") / ".requirements"
    return stamp.exists() and [r for r in stamp.read_text().splitlines() if r] == requirements()


def refresh(suite: str) -> str | None:
    """Bring the chroot up to date with pyproject.toml (prepare.sh); None, or why it failed."""
    done = subprocess.run([str(PREPARE), suite], capture_output=True, text=True, timeout=1800)
    return None if done.returncode == 0 else f"{PREPARE} {suite} failed: {done.stderr.strip()[-2000:]}"


def userland(suite: str) -> Userland:
    fields = dict(line.split("=", 1) for line in (root_of(suite) / ".ready").read_text().splitlines()
                  if "=" in line)
    return Userland(suite, root_of(suite), fields.get("bpftrace", "?"), fields.get("python", "?"))


def command(suite: str, argv: list[str], env: dict[str, str] | None = None, cwd: str = INNER_REPO,
            source: Path = REPO) -> list[str]:
    """The host command that runs `argv` in the chroot, in `cwd`, with a clean environment."""
    inner_env = {
        "PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "TERM": os.environ.get("TERM", "xterm-256color"),
        "PYTHONPATH": INNER_REPO,
        "PYTHONDONTWRITEBYTECODE": "1",  # no 3.13/3.14 caches in the checkout
        **(env or {}),
    }
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", MOUNTS, "sh",
            str(root_of(suite)), str(source),
            "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in inner_env.items()),
            "/bin/sh", "-c", f"cd {shlex.quote(cwd)} && exec \"$@\"", "sh", *argv]


def run(suite: str, argv: list[str], timeout: float, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """Run `argv` in the chroot; stdout and stderr together. Raises TimeoutExpired (the whole
    process group is killed first, so no bpftrace outlives it)."""
    token = f"SCXTOP_CHROOT_RUN={uuid.uuid4().hex}"
    env = {**(env or {}), "SCXTOP_CHROOT_RUN": token.split("=", 1)[1]}
    proc = subprocess.Popen(command(suite, argv, env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, _ = proc.communicate()
        raise subprocess.TimeoutExpired(proc.args, timeout, output=out) from None
    finally:
        kill_leftovers(suite, token)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def processes_in(suite: str, token: str) -> list[int]:
    """Processes of one run still alive in the chroot: root there and `token` in their environment
    (others may use the same chroot at the same time)."""
    root, mark = str(root_of(suite)), token.encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == root and mark in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def kill_leftovers(suite: str, token: str) -> None:
    """SIGKILL what one run left in the chroot (a workload or bpftrace orphaned by a timeout)."""
    for pid in processes_in(suite, token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)


def pytest_argv(paths: list[str], *extra: str) -> list[str]:
    """The inner pytest: the chroot's venv, no cache written into the checkout."""
    return [f"{VENV}/bin/python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs", "--durations=5",
            "--color=no", *extra, *paths]
