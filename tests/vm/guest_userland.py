"""Runs inside the sched_ext guest booted with the sid chroot as its root (bpftrace 0.27, Python 3.14,
libbpf 1.7): bpftrace reads rq->scx.nr_running while a test scheduler is attached, and
task_struct->blocked_on while a real three-task mutex chain is held.

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
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
STATE = Path("/sys/kernel/sched_ext/state")
LIBBPF = "/usr/lib/x86_64-linux-gnu/libbpf.so.1"  # sid's own (>= 1.2 is needed for struct_ops links)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


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
    from scxtop.bpftrace import find_bpftrace

    bt = subprocess.run([find_bpftrace(), "--version"], capture_output=True, text=True).stdout.strip()
    return {"kernel": os.uname().release, "bpftrace": bt, "python": sys.version.split()[0],
            "libbpf": os.path.realpath(LIBBPF)}


def features() -> dict:
    from scxtop.bpftrace.btf import kernel_types

    types = kernel_types()
    return {name: bool(types and types.has(name)) for name in ("task_struct.blocked_on", "struct scx_rq")}


def case_nr_running(obj_dir: Path) -> dict:
    """Attach the tfifo test scheduler with sid's libbpf, then read four samples from the live
    bpftrace source while a busy loop runs: rq and rq->scx.nr_running per CPU."""
    code = (f"import sys; sys.path.insert(0, {str(REPO / 'tests/vm/schedulers')!r}); import scxload; "
            f"sys.exit(scxload.main({str(obj_dir / 'tfifo.bpf.o')!r}, {LIBBPF!r}, []))")
    sched = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    result: dict = {"attached": wait_for(lambda: scx_state() == "enabled" and scx_ops() == "tfifo", 60)}
    result["ops"] = scx_ops()
    busy = None
    try:
        if result["attached"]:
            from scxtop.sources.bpftrace import BpftraceSource

            src = BpftraceSource(interval_s=1.0)
            rows = []
            try:
                for sample in src.samples():
                    rows.append({"cpus": [[c.cpu, c.rq, c.rq_scx] for c in sample.cpus],
                                 "scx": [str(sample.scx.state), sample.scx.ops]})
                    if busy is None:  # after bpftrace's slow start, so that it is not slower still
                        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    if len(rows) >= 4:
                        break
            finally:
                src.close()
            result["rows"] = rows
            result["ops_during"] = scx_ops()
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        sched.send_signal(signal.SIGTERM)
        try:
            out, _ = sched.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            sched.kill()
            out, _ = sched.communicate()
        result.update(scheduler_rc=sched.returncode, scheduler_output=out[-4000:])
        result["detached"] = wait_for(lambda: scx_state() == "disabled", 30)
    return result


def case_blocked_on(out: Path) -> dict:
    """`scxtop log --source bpftrace` while tests/mutex_chain.py holds A -> B -> C: the chains it
    logged, and the mutex_waits program as rendered for this kernel."""
    from mutex_chain import mutex_chain

    from scxtop.bpftrace.btf import kernel_types
    from scxtop.bpftrace.programs import probe_path, render
    from scxtop.recording import read_jsonl

    types = kernel_types()
    program = render(probe_path("mutex_waits").read_text(), lambda f: bool(types and types.has(f)))
    csv_out, jsonl_out = out / "chain.csv", out / "chain.jsonl"
    log = subprocess.Popen([sys.executable, "-m", "scxtop", "log", "--source", "bpftrace",
                            "--interval", "0.5", "--csv", str(csv_out), "--jsonl", str(jsonl_out)],
                           stderr=subprocess.PIPE, text=True, cwd=REPO)
    ended = lambda: log.poll() is not None  # noqa: E731

    def rows() -> int:
        return len(csv_out.read_text().splitlines()) - 1 if csv_out.exists() else 0

    result: dict = {"program_reads_blocked_on": "$o->blocked_on" in program}
    try:
        result["started"] = wait_for(lambda: rows() >= 1 or ended(), 180) and not ended()
        if result["started"]:
            with mutex_chain((0, 0, 0)) as members:
                result["members"] = [members.a, members.b, members.c]
                start = rows()
                result["rows_while_held"] = wait_for(lambda: rows() >= start + 3 or ended(), 120)
                result["raw"] = raw_edges(program, out / "mutex_waits.bt")
        log.send_signal(signal.SIGTERM)
        result["log_rc"] = log.wait(timeout=60)
    finally:
        if log.poll() is None:
            log.kill()
            log.wait()
        result["log_stderr"] = log.stderr.read()[-4000:]
    samples = read_jsonl(jsonl_out) if jsonl_out.exists() else []
    result["chains"] = [[{"tids": [t.tid for t in c.tasks], "depth": c.depth} for c in s.chains]
                        for s in samples if s.chains]
    return result


def raw_edges(program: str, path: Path) -> dict:
    """The rendered mutex_waits program run by bpftrace itself until a report shows two live edges:
    its @mutex_edge lines (the last tuple field is the owner's task_struct->blocked_on)."""
    from scxtop.bpftrace import find_bpftrace

    path.write_text(program)
    proc = subprocess.Popen([find_bpftrace(), "-f", "json", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
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


def leftovers() -> list[str]:
    procs = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    mine = str(os.getpid())
    return [line for line in procs.splitlines()[1:]
            if line.split()[0] != mine and "ps -eo" not in line and ("scxload" in line or "bpftrace" in line)]


def main() -> int:
    out, obj_dir = Path(sys.argv[1]), Path(sys.argv[2])
    try:
        (out / ".writable").write_text("ok")
    except OSError as err:  # vng fell back from virtiofs and the share did not mount
        print(f"guest: share not writable: {err}", flush=True)
        return 75
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], capture_output=True)
    if not Path("/sys/kernel/tracing/events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], capture_output=True)
    results: dict = {}
    cases = {"versions": versions, "features": features,
             "nr_running": lambda: case_nr_running(obj_dir), "blocked_on": lambda: case_blocked_on(out)}
    for name, case in cases.items():
        started = time.monotonic()
        try:
            results[name] = case()
        except Exception:
            results[name] = {"error": traceback.format_exc()}
        if isinstance(results[name], dict):
            results[name]["case_s"] = time.monotonic() - started
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    results["leftovers"] = leftovers()
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print("guest: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
