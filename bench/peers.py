"""What a user would run instead of scxtop, on the same load, in the same interleaved rounds:

- `runqlen.bt` and `runqlat.bt` together (bpftrace's tools; bookworm's copies no longer load on
  this kernel, `cfs_rq` has no `nr_running`, so both run from the sid chroot at
  /var/cache/scxtop-chroots/sid with its bpftrace, /proc, /sys, tracefs, BTF and /dev bound in a
  private mount namespace that vanishes with them);
- `perf sched record -a` (to a temporary file);
- `scxtop log --interval 1` (this checkout);
- nothing, twice (the A/A control: the noise floor every ratio is read against).

    sudo .venv/bin/python bench/peers.py [--rounds 5] [--groups 4] [--loops 500]

The load is `perf bench sched messaging`; printed: median runtime and the load's own CPU time per
observer, both as ratios to the first bare run. Observers rotate their order every round.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import observers
from loads import messaging
from observers import LogRun
from table import median

SID = Path("/var/cache/scxtop-chroots/sid")
BINDS = ("/proc", "/sys", "/sys/kernel/tracing", "/sys/kernel/btf", "/dev")
ATTACH_WAIT_S = 60.0


def sid_reason() -> str | None:
    """Why the sid tools cannot run here, or None."""
    if not (SID / ".ready").exists():
        return f"no usable sid chroot ({SID}/.ready missing): build it with tests/chroots"
    for tool in ("runqlen.bt", "runqlat.bt"):
        if not (SID / "usr/sbin" / tool).exists():
            return f"{tool} missing in the sid chroot"
    return None


def _in_sid(command: str) -> list[str]:
    binds = " && ".join(f"mount --rbind {b} {SID}{b}" for b in BINDS)
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            f"{binds} && exec chroot {SID} {command}"]


class Started:
    """Processes started in their own sessions, stopped with SIGINT (bpftrace and perf print and exit)."""

    def __init__(self, commands: list[list[str]], ready_marker: str | None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="scxtop-peers-")
        self.procs: list[subprocess.Popen] = []
        self.outs: list[Path] = []
        for i, command in enumerate(commands):
            out = Path(self._dir.name, f"{i}.out")
            self.outs.append(out)
            with out.open("w") as f:
                self.procs.append(subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT,
                                                   start_new_session=True, cwd=self._dir.name))
        if ready_marker:
            deadline = time.monotonic() + ATTACH_WAIT_S
            while not all(ready_marker in o.read_text() for o in self.outs):
                if any(p.poll() is not None for p in self.procs) or time.monotonic() > deadline:
                    text = " | ".join(o.read_text().strip()[-200:] for o in self.outs)
                    self.stop()
                    raise RuntimeError(f"peer failed to start: {text}")
                time.sleep(0.05)
        else:
            time.sleep(1.0)

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._dir.cleanup()


@contextlib.contextmanager
def observer(name: str) -> Iterator[None]:
    if name.startswith("bare"):
        yield
        return
    if name == "scxtop log 1s":
        run = LogRun("bpftrace", 1.0)
        try:
            yield
        finally:
            run.stop()
        return
    if name == "runqlen.bt + runqlat.bt (sid)":
        tools = [_in_sid(f"bpftrace /usr/sbin/{tool}") for tool in ("runqlen.bt", "runqlat.bt")]
        started = Started(tools, "Hit Ctrl-C")
    elif name == "perf sched record -a":
        started = Started([["perf", "sched", "record", "-a", "-o", "perf.data", "--", "sleep", "3600"]], None)
    else:
        raise ValueError(name)
    try:
        yield
    finally:
        started.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--loops", type=int, default=500)
    args = parser.parse_args()
    observers.START_TIMEOUT_S = ATTACH_WAIT_S * 2  # a loaded machine compiles bpftrace slowly
    names = ["bare", "bare again", "scxtop log 1s", "perf sched record -a"]
    reason = sid_reason()
    if reason is None:
        names.append("runqlen.bt + runqlat.bt (sid)")
    else:
        print(f"skipping the bpftrace tools: {reason}", file=sys.stderr)
    load = messaging(args.groups, args.loops)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            with observer(name):
                run = load.run()
            seconds[name].append(run.seconds)
            cpu[name].append(run.cpu_s)
            print(f"  round {r + 1} {name}: {run.seconds:.3f}s cpu {run.cpu_s:.3f}s", file=sys.stderr,
                  flush=True)
    base_s, base_cpu = median(seconds["bare"]), median(cpu["bare"])
    print(f"{load.command}, {args.rounds} interleaved rounds, medians; ratios to bare")
    print(f"{'observer':<32} {'runtime s':>10} {'ratio':>7} {'load cpu s':>11} {'ratio':>7}")
    for name in names:
        s, c = median(seconds[name]), median(cpu[name])
        print(f"{name:<32} {s:>10.3f} {s / base_s:>6.3f}x {c:>11.3f} {c / base_cpu:>6.3f}x")


if __name__ == "__main__":
    main()
