"""Run bpftrace as a child that never outlives scxtop, and read its records.

The child gets its own process group (so a terminal's Ctrl-C reaches scxtop, which then stops
bpftrace in order), SIGKILL as its parent-death signal (so it dies with scxtop even when scxtop
is SIGKILLed), and RLIMIT_MEMLOCK raised as far as allowed (bpftrace 0.17 otherwise warns and,
on kernels before 5.11, cannot create maps). The program goes on the command line (`-e`), never
into a temporary file: a file could outlive a scxtop killed by a signal it does not catch.
Note that the parent-death signal follows the *thread* that started the child: start it from a
thread that lives as long as the collection.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scxtop.bpftrace.errors import BpftraceError, BpftraceNotFound, classify_stderr
from scxtop.bpftrace.records import AttachedProbes, ErrorRecord, Record, parse_record
from scxtop.trusted_path import UntrustedPath, check_executable

PR_SET_PDEATHSIG = 1
STDERR_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def json_count_toplevel(self) -> bool:
        """0.24 moved attached_probes/lost_events counts to a top-level `count`."""
        return (self.major, self.minor) >= (0, 24)


def find_bpftrace(path: str | None = None) -> str:
    """bpftrace's path, trusted as a scheduler program is (scxtop.trusted_path): it runs as root."""
    usual = ("/usr/sbin/bpftrace", "/usr/bin/bpftrace", "/usr/local/bin/bpftrace")
    if path is not None:
        found = path if os.access(path, os.X_OK) else shutil.which(path)
    else:
        found = shutil.which("bpftrace") or next((p for p in usual if os.access(p, os.X_OK)), None)
    if not found:
        raise BpftraceNotFound("bpftrace is not installed: apt-get install bpftrace (or use --source procfs)")
    found = os.path.abspath(found)
    try:
        check_executable(Path(found))
    except UntrustedPath as err:
        fix = "use root's bpftrace: apt-get install bpftrace"
        raise BpftraceError(f"refusing to run {found}: {err} ({fix})") from None
    return found


SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ")


def bpftrace_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """What bpftrace sees: a fixed PATH, its own BPFTRACE_* settings, the locale, scxtop's own
    SCXTOP_* variables (tests mark processes with them); never root's whole environment
    (LD_PRELOAD, PYTHONPATH, tokens...)."""
    env = {"PATH": SAFE_PATH}
    env.update({k: v for k, v in os.environ.items()
                if k.startswith(("BPFTRACE_", "SCXTOP_")) or k in KEPT_ENV})
    return {**env, **(extra or {})}


def parse_version(text: str) -> Version | None:
    m = re.search(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text)
    return Version(int(m[1]), int(m[2]), int(m[3] or 0)) if m else None


def bpftrace_version(binary: str | None = None) -> Version:
    binary = find_bpftrace(binary)
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL, env=bpftrace_env()).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BpftraceError(f"cannot run {binary} --version: {e}") from e
    version = parse_version(out)
    if version is None:
        raise BpftraceError(f"cannot read the bpftrace version from {out.strip()!r}")
    return version


def _child_setup(parent_pid: int) -> None:
    """Runs in the child between fork and exec."""
    os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    # A shell without job control starts background jobs with SIGINT ignored, and exec keeps
    # that: bpftrace would then ignore our stop request and only die by SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))


class BpftraceProcess:
    """One running bpftrace program; iterate `records()`, then `stop()` (also on errors)."""

    def __init__(self, program: str, *, binary: str | None = None, env: dict[str, str] | None = None,
                 stdout: int | None = None):
        """`stdout`: a file descriptor for bpftrace's output instead of a pipe to `lines()` (a test
        that paces bpftrace through a one-page pipe reads it itself)."""
        self.binary = find_bpftrace(binary)
        self._stderr: list[str] = []
        self._stderr_size = 0
        self._stopping = False
        parent = os.getpid()
        self.proc = subprocess.Popen(
            [self.binary, "-f", "json", "-B", "line", "-e", program],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=bpftrace_env(env),
            preexec_fn=lambda: _child_setup(parent),
        )
        self._stderr_thread = threading.Thread(target=self._drain_stderr, name="bpftrace-stderr", daemon=True)
        self._stderr_thread.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if self._stderr_size < STDERR_LIMIT:
                self._stderr.append(line)
                self._stderr_size += len(line)

    def stderr_text(self) -> str:
        return "".join(self._stderr)

    def lines(self) -> Iterator[str]:
        """Raw stdout lines until bpftrace exits (for recording fixtures)."""
        assert self.proc.stdout is not None
        while True:
            try:
                line = self.proc.stdout.readline()
            except (OSError, ValueError):  # closed by stop() from another thread
                return
            if not line:
                return
            yield line

    def records(self) -> Iterator[Record]:
        """Records until bpftrace exits; raises the classified error if it failed on its own."""
        for line in self.lines():
            try:
                record = parse_record(line)
            except ValueError:
                continue  # a partial line from a killed bpftrace
            if record is not None:
                yield record
        self.proc.wait()
        self._stderr_thread.join(timeout=2)
        if not self._stopping and self.proc.returncode != 0:
            raise classify_stderr(self.stderr_text(), self.proc.returncode)

    def wait_attached(self) -> AttachedProbes | None:
        """Block until the probes are attached (the first record), or raise why they were not.

        None when stop() was called meanwhile (from another thread)."""
        for record in self.records():
            if isinstance(record, AttachedProbes):
                return record
            if isinstance(record, ErrorRecord):
                self.stop()
                raise BpftraceError(f"bpftrace: {record.message}")
        if self._stopping:
            return None
        raise classify_stderr(self.stderr_text(), self.proc.returncode)

    def stop(self, grace_s: float = 3.0) -> int | None:
        """SIGINT (bpftrace detaches and prints its maps), then SIGKILL after `grace_s`. Idempotent."""
        self._stopping = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream:
                    stream.close()
        return self.proc.returncode

    def __enter__(self) -> BpftraceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
