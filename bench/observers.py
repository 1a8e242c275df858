"""The observers the benchmark runs next to a load, each started, timed to its first data, stopped.

- `PlainBpftrace`: the probe files in bpftrace/ concatenated and run by bare `bpftrace`, the
  reference (what the probes cost with no scxtop at all).
- `LogRun`: `scxtop log --csv -`, its rows read as they come.
- `DashboardRun`: the dashboard in a detached tmux pane (a real terminal, so the drawing cost is
  real); the first sample is on screen when the status line names the source.

Each records `first_data_s` (from just before the process is started) and the pids to measure:
`pid` (scxtop, or bpftrace for the reference) and `bpftrace_pid` (the child scxtop started).
`stop()` ends the observer and checks that no bpftrace is left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from loads import wait_gone
from procstat import wait_child

from scxtop.bpftrace import probe_dir

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
"""Bounds for a wedged observer, not expectations: on a loaded machine bpftrace's compile alone
has taken 25-31 s, and a dashboard's quit (Textual's teardown, bpftrace's exit) over 10 s.
The times the benchmark reports are measured, never these."""
PROBLEMS: set[str] = set()
"""Misbehaviour seen while stopping observers (not fatal to the benchmark; reported with the table)."""


class ObserverError(RuntimeError):
    """An observer failed to start or to stop cleanly; the message says which and why."""


def _gone(pid: int | None) -> bool:
    return pid is None or wait_gone(pid, STOP_TIMEOUT_S)


def _wait_for(condition, what: str, proc: subprocess.Popen | None = None) -> float:
    """Poll `condition` every 10 ms; the monotonic time it became true."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            raise ObserverError(f"{what}: exited with status {proc.returncode} before its first data")
        time.sleep(0.01)
    raise ObserverError(f"{what}: no data after {START_TIMEOUT_S:g}s")


def plain_program() -> str:
    """Every probe file, concatenated as they are (the `//@` annotations are plain comments)."""
    return "\n".join(p.read_text() for p in sorted(probe_dir().glob("*.bt")))


class PlainBpftrace:
    label = "bpftrace (plain .bt)"

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="scxtop-bench-")
        program = Path(self._dir.name, "plain.bt")
        program.write_text(plain_program())
        self._out = Path(self._dir.name, "out.txt")
        t0 = time.monotonic()
        with self._out.open("w") as out:
            self.proc = subprocess.Popen(["bpftrace", "-B", "line", str(program)], stdout=out,
                                         stderr=subprocess.PIPE, start_new_session=True)
        self.pid = self.proc.pid
        self.bpftrace_pid: int | None = None
        try:
            first = _wait_for(lambda: "\n@" in self._out.read_text(), "bpftrace", self.proc)
        except ObserverError as err:
            self.stop()
            raise ObserverError(f"{err}: {self.proc.stderr.read().decode().strip()[-300:]}") from None
        self.first_data_s = first - t0

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc.stderr.close()
        self._dir.cleanup()


def _read_text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read(200).strip()
    except OSError as err:
        return f"unreadable: {err.strerror}"


def scxtop_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "scxtop", *args]


class LogRun:
    """`scxtop log --source SOURCE --interval S --csv -`; a thread reads and counts its rows."""

    def __init__(self, source: str = "bpftrace", interval: float = 1.0) -> None:
        self.label = f"scxtop log {source} {interval:g}s"
        self.rows = 0
        self._first = threading.Event()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            scxtop_command("log", "--source", source, "--interval", str(interval), "--csv", "-"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONFAULTHANDLER="1"),  # a stop that hangs is dumped (SIGABRT)
        )
        self.pid = self.proc.pid
        self.bpftrace_pid: int | None = None  # known once data flows; stop() may come before
        self._first_at = 0.0
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._drain = threading.Thread(target=self._read_stderr, daemon=True)  # a full pipe would block it
        self._drain.start()
        try:
            _wait_for(self._first.is_set, self.label, self.proc)
        except ObserverError as err:
            self.stop()
            raise ObserverError(f"{err}: {self._errors()[-300:]}") from None
        self.first_data_s = self._first_at - t0
        bpf = source == "bpftrace"
        self.bpftrace_pid = wait_child(self.pid, "bpftrace", with_arg="json") if bpf else None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for i, _line in enumerate(self.proc.stdout):
            if i == 1:
                self._first_at = time.monotonic()
                self._first.set()
            self.rows = i

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def _errors(self) -> str:
        self._drain.join(timeout=5)
        return "".join(self._stderr).strip()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGINT)
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            wchan = _read_text(f"/proc/{self.pid}/wchan")
            self.proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            # The measurement was taken; the hang is the bench's finding, in its anomalies list
            # with the stacks (not a reason to lose the section's other rounds).
            PROBLEMS.add(f"{self.label}: did not stop on SIGINT within {STOP_TIMEOUT_S:g}s "
                         f"(wchan {wchan}); its stderr:\n{self._errors()[-3000:]}")
            return
        errors = self._errors()
        if status != 0:
            last = errors.splitlines()[-1] if errors else ""
            PROBLEMS.add(f"{self.label}: exit status {status} after SIGINT ({last})")
        if not _gone(self.bpftrace_pid):
            raise ObserverError(f"{self.label}: left bpftrace pid {self.bpftrace_pid} running")


_ON_SCREEN = re.compile(r"\b(bpftrace|procfs) · every ")


class DashboardRun:
    """The dashboard (`scxtop --source SOURCE --interval S`) in a 200x50 tmux pane on our own
    tmux socket, so it never touches anyone else's tmux sessions. The socket lives in a directory
    of our own (TMUX_TMPDIR), under TMPDIR: tmux ignores TMPDIR and made /tmp/tmux-0, which
    outlived every run."""

    socket = f"scxtop-bench-{os.getpid()}"
    _count = 0
    _socket_dir: str | None = None

    def __init__(self, source: str = "bpftrace", interval: float = 1.0) -> None:
        self.label = f"dashboard {source} {interval:g}s"
        DashboardRun._count += 1
        self.session = f"bench{DashboardRun._count}"
        command = " ".join(scxtop_command("--source", source, "--interval", str(interval)))
        t0 = time.monotonic()
        self._tmux("new-session", "-d", "-s", self.session, "-x", "200", "-y", "50", f"exec {command}")
        self.pid = int(self._tmux("display-message", "-p", "-t", self.session, "#{pane_pid}"))
        self.bpftrace_pid: int | None = None
        try:
            self.first_data_s = _wait_for(lambda: bool(_ON_SCREEN.search(self.screen())), self.label) - t0
        except ObserverError as err:
            screen = self.screen().strip().splitlines()
            self.stop()
            raise ObserverError(f"{err}; screen ends: {screen[-3:] if screen else '(empty)'}") from None
        if source == "bpftrace":
            self.bpftrace_pid = wait_child(self.pid, "bpftrace", with_arg="json")

    @classmethod
    def _tmux(cls, *args: str) -> str:
        if cls._socket_dir is None:
            cls._socket_dir = tempfile.mkdtemp(prefix="scxtop-bench-tmux-")
        return subprocess.run(["tmux", "-L", cls.socket, *args], capture_output=True, text=True, check=True,
                              env={**os.environ, "TMUX_TMPDIR": cls._socket_dir}).stdout.strip()

    def screen(self) -> str:
        try:
            return self._tmux("capture-pane", "-p", "-t", self.session)
        except subprocess.CalledProcessError:
            return ""

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._tmux("send-keys", "-t", self.session, "q")
        quit_cleanly = _gone(self.pid)
        with contextlib.suppress(subprocess.CalledProcessError):
            self._tmux("kill-session", "-t", self.session)
        if not quit_cleanly:
            raise ObserverError(f"{self.label}: did not quit on 'q'")
        if not _gone(self.bpftrace_pid):
            raise ObserverError(f"{self.label}: left bpftrace pid {self.bpftrace_pid} running")

    @classmethod
    def shutdown(cls) -> None:
        """Stop our tmux server (only ours: it has its own socket) and remove its directory."""
        if cls._socket_dir is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            cls._tmux("kill-server")
        shutil.rmtree(cls._socket_dir, ignore_errors=True)
        cls._socket_dir = None


@contextlib.contextmanager
def observing(kind: str, source: str = "bpftrace", interval: float = 1.0) -> Iterator[object | None]:
    """`bare` (nothing), `plain`, `log` or `dashboard`, stopped on the way out."""
    if kind == "bare":
        yield None
        return
    observer = {"plain": lambda: PlainBpftrace(), "log": lambda: LogRun(source, interval),
                "dashboard": lambda: DashboardRun(source, interval)}[kind]()
    try:
        yield observer
    finally:
        observer.stop()
