"""Runs inside the sched_ext guest: `scxtop compare` and the before/after switch report, through
the real CLI. Like guest.py it asserts nothing: it records exit codes, output and sysfs in
OUT/compare.json, and tests/vm/test_vm_compare.py judges them on the host.
Usage: guest_compare.py OUT_DIR [CASE...]
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

from guest_common import REPO, SHARE_NOT_WRITABLE, ejected_ops, finish, run_cases, set_up, sysfs, wait_for
from guest_common import scxtop as run_scxtop
from harness import BIN, UPSTREAM_BIN

from scxtop.kernel.scx_tracker import KernelLog

PYTHON = sys.executable
CMD_TIMEOUT = 900
WORKLOAD = ["perf", "bench", "sched", "messaging", "-g", "1", "-l", "5"]
"""perf's scheduler benchmark (host's linux-perf, shared with the guest): 40 processes passing
messages over sockets; seconds per run under software emulation (0.1 s on the host)."""
SOURCE = ("--source", "procfs")
"""bpftrace gave no sample within 5 minutes in a guest on a host loaded by other test runs
(its LLVM compile is slow under emulation): the guest measures with procfs (runqueues, context
switches, task delay). The host tests cover the bpftrace source."""

SWITCH_TIMEOUT = "120"
"""On a host loaded by other test runs, our Python-loaded test schedulers have taken over 30 s
to attach in the guest."""


def pair() -> tuple[str, str]:
    """Two schedulers to compare: the kernel's own examples when they are there (static C
    programs, quick to start), else our test schedulers. Not scx_flatcg: in this emulated guest
    it has starved rcu_preempt or a Python process for 30 s, and the watchdog ejected it, in
    three of five recent runs."""
    if (UPSTREAM_BIN / "scx_simple").exists() and (UPSTREAM_BIN / "scx_sdt").exists():
        return "scx_simple", "scx_sdt"
    return "scx_tfifo", "scx_tdsq"


def scxtop_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "scxtop", *args]


def scxtop(*args: str, timeout: float = CMD_TIMEOUT) -> dict:
    return run_scxtop(*args, timeout=timeout)


def records(path: Path) -> list[dict]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return out


def span(path: Path) -> float:
    """Seconds the recording's samples cover (-1 before the first)."""
    samples = [r for r in records(path) if "record" not in r]
    return sum(r["interval_s"] for r in samples[1:]) if samples else -1.0


# --- cases ------------------------------------------------------------------------------------
def case_record(out: Path) -> dict:
    """`scxtop log --jsonl` across a real switch, under a messaging workload: the recording holds
    a switch_report (and becomes the shipped fixture for the before/after view)."""
    path = out / "switch.jsonl"
    a, _ = pair()
    log = subprocess.Popen(scxtop_argv("log", *SOURCE, "--interval", "1", "--jsonl", str(path)),
                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    result: dict = {"scheduler": a}
    load = None
    try:
        result["first_row"] = wait_for(lambda: span(path) >= 0, 400)  # the workload starts after
        load = subprocess.Popen(["sh", "-c", f"while :; do {' '.join(WORKLOAD)} >/dev/null; sleep 1; done"],
                                start_new_session=True)
        first = span(path)
        result["started"] = wait_for(lambda: span(path) >= first + 12, 400)
        result["switch"] = scxtop("switch", a, "--timeout", SWITCH_TIMEOUT)
        result["reported"] = wait_for(lambda: any(r.get("record") for r in records(path)), 400)
        time.sleep(2)  # a sample or two after the report
    finally:
        log.send_signal(signal.SIGINT)
        try:
            _, err = log.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            log.kill()
            _, err = log.communicate()
        if load is not None:
            os.killpg(load.pid, signal.SIGKILL)
            load.wait()
    result.update(log_rc=log.returncode, log_stderr=err[-2000:], back=scxtop("switch", "default"))
    result["jsonl"] = path.read_text()[-3_000_000:] if path.exists() else None
    return result


def case_compare(out: Path) -> dict:
    """The real thing: default and two schedulers, 3 interleaved runs each, perf bench messaging."""
    perf = subprocess.run([*WORKLOAD[:4], "-g", "1", "-l", "1"], capture_output=True, text=True, timeout=300)
    names = ["default", *pair()]
    result = {"perf_rc": perf.returncode, "perf_out": (perf.stdout + perf.stderr)[-1000:], "before": sysfs(),
              "names": names}
    result["compare"] = scxtop("compare", *names, "--runs", "3", "--warmup", "1", *SOURCE,
                               "--timeout", SWITCH_TIMEOUT, "--csv", str(out / "compare.csv"),
                               "--jsonl", str(out / "compare.jsonl"), "--", *WORKLOAD)  # fmt: skip
    for name in ("compare.csv", "compare.jsonl"):
        path = out / name
        result[name] = path.read_text() if path.exists() else None
    return result


def case_failures(out: Path) -> dict:
    """From B: a failing command and a scheduler the verifier rejects; B comes back."""
    a, b = pair()
    kmsg = KernelLog()  # the kernel's word if the watchdog ejects B meanwhile
    result = {"setup": scxtop("switch", b, "--timeout", SWITCH_TIMEOUT), "names": [a, b]}
    result["compare"] = scxtop("compare", a, "scx_tbad", "--runs", "1", "--warmup", "0", *SOURCE,
                               "--timeout", SWITCH_TIMEOUT, "--", "sh", "-c", "exit 3")
    result["observe"] = scxtop("compare", "default", a, "--runs", "1", "--warmup", "0", *SOURCE,
                               "--timeout", SWITCH_TIMEOUT, "--duration", "2")  # fmt: skip
    result["ejected"] = ejected_ops(kmsg)
    return result


def _interrupt(sig: int) -> dict:
    """Stop a compare with `sig` while its command runs; the scheduler from before must return."""
    before = sysfs()
    proc = subprocess.Popen(
        scxtop_argv("compare", "default", pair()[0], "--runs", "5", "--warmup", "0", *SOURCE,
                    "--timeout", SWITCH_TIMEOUT, "--", "sleep", "300"),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if "running sleep" in line:
            break
    during = sysfs()
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    sleepers = subprocess.run(["pgrep", "-x", "sleep"], capture_output=True, text=True).stdout.split()
    return {"before": before, "during": during, "rc": proc.returncode, "stdout": out,
            "stderr": "".join(lines) + err, "after": sysfs(), "stop_s": time.monotonic() - sent,
            "sleepers": sleepers}


def case_interrupt(out: Path) -> dict:
    result = {"setup": scxtop("switch", pair()[1], "--timeout", SWITCH_TIMEOUT), "names": list(pair())}
    result["sigint"] = _interrupt(signal.SIGINT)
    result["sigterm"] = _interrupt(signal.SIGTERM)
    result["sighup"] = _interrupt(signal.SIGHUP)  # the terminal or SSH session closed
    return result


CASES = {"record": case_record, "compare": case_compare, "failures": case_failures,
         "interrupt": case_interrupt}


def main() -> int:
    out = Path(sys.argv[1])
    if not set_up(out):
        return SHARE_NOT_WRITABLE
    os.environ["PATH"] = f"{BIN}:{UPSTREAM_BIN}:{os.environ['PATH']}"
    os.environ["SCXTOP_RUN_DIR"] = str(out / "run")
    os.environ["PYTHONPATH"] = str(REPO)
    # procfs reads context switches from /proc/schedstat, which counts only with schedstats on
    with contextlib.suppress(OSError):
        Path("/proc/sys/kernel/sched_schedstats").write_text("1")
    results: dict = {"kernel": os.uname().release, "initial": sysfs()}
    path = out / "compare.json"

    def back_to_default() -> None:
        if sysfs()["state"] != "disabled":
            subprocess.run(scxtop_argv("switch", "default", "--timeout", SWITCH_TIMEOUT), capture_output=True,
                           timeout=300, cwd=REPO)

    names = sys.argv[2:] or list(CASES)
    run_cases({name: (lambda name=name: CASES[name](out)) for name in names}, results, path, back_to_default)
    return finish(results, path, ("scx_t", "bpftrace", "perf bench"))


if __name__ == "__main__":
    sys.exit(main())
