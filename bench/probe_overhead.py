"""What scxtop's probes cost a context-switch-heavy load: `perf bench sched messaging`, run bare
and with probes attached, in interleaved rounds (this machine is noisy), medians and ratios.

    sudo .venv/bin/python bench/probe_overhead.py [--rounds 7] [--loops 300] [--variants ...]

Variants: bare; scxtop (the combined program scxtop runs, records read and parsed as the
source does); unmerged (the same files concatenated: one BPF program per file and tracepoint);
one variant per probe file (to see where the cost is); naive (the first program written for
this machine: BTF runqueue read and map writes at every switch); and `log` (`scxtop log
--source bpftrace` end to end, if the CLI has it). The table gives each variant's median
runtime and CPU time with their ratios to bare, the probes' own kernel time (with
--bpf-stats), and the CPU seconds per wall second used by bpftrace and by the Python reader.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from scxtop.bpftrace import BpftraceProcess, build, kernel_types, ticks
from scxtop.sources.bpftrace import PROBES

NAIVE = r"""
tracepoint:sched:sched_switch {
  @rq[cpu] = curtask->se.cfs_rq->rq->nr_running;
  @rq_sum[cpu] = sum(curtask->se.cfs_rq->rq->nr_running);
  @csw[cpu] = count();
  if (@qt[args->next_pid]) {
    @lat = hist((nsecs - @qt[args->next_pid]) / 1000); delete(@qt[args->next_pid]);
  }
}
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qt[args->pid] = nsecs; }
tracepoint:sched:sched_migrate_task {
  @mig[args->orig_cpu, args->dest_cpu] = count(); @mt[args->pid, str(args->comm)] = count();
}
tracepoint:lock:contention_begin { @lk[tid] = args->lock_addr; @lt[tid] = nsecs; }
tracepoint:lock:contention_end { delete(@lk[tid]); delete(@lt[tid]); }
interval:s:1 {
  print(@csw); print(@mig); print(@mt); print(@lat); clear(@csw); clear(@mig); clear(@mt); clear(@lat);
}
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


MESSAGING_FLAGS: list[str] = []
"""Extra `perf bench sched messaging` flags (--pipe-threads: `-p -t`, the pipe-mutex-heavy load)."""


def messaging(loops: int) -> tuple[float, float]:
    """(runtime reported by perf, user+system CPU seconds of perf and its workers)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["perf", "bench", "sched", "messaging", *MESSAGING_FLAGS, "-l", str(loops)],
        capture_output=True, text=True, check=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(re.search(r"Total time:\s*([\d.]+)", out)[1]), cpu


def bpf_prog_stats(pid: int) -> tuple[int, int]:
    """(runs, ns) summed over the BPF programs `pid` holds; needs kernel.bpf_stats_enabled=1."""
    runs = ns = 0
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = fdinfo.read_text()
        except OSError:
            continue
        if "prog_tag" in text:
            fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
            runs += int(fields.get("run_cnt", 0))
            ns += int(fields.get("run_time_ns", 0))
    return runs, ns


@contextlib.contextmanager
def bpf_stats(enabled: bool):
    """Turn on the kernel's per-program run-time accounting for the run (it costs ~20 ns per run)."""
    knob = Path("/proc/sys/kernel/bpf_stats_enabled")
    old = knob.read_text().strip()
    if not enabled:
        yield
        return
    # A SIGTERM must not leave the (system-wide) knob on: turn it into an exception.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    knob.write_text("1")
    try:
        yield
    finally:
        knob.write_text(old)
        signal.signal(signal.SIGTERM, previous)


class Probed:
    """bpftrace running `program`, its output read and grouped into ticks by a thread, as the source does."""

    def __init__(self, program: str):
        self.proc = BpftraceProcess(program)
        self.proc.wait_attached()
        self.reader_cpu = 0.0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(1.0)

    def _read(self) -> None:
        start = time.thread_time()
        for _ in ticks(self.proc.records()):
            self.reader_cpu = time.thread_time() - start

    def close(self) -> None:
        self.proc.stop()
        self.thread.join(timeout=5)


class LogCommand:
    """`scxtop log` as a user runs it; its CPU and its bpftrace child's are measured over the run."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", "--interval", "1",
             "--csv", "/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(3.0)
        if self.proc.poll() is not None:
            raise RuntimeError(self.proc.stderr.read().decode().strip())
        self.start_cpu = cpu_seconds(self.proc.pid)
        self.reader_cpu = 0.0

    def bpftrace_pid(self) -> int | None:
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                if Path(f"/proc/{pid}/comm").read_text().strip() == "bpftrace":
                    return int(pid)
        return None

    def close(self) -> None:
        self.reader_cpu = cpu_seconds(self.proc.pid) - self.start_cpu
        self.proc.send_signal(2)
        self.proc.wait(timeout=10)


def programs(variants: list[str]) -> dict[str, str | None]:
    has = kernel_types().has
    out: dict[str, str | None] = {}
    for v in variants:
        if v == "bare":
            out[v] = None
        elif v == "scxtop":
            out[v] = build(PROBES, 1.0, has)
        elif v == "unmerged":
            out[v] = build(PROBES, 1.0, has, merged=False)
        elif v == "naive":
            out[v] = NAIVE
        elif v == "log":
            out[v] = "log"
        elif v.endswith(".bt"):
            out[v] = Path(v).read_text()
        else:
            out[v] = build([v], 1.0, has)
    return out


@dataclass
class Run:
    runtime: float
    cpu: float
    bpftrace_cpu: float = 0.0
    """bpftrace's own CPU seconds per wall second."""
    reader_cpu: float = 0.0
    """The Python reader's (or `scxtop log`'s) CPU seconds per wall second."""
    bpf_runs: int = 0
    bpf_ns: int = 0
    """Probe executions and the kernel time they took during the run (with --bpf-stats)."""


def run_variant(program: str | None, loops: int) -> Run:
    if program is None:
        return Run(*messaging(loops))
    probed = LogCommand() if program == "log" else Probed(program)
    child = probed.bpftrace_pid() if isinstance(probed, LogCommand) else probed.proc.pid
    start_cpu = cpu_seconds(child) if child else 0.0
    runs0, ns0 = bpf_prog_stats(child) if child else (0, 0)
    wall = time.monotonic()
    runtime, cpu = messaging(loops)
    wall = time.monotonic() - wall
    runs1, ns1 = bpf_prog_stats(child) if child else (0, 0)
    bpf_cpu = (cpu_seconds(child) - start_cpu) / wall if child else 0.0
    probed.close()
    return Run(runtime, cpu, bpf_cpu, probed.reader_cpu / wall, runs1 - runs0, ns1 - ns0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loops", type=int, default=300)
    parser.add_argument("--variants", nargs="+", default=["bare", "scxtop", "naive"])
    parser.add_argument("--bpf-stats", action="store_true",
                        help="set kernel.bpf_stats_enabled during the run to report probe ns per event")
    parser.add_argument("--pipe-threads", action="store_true",
                        help="messaging -p -t: pipes and threads (every write contends on a pipe mutex)")
    args = parser.parse_args()
    if args.pipe_threads:
        MESSAGING_FLAGS[:] = ["-p", "-t"]
    progs = programs(args.variants)
    results: dict[str, list[Run]] = {v: [] for v in progs}
    with bpf_stats(args.bpf_stats):
        messaging(max(1, args.loops // 4))  # warm caches
        for r in range(args.rounds):
            order = list(progs)
            order = order[r % len(order):] + order[: r % len(order)]
            for v in order:
                results[v].append(run_variant(progs[v], args.loops))
            print(f"round {r + 1}: " + "  ".join(f"{v}={results[v][-1].runtime:.3f}" for v in progs),
                  file=sys.stderr)
    print(table(results, args))
    return 0


def table(results: dict[str, list[Run]], args: argparse.Namespace) -> str:
    def med(v: str, attr: str) -> float:
        return statistics.median(getattr(x, attr) for x in results[v])

    bare_rt = med("bare", "runtime") if "bare" in results else None
    bare_cpu = med("bare", "cpu") if "bare" in results else None
    lines = [
        f"perf bench sched messaging {' '.join(MESSAGING_FLAGS)} -l {args.loops}; "
        f"{args.rounds} interleaved rounds; medians; "
        f"{os.cpu_count()} CPUs, kernel {os.uname().release}",
        f"{'variant':<18}{'runtime s':>10}{'ratio':>7}{'cpu s':>8}{'ratio':>7}"
        f"{'probe ns/ev':>12}{'probe ms':>9}{'bpftrace cpu/s':>15}{'reader cpu/s':>13}",
    ]
    for v in results:
        rt, cpu = med(v, "runtime"), med(v, "cpu")
        runs, ns = med(v, "bpf_runs"), med(v, "bpf_ns")
        per_event = f"{ns / runs:.0f}" if runs else "-"
        lines.append(
            f"{v:<18}{rt:>10.3f}{rt / bare_rt if bare_rt else 0:>7.3f}{cpu:>8.2f}"
            f"{cpu / bare_cpu if bare_cpu else 0:>7.3f}{per_event:>12}{ns / 1e6 if runs else 0:>9.1f}"
            f"{med(v, 'bpftrace_cpu'):>15.4f}{med(v, 'reader_cpu'):>13.4f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
