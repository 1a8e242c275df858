"""Real workloads for the live tests and the benchmarks: each is a context manager that starts
processes, yields what a test needs to recognise them (pids), and always kills and reaps them.

Processes, not threads: Python threads share the GIL, so only separate processes really spin on
separate CPUs or contend on a kernel mutex at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

F_SETPIPE_SZ = 1031

SPIN = """
while True:
    pass
"""

FLIP = """
import os, sys, time
cpus = [int(c) for c in sys.argv[1].split(",")]
period = float(sys.argv[2])
i = 0
while True:
    os.sched_setaffinity(0, {cpus[i % len(cpus)]})
    i += 1
    end = time.monotonic() + period
    while time.monotonic() < end:
        pass
"""

PIPE_WRITER = """
import os, sys
fd, size = int(sys.argv[1]), int(sys.argv[2])
os.set_blocking(fd, False)
chunk = b"x" * size
while True:
    try:
        os.write(fd, chunk)
    except BlockingIOError:
        pass
"""

PIPE_READER = """
import os, sys
fd = int(sys.argv[1])
while os.read(fd, 1 << 20):
    pass
"""


def _python(code: str, *args: object, pass_fds: tuple[int, ...] = (),
            preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], pass_fds=pass_fds,
                            preexec_fn=preexec_fn)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            p.kill()
    for p in procs:
        p.wait()


def stop_gently(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it is still there after `grace_s`; reaped either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _running(procs: list[subprocess.Popen]) -> Iterator[list[int]]:
    try:
        yield [p.pid for p in procs]
    finally:
        _stop(procs)


def loops_stand_out(busy_rq: float, others: list[float], loops: int) -> bool:
    """Pinned loops show on their own CPU only: its runqueue is above every other CPU's.

    Beside another CPU-heavy job that holds when the job is small. A job of many tasks (a CI
    run's `perf bench sched messaging`: 40) is moved by the load balancer onto the CPUs without
    the loops, and one of those then holds more than the loops' CPU (10 against 39 in one run).
    Then the loops must still not be smeared over every CPU: no other CPU shows the same mean.
    """
    crowd = busy_rq + sum(others) - loops  # runnable besides the loops, all CPUs together
    if crowd < loops / 2:
        return busy_rq > max(others)
    return all(abs(busy_rq - other) > 1e-6 for other in others)


@contextlib.contextmanager
def pinned_busy_loops(cpu: int, count: int, nice: int = 0) -> Iterator[list[int]]:
    """`count` processes spinning on `cpu`: that CPU's runqueue holds about `count` tasks.

    `nice=19` makes them wait on the runqueue nearly all the time even when other load shares
    the CPU, so tests about "the most delayed tasks" hold on a busy machine too.
    """
    def pinned() -> None:  # from exec on: Python's start-up on another CPU would show there
        os.sched_setaffinity(0, {cpu})
        os.setpriority(os.PRIO_PROCESS, 0, nice)

    with _running([_python(SPIN, preexec_fn=pinned) for _ in range(count)]) as pids:
        yield pids


@contextlib.contextmanager
def flipping_task(cpus: tuple[int, ...] = (0, 1), period_s: float = 0.002) -> Iterator[int]:
    """One process that moves itself between `cpus` every `period_s` (busy in between); yields its pid."""
    with _running([_python(FLIP, ",".join(map(str, cpus)), period_s)]) as pids:
        yield pids[0]


@contextlib.contextmanager
def pipe_writers(writers: int = 4, chunk: int = 1 << 16, pipe_size: int = 1 << 20) -> Iterator[list[int]]:
    """`writers` processes writing `chunk`-byte blocks into one pipe, one process draining it.

    Every write takes the pipe's mutex (pipe->mutex) while it copies. The writers never sleep on
    a full pipe (non-blocking, they retry at once), so they keep contending on that mutex and
    wait for each other: blocked-on edges whose waiter and owner are these processes.
    Yields all pids, the reader's last.

    They are spread over the CPUs, one each in turn: tasks taking turns on one CPU seldom find
    the mutex held (its holder is rarely preempted inside the short copy). Left to the load
    balancer beside `xz -T1 -9`, the five shared one CPU while xz had the other (xz 97% CPU, the
    five 90% together), and writers waited for each other in 1 half-second row of 80 (once in
    none of 109: a failed test); spread, in every row of 60.
    """
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError):  # a big pipe: writers copy (under the mutex) more than they sleep
        fcntl.fcntl(write_fd, F_SETPIPE_SZ, pipe_size)
    cpus = sorted(os.sched_getaffinity(0))

    def on_cpu(i: int) -> Callable[[], None]:
        return lambda: os.sched_setaffinity(0, {cpus[i % len(cpus)]})

    try:
        procs = [_python(PIPE_WRITER, write_fd, chunk, pass_fds=(write_fd,), preexec_fn=on_cpu(i))
                 for i in range(writers)]
        procs.append(_python(PIPE_READER, read_fd, pass_fds=(read_fd,), preexec_fn=on_cpu(writers)))
    finally:
        os.close(read_fd)
        os.close(write_fd)
    with _running(procs) as pids:
        yield pids


@dataclass(frozen=True, slots=True)
class MessagingResult:
    seconds: float


def perf_messaging(loops: int = 100, groups: int = 10, pipes: bool = False,
                   threads: bool = False) -> MessagingResult:
    """`perf bench sched messaging`: many processes passing messages, switch-heavy; its runtime.
    `threads` (-t) with `pipes` (-p): every write contends on a pipe mutex (the mutex probe's worst case)."""
    cmd = ["perf", "bench", "sched", "messaging", "-g", str(groups), "-l", str(loops)]
    if pipes:
        cmd.append("-p")
    if threads:
        cmd.append("-t")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"Total time:\s*([\d.]+)", out)
    if not m:
        raise RuntimeError(f"unexpected perf bench output: {out.strip()[-200:]}")
    return MessagingResult(float(m[1]))


@contextlib.contextmanager
def perf_messaging_running(loops: int = 1000, groups: int = 4) -> Iterator[int]:
    """`perf bench sched messaging` in the background (for load while something else measures)."""
    proc = subprocess.Popen(
        ["perf", "bench", "sched", "messaging", "-g", str(groups), "-l", str(loops)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def marked_env() -> tuple[dict[str, str], str]:
    """An environment whose marker every child (bpftrace too) inherits, to find leftovers."""
    mark = f"scxtop-test-{uuid.uuid4()}"
    return {**os.environ, "SCXTOP_TEST_MARK": mark}, mark


def processes_with(mark: str) -> list[int]:
    """Live processes started with `marked_env()`'s marker (children inherit it)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if f"SCXTOP_TEST_MARK={mark}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def catches(pid: int, sig: signal.Signals) -> bool:
    """True once the process has a handler for `sig` (the SigCgt mask in /proc/PID/status)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pid: int, within_s: float = 20.0) -> bool:
    """Wait (bounded, generously) for `pid` to exit; True once it has."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def bpf_skip_reason() -> str | None:
    """Why live BPF tests cannot run here (printed as the skip reason), None when they can."""
    if os.geteuid() != 0:
        return "live bpftrace tests need root (run them with sudo)"
    if not shutil.which("bpftrace"):
        return "bpftrace is not installed (apt-get install bpftrace)"
    if not os.path.isdir("/sys/kernel/tracing/events"):
        return "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)"
    return None
