"""A real three-task mutex chain on demand: A waits on B, B waits on C, on two pipe mutexes.

- C writes into pipe X from a buffer on a userfaultfd page nobody serves: `pipe_write` takes
  X's mutex, then the copy from user memory faults and C sleeps with the mutex held.
- B calls tee(Y -> X) with data waiting in Y: `pipe_double_lock` takes the lower-addressed
  pipe's mutex first. When that is Y, B holds Y and waits on X (held by C).
- A writes into Y and waits on Y's mutex (held by B).
We cannot see the kernel's pipe addresses, so when B turns out to wait on X without holding Y
(A's write goes through), the roles of the two pipes are swapped and it is tried again.
SIGKILL ends C's fault wait, which releases everything.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

HOLDER = """
import ctypes, mmap, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
c = ctypes
libc.mmap.argtypes = [c.c_void_p, c.c_size_t, c.c_int, c.c_int, c.c_int, c.c_long]
libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
SYS_userfaultfd = {"x86_64": 323, "aarch64": 282}[os.uname().machine]
UFFDIO_API, UFFDIO_REGISTER = 0xC018AA3F, 0xC020AA00
uffd = libc.syscall(SYS_userfaultfd, os.O_CLOEXEC)
if uffd < 0:
    sys.exit(f"userfaultfd: {os.strerror(ctypes.get_errno())}")
api = ctypes.create_string_buffer(struct.pack("QQQ", 0xAA, 0, 0), 24)
if libc.ioctl(uffd, UFFDIO_API, api) != 0:
    sys.exit(f"UFFDIO_API: {os.strerror(ctypes.get_errno())}")
page = mmap.PAGESIZE
addr = libc.mmap(None, page, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
reg = ctypes.create_string_buffer(struct.pack("QQQQ", addr, page, 1, 0), 32)
if libc.ioctl(uffd, UFFDIO_REGISTER, reg) != 0:
    sys.exit(f"UFFDIO_REGISTER: {os.strerror(ctypes.get_errno())}")
print("holding", flush=True)
libc.write(int(sys.argv[1]), addr, page)  # faults inside pipe_write, with the pipe's mutex held
"""

TEE = """
import ctypes, sys
ctypes.CDLL(None).tee(int(sys.argv[1]), int(sys.argv[2]), 4096, 0)
"""

WRITE = """
import os, sys
os.write(int(sys.argv[1]), b"a" * 16)
"""


SUPPORTED = os.uname().machine in ("x86_64", "aarch64")
"""Where we know the userfaultfd syscall number."""


@dataclass(frozen=True)
class MutexChain:
    a: int
    b: int
    c: int
    """Pids: a waits on b, b waits on c."""


def _state(pid: int) -> str:
    """The task's state letter, and where it sleeps: 'S handle_userfault', 'D anon_pipe_write'."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/wchan") as f:
            return f"{state} {f.read()}"
    except OSError:
        return "?"


def _wait_state(proc: subprocess.Popen, state: str, limit_s: float = 60.0) -> bool:
    """True once the process's state starts with `state`; False if it exits first (or takes too
    long: a loaded machine can take seconds to start a Python)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and proc.poll() is None:
        if _state(proc.pid).startswith(state):
            return True
        time.sleep(0.02)
    return False


def _python(code: str, *fds: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, fds)], pass_fds=fds,
                            stdout=subprocess.PIPE, text=True)


def _attempt(x_write: int, y_read: int, y_write: int, procs: list[subprocess.Popen],
             nice: tuple[int, int, int]) -> MutexChain | None:
    c = _python(HOLDER, x_write)
    procs.append(c)
    os.setpriority(os.PRIO_PROCESS, c.pid, nice[2])
    if c.stdout.readline() != "holding\n" or not _wait_state(c, "S handle_userfault"):
        raise RuntimeError("the mutex holder did not start (userfaultfd needs root)")
    os.write(y_write, b"y" * 64)  # tee waits for data first; with some in Y it goes on to lock both
    b = _python(TEE, y_read, x_write)
    procs.append(b)
    os.setpriority(os.PRIO_PROCESS, b.pid, nice[1])
    if not _wait_state(b, "D"):
        return None
    a = _python(WRITE, y_write)
    procs.append(a)
    os.setpriority(os.PRIO_PROCESS, a.pid, nice[0])
    if not _wait_state(a, "D"):
        return None  # A's write went through: B did not hold Y, it took X first
    return MutexChain(a=a.pid, b=b.pid, c=c.pid)


@contextlib.contextmanager
def mutex_chain(nice: tuple[int, int, int] = (0, 0, 0)) -> Iterator[MutexChain]:
    """Set up A -> B -> C (with these nice values) and keep it until the block ends; always released.

    The nice values are set right after each task starts, before the next one waits on it (a
    waiter reads its owner's priority when it starts to wait).
    """
    procs: list[subprocess.Popen] = []
    pipes = [os.pipe(), os.pipe()]
    try:
        for x, y in ((0, 1), (1, 0)):
            chain = _attempt(pipes[x][1], pipes[y][0], pipes[y][1], procs, nice)
            if chain is not None:
                break
            _release(procs)
        else:
            raise RuntimeError("could not form the chain with either pipe order")
        yield chain
    finally:
        _release(procs)
        for r, w in pipes:
            os.close(r)
            os.close(w)


def _release(procs: list[subprocess.Popen]) -> None:
    # The holder first: killing it ends its fault, which frees the mutexes the others wait on.
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()
        if p.stdout:
            p.stdout.close()
    procs.clear()
