"""What every guest script (guest.py, guest_compare.py, guest_userland.py) does the same way:
set the guest up, run `scxtop`, wait, run its cases into one JSON file, list leftovers.

Guest scripts assert nothing: they record, and the host's tests judge. Importable with the
guest's own Python (the host's venv, or the sid chroot's): standard library and scxtop only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARE_NOT_WRITABLE = 75
"""Exit status when the results share did not mount (harness.boot_failed boots again)."""

sys.path.insert(0, str(REPO))
from scxtop.kernel.scx_state import read_state  # noqa: E402
from scxtop.kernel.scx_tracker import KernelLog, parse_disable  # noqa: E402


def sysfs() -> dict:
    s = read_state()
    return {"state": s.state, "ops": s.ops, "enable_seq": s.enable_seq}


def ejected_ops(kmsg: KernelLog) -> list[str]:
    """The schedulers the kernel ejected (watchdog, error) since `kmsg` was opened; closes it."""
    ops = [d.ops for d in map(parse_disable, kmsg.new_lines()) if d and d.ejected]
    kmsg.close()
    return ops


def wait_for(predicate: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """True as soon as `predicate()` holds; its last answer after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def scxtop(*args: str, timeout: float, env: dict | None = None, stderr_tail: int = 6000) -> dict:
    """Run the real CLI; a timeout is recorded (rc None, with what still runs), never raised, so
    that the next steps still run."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "scxtop", *args], capture_output=True, text=True, timeout=timeout,
            env={**os.environ, **(env or {})}, cwd=REPO,
        )  # fmt: skip
        rc, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        rc, stdout, stderr = None, _text(err.stdout), _text(err.stderr)
        stderr += f"\n[guest: timed out after {timeout}s; ps: {leftovers(('scx_', 'bpftrace'))}]"
    return {
        "args": list(args), "rc": rc, "stdout": stdout, "stderr": stderr[-stderr_tail:],
        "wall_s": time.monotonic() - started, "after": sysfs(),
    }  # fmt: skip


def set_up(out: Path) -> bool:
    """Check the results share is writable (False: say so and exit SHARE_NOT_WRITABLE), and mount
    what scxtop reads: bpffs and tracefs."""
    try:
        (out / ".writable").write_text("ok")
    except OSError as err:  # vng fell back from virtiofs and the share did not mount
        print(f"guest: share not writable: {err}", flush=True)
        return False
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], capture_output=True)
    if not Path("/sys/kernel/tracing/events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], capture_output=True)
    return True


def leftovers(patterns: tuple[str, ...]) -> list[str]:
    """Processes whose command line holds one of `patterns`, but this one, `ps` itself and kernel
    threads (ps shows them as [name]: sched_ext's own, e.g. [scx_enable_helper] on 7.3)."""
    procs = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    mine = str(os.getpid())
    found = []
    for line in procs.splitlines()[1:]:
        pid, _, command = line.strip().partition(" ")
        command = command.strip()
        if pid == mine or command.startswith(("ps -eo", "[")):
            continue
        if any(p in command for p in patterns):
            found.append(line)
    return found


def run_cases(cases: dict[str, Callable[[], dict]], results: dict, path: Path,
              after_each: Callable[[], None] | None = None,
              on_start: Callable[[str], None] | None = None) -> None:
    """Each case in turn; its result (or its traceback) and its duration go into `results`,
    written to `path` after every case, so a guest that dies later still reports."""
    for name, run in cases.items():
        if on_start is not None:
            on_start(name)
        started = time.monotonic()
        try:
            results[name] = run()
        except Exception:
            results[name] = {"error": traceback.format_exc()}
        results[name]["case_s"] = time.monotonic() - started
        if after_each is not None:
            after_each()
        write(results, path)


def write(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=1, default=str))


def finish(results: dict, path: Path, patterns: tuple[str, ...]) -> int:
    """Record what was left running, and say the guest got to the end."""
    time.sleep(0.5)
    results["leftovers"] = leftovers(patterns)
    write(results, path)
    print("guest: done", flush=True)
    return 0
