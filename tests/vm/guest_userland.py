"""Runs inside the sched_ext guest booted with the sid chroot as its root (bpftrace 0.27, Python 3.14,
libbpf 1.7): bpftrace reads rq->scx.nr_running while a test scheduler is attached and
task_struct->blocked_on while a real three-task mutex chain is held (both in one bpftrace run).

Like guest.py it asserts nothing: it writes what it saw to OUT/results.json and
tests/vm/test_vm_userland.py judges it on the host. Usage: guest_userland.py OUT_DIR OBJ_DIR
(OBJ_DIR holds the test schedulers' BPF objects that harness.build_schedulers compiled).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from guest_common import REPO, SHARE_NOT_WRITABLE, finish, run_cases, set_up, wait_for

sys.path.insert(0, str(REPO / "tests"))
STATE = Path("/sys/kernel/sched_ext/state")
LIBBPF = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"  # sid's own (>= 1.2 is needed for struct_ops links)


PROGRESS: Path | None = None
STARTED = time.monotonic()


def step(what: str) -> None:
    """A line in OUT/progress.txt: where a slow or stuck guest run got to."""
    if PROGRESS is not None:
        with PROGRESS.open("a") as f:
            f.write(f"{time.monotonic() - STARTED:7.1f}s {what}\n")


def scx_state() -> str:
    try:
        return STATE.read_text().strip()
    except OSError:
        return "unsupported"


def scx_ops() -> str | None:
    try:
        return Path("/sys/kernel/sched_ext/root/ops").read_text().strip()
    except OSError:
        return None


def versions() -> dict:
    bt = subprocess.run(["bpftrace", "--version"], capture_output=True, text=True).stdout.strip()
    return {"kernel": os.uname().release, "bpftrace": bt, "python": sys.version.split()[0],
            "libbpf": os.path.realpath(LIBBPF)}


def case_live(obj_dir: Path, out: Path) -> dict:
    """One bpftrace start for everything (it is slow under emulation): attach the tfifo test
    scheduler with sid's libbpf, start the live bpftrace source, then a busy loop and a real
    three-task mutex chain; take samples until one holds the chain (at most 8), and while the chain
    is still held run the rendered mutex_waits program alone to see task_struct->blocked_on raw."""
    from mutex_chain import mutex_chain

    from scxtop.bpftrace.btf import kernel_types
    from scxtop.bpftrace.programs import probe_path, render
    from scxtop.sources.bpftrace import BpftraceSource

    code = (f"import sys; sys.path.insert(0, {str(REPO / 'tests/vm/schedulers')!r}); import scxload; "
            f"sys.exit(scxload.main({str(obj_dir / 'tfifo.bpf.o')!r}, {LIBBPF!r}, []))")
    sched = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    step("scheduler started")
    result: dict = {"attached": wait_for(lambda: scx_state() == "enabled" and scx_ops() == "tfifo", 120)}
    step(f"attached: {result['attached']}")
    types = kernel_types()
    step("BTF read")
    result["features"] = {name: bool(types and types.has(name))
                          for name in ("task_struct.blocked_on", "struct scx_rq")}
    program = render(probe_path("mutex_waits").read_text(), lambda f: bool(types and types.has(f)))
    result["program_reads_blocked_on"] = "$o->blocked_on" in program
    busy = None
    try:
        if result["attached"]:
            src = BpftraceSource(interval_s=1.0)
            rows: list = []
            try:
                stream = src.samples()
                first = next(stream)  # probes attached and reporting
                rows.append(row(first))
                step("first sample")
                busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                raw = start_raw(program, out / "mutex_waits.bt")  # attached before the chain forms
                step("raw mutex_waits attached")
                with mutex_chain((0, 0, 0)) as members:
                    result["members"] = [members.a, members.b, members.c]
                    step("chain held")
                    # bpftrace's reports queue up while the guest is busy forming the chain:
                    # read through that backlog (bounded) until a report holds the chain.
                    deadline = time.monotonic() + 180
                    for sample in stream:
                        rows.append(row(sample))
                        step(f"sample {len(rows)}")
                        chained = any(c["depth"] == 3 for c in rows[-1]["chains"])
                        if (len(rows) >= 4 and chained) or len(rows) >= 400 or time.monotonic() > deadline:
                            break
                    result["ops_during"] = scx_ops()
                    result["raw"] = raw_edges(raw)
                    step("raw mutex_waits done")
            finally:
                src.close()
            result["rows"] = rows
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        sched.send_signal(signal.SIGTERM)
        try:
            text, _ = sched.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            sched.kill()
            text, _ = sched.communicate()
        result.update(scheduler_rc=sched.returncode, scheduler_output=text[-4000:])
        result["detached"] = wait_for(lambda: scx_state() == "disabled", 30)
    return result


def row(sample) -> dict:
    return {"cpus": [[c.cpu, c.rq, c.rq_scx] for c in sample.cpus], "gap": sample.gap,
            "scx": [str(sample.scx.state), sample.scx.ops],
            "chains": [{"tids": [t.tid for t in c.tasks], "depth": c.depth} for c in sample.chains or ()]}


def start_raw(program: str, path: Path) -> subprocess.Popen:
    """The rendered mutex_waits program run by bpftrace itself; returns once its probes attached."""
    from scxtop.bpftrace import find_bpftrace

    path.write_text(program)
    proc = subprocess.Popen([find_bpftrace(), "-f", "json", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "attached_probes" in line:
            break
    return proc


def raw_edges(proc: subprocess.Popen) -> dict:
    """Its reports until one shows two live edges (bounded): the @mutex_edge lines, whose last
    tuple field is the owner's task_struct->blocked_on."""
    lines: list[str] = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            if "@mutex_edge" in line:
                lines.append(line.strip())
                with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
                    if len(json.loads(line)["data"]["@mutex_edge"]) >= 2:
                        break
            if time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    return {"edges": lines[-3:], "rc": proc.returncode, "stderr": err[-4000:]}


def main() -> int:
    global PROGRESS
    out, obj_dir = Path(sys.argv[1]), Path(sys.argv[2])
    PROGRESS = out / "progress.txt"
    if not set_up(out):
        return SHARE_NOT_WRITABLE
    results: dict = {}
    cases = {"versions": versions, "live": lambda: case_live(obj_dir, out)}
    run_cases(cases, results, out / "results.json", on_start=lambda name: step(f"case {name}"))
    return finish(results, out / "results.json", ("scxload", "bpftrace"))


if __name__ == "__main__":
    sys.exit(main())
