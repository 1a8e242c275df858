"""What scxtop's probes cost a context-switch-heavy load: `perf bench sched messaging`, run bare
and with probes attached, in interleaved rounds (this machine is noisy), medians and ratios.

    sudo .venv/bin/python bench/probe_overhead.py [--rounds 7] [--loops 300] [--variants ...]

Variants: bare; scxtop (the combined program scxtop runs, records read and parsed as the
source does); one variant per probe file (to see where the cost is); naive (the first program
written for this machine: BTF runqueue read and map writes at every switch); and `log`
(`scxtop log --source bpftrace` end to end, if the CLI has it). The table gives each variant's
median runtime, its ratio to the bare median, and the CPU seconds per wall second used by
bpftrace and by the Python reader.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time
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


def messaging(loops: int) -> float:
    out = subprocess.run(
        ["perf", "bench", "sched", "messaging", "-l", str(loops)], capture_output=True, text=True, check=True
    ).stdout
    return float(re.search(r"Total time:\s*([\d.]+)", out)[1])


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
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", "--interval", "1",
             "--csv", "/dev/null"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        time.sleep(3.0)
        if self.proc.poll() is not None:
            raise RuntimeError(self.proc.stderr.read().decode().strip())
        self.reader_cpu = 0.0

    def close(self) -> None:
        self.reader_cpu = cpu_seconds(self.proc.pid)
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
        elif v == "naive":
            out[v] = NAIVE
        elif v == "log":
            out[v] = "log"
        else:
            out[v] = build([v], 1.0, has)
    return out


def run_variant(program: str | None, loops: int) -> tuple[float, float, float]:
    """(runtime s, bpftrace CPU s per wall s, reader CPU s per wall s)."""
    if program is None:
        return messaging(loops), 0.0, 0.0
    probed = LogCommand() if program == "log" else Probed(program)
    child = probed.proc.pid if program != "log" else None
    start_cpu = cpu_seconds(child) if child else 0.0
    wall = time.monotonic()
    runtime = messaging(loops)
    wall = time.monotonic() - wall
    bpf_cpu = (cpu_seconds(child) - start_cpu) / wall if child else 0.0
    probed.close()
    return runtime, bpf_cpu, probed.reader_cpu / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loops", type=int, default=300)
    parser.add_argument("--variants", nargs="+", default=["bare", "scxtop", "naive"])
    args = parser.parse_args()
    progs = programs(args.variants)
    results: dict[str, list[tuple[float, float, float]]] = {v: [] for v in progs}
    messaging(args.loops // 4)  # warm caches
    for r in range(args.rounds):
        order = list(progs)
        order = order[r % len(order):] + order[: r % len(order)]
        for v in order:
            results[v].append(run_variant(progs[v], args.loops))
        print(f"round {r + 1}: " + "  ".join(f"{v}={results[v][-1][0]:.3f}" for v in progs), file=sys.stderr)
    bare = statistics.median(x[0] for x in results["bare"]) if "bare" in results else None
    print(f"perf bench sched messaging -l {args.loops}, {args.rounds} interleaved rounds, medians")
    print(f"{'variant':<18}{'runtime s':>10}{'ratio':>8}{'bpftrace cpu/s':>16}{'reader cpu/s':>14}")
    for v, xs in results.items():
        med = statistics.median(x[0] for x in xs)
        ratio = f"{med / bare:.3f}" if bare else "-"
        bpf = statistics.median(x[1] for x in xs)
        reader = statistics.median(x[2] for x in xs)
        print(f"{v:<18}{med:>10.3f}{ratio:>8}{bpf:>16.3f}{reader:>14.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
