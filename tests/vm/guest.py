"""Runs inside the sched_ext guest: drive the real `scxtop` CLI and record what happened.

It asserts nothing itself: every case writes its observations (exit codes, output, sysfs before
and after, kernel log lines) to OUT/results.json, and tests/vm/test_vm_sched_ext.py judges
them on the host. Usage: guest.py OUT_DIR [CASE...]
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from guest_common import REPO, SHARE_NOT_WRITABLE, ejected_ops, finish, run_cases, set_up, sysfs, wait_for
from guest_common import scxtop as run_scxtop
from harness import BIN, DASHBOARD_BIN, GATE, KCONFIG, UPSTREAM_BIN

from scxtop.kernel.scx_journal import SwitchJournal
from scxtop.kernel.scx_state import read_state
from scxtop.kernel.scx_tracker import KernelLog, SchedExtTracker

PYTHON = Path(sys.executable)
"""The host's venv python the host test started us with; scxtop is imported from REPO."""
SCXTOP = (str(PYTHON), "-m", "scxtop")
CMD_TIMEOUT = 600

SWITCH_TIMEOUT = "60"
"""Software emulation is 20-50x slower than hardware: the first start of a (Python) test scheduler
in a cold guest has taken over 10 s, scxtop's default timeout."""


def scxtop(*args: str, env: dict | None = None) -> dict:
    if args[0] == "switch" and "--timeout" not in args:
        args = (*args, "--timeout", SWITCH_TIMEOUT)
    return run_scxtop(*args, timeout=CMD_TIMEOUT, env=env)


def wait_for_rows(path: Path, rows: int, timeout: float = 60) -> bool:
    """`scxtop log` starts slowly under emulation: wait until it has written `rows` lines."""
    def written() -> int:
        try:
            return len(path.read_text().splitlines())
        except OSError:
            return 0
    return wait_for(lambda: written() >= rows, timeout)


def kernel_lines() -> list[str]:
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "sched_ext" in line]


# --- cases ------------------------------------------------------------------------------------
def case_cycle(out: Path) -> dict:
    """default -> A -> B -> default, twice: each step through `scxtop switch`."""
    steps = [{"before": sysfs()}]
    for _ in range(2):
        for name in ("scx_tfifo", "scx_tdsq", "default"):
            steps.append(scxtop("switch", name))
    return {"steps": steps, "list": scxtop("schedulers")}


def case_failures(out: Path) -> dict:
    """Failing (verifier) and exiting schedulers, from A and from default."""
    result = {"from_a": {}, "from_default": {}}
    result["setup"] = scxtop("switch", "scx_tfifo")
    for bad in ("scx_tbad", "scx_texit"):
        before = sysfs()
        result["from_a"][bad] = {"before": before, **scxtop("switch", bad)}
    result["to_default"] = scxtop("switch", "default")
    for bad in ("scx_tbad", "scx_texit"):
        result["from_default"][bad] = {"before": sysfs(), **scxtop("switch", bad)}
    result["unknown"] = scxtop("switch", "scx_nosuch")
    return result


def _stallme() -> subprocess.Popen:
    """A task named 'stallme' that sleeps and wakes: the stall scheduler never runs it."""
    code = ("import ctypes, time\n"
            "ctypes.CDLL(None).prctl(15, b'stallme', 0, 0, 0)\n"
            "while True: time.sleep(0.05)\n")
    return subprocess.Popen(["/usr/bin/python3", "-c", code])


class ScxtopLog:
    """`scxtop log` running in the background until stopped with SIGINT, as a user would."""

    def __init__(self, *outputs: str, first_rows: int) -> None:
        self.proc = subprocess.Popen(
            [*SCXTOP, "log", "--source", "procfs", "--interval", "0.5", "--duration", "60", *outputs],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wait_for_rows(Path(outputs[1]), first_rows)

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return {"log_rc": self.proc.returncode, "log_stderr": err[-2000:]}


def case_ejection(out: Path) -> dict:
    """The watchdog ejects scx_tstall; scxtop's tracker and `scxtop log` must say so."""
    log_path = out / "ejection.jsonl"
    logger = ScxtopLog("--jsonl", str(log_path), first_rows=1)
    kmsg = KernelLog()
    tracker = SchedExtTracker(kmsg)
    tracker.update(read_state())
    switched = scxtop("switch", "scx_tstall")
    events = [e for e in tracker.update(read_state())]
    stall = _stallme()
    ejected = wait_for(lambda: read_state().state == "disabled", 20)
    time.sleep(0.5)
    events += tracker.update(read_state())
    stall.kill()
    stall.wait()
    kmsg.close()
    time.sleep(1.0)
    return {
        "switch": switched, "ejected": ejected, "after": sysfs(),
        "events": [{"kind": str(e.kind), "ops": e.ops, "detail": e.detail, "by_us": e.by_us} for e in events],
        "kernel": kernel_lines()[-6:], **logger.stop(),
        "log_jsonl": log_path.read_text()[-200000:] if log_path.exists() else None,
    }  # fmt: skip


def case_log_across_switch(out: Path) -> dict:
    """`scxtop log` records scx_state / scx_ops while scxtop switches default -> A -> default."""
    csv_path = out / "switchlog.csv"
    logger = ScxtopLog("--csv", str(csv_path), first_rows=3)  # header and two rows before the switch
    a = scxtop("switch", "scx_tfifo")
    time.sleep(1.5)
    b = scxtop("switch", "default")
    time.sleep(1.5)
    return {
        "switches": [a, b], **logger.stop(),
        "csv": csv_path.read_text() if csv_path.exists() else None,
    }  # fmt: skip


def case_dbus(out: Path) -> dict:
    """The scx_loader backend against our org.scx.Loader service on a private bus."""
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"],
                              stdout=subprocess.PIPE, text=True)
    address = daemon.stdout.readline().strip()
    service = subprocess.Popen(
        [str(PYTHON), str(REPO / "tests/vm/loader_service.py"), "--address", address, "--spawn"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    ready = service.stdout.readline().strip()
    env = {"DBUS_SYSTEM_BUS_ADDRESS": address}
    try:
        steps = [scxtop("schedulers", env=env)]
        for name in ("scx_tfifo", "scx_tdsq", "scx_tbad"):
            steps.append(scxtop("switch", name, "--timeout", "8" if name == "scx_tbad" else "30", env=env))
        steps.append(scxtop("switch", "scx_tfifo", "--mode", "gaming", env=env))
        steps.append(scxtop("switch", "default", env=env))
    finally:
        service.terminate()
        service.wait(10)
        daemon.terminate()
        daemon.wait(10)
    return {"address": address, "ready": ready, "steps": steps}


def case_bpftrace(out: Path) -> dict:
    """The live bpftrace source reports rq->scx.nr_running while a test scheduler runs."""
    result = {"switch": scxtop("switch", "scx_tfifo")}
    code = (
        "import json, subprocess, time\n"
        "from scxtop.sources.bpftrace import BpftraceSource\n"
        "t0 = time.monotonic()\n"
        "src = BpftraceSource(interval_s=1.0)\n"
        "rows, busy = [], None\n"
        "for sample in src.samples():\n"
        "    rows.append({'cpus': [[c.cpu, c.rq, c.rq_scx] for c in sample.cpus], 'gap': sample.gap,\n"
        "                 't': time.monotonic() - t0, 'scx': [sample.scx.state, sample.scx.ops]})\n"
        "    if busy is None:  # started late so that bpftrace's slow start under emulation is not slower\n"
        "        busy = subprocess.Popen(['/usr/bin/python3', '-c', 'while True: pass'])\n"
        "    if len(rows) >= 4: break\n"
        "src.close()\n"
        "busy.kill(); busy.wait()\n"
        "print(json.dumps(rows))\n"
    )
    try:
        proc = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, timeout=300,
                              cwd=REPO)
        result.update(rc=proc.returncode, stdout=proc.stdout[-20000:], stderr=proc.stderr[-4000:])
    except subprocess.TimeoutExpired as err:
        result.update(rc=None, stdout=str(err.stdout)[-4000:], stderr="timeout")
    result["back"] = scxtop("switch", "default")
    return result


# --- the kernel's own example schedulers ------------------------------------------------------
UPSTREAM_CYCLE = ("scx_simple", "scx_qmap", "scx_flatcg", "scx_pair", "scx_sdt", "scx_central",
                  "scx_cpu0", "scx_userland", "default")
"""scx_qmap comes right after scx_simple: the verifier rejects it and scx_simple must run again
(not after scx_flatcg, which the watchdog has ejected in this emulated guest: it starved
rcu_preempt or a Python process for 30 s in three of five recent runs).
scx_userland comes last: it schedules every task through its user-space daemon, and with the host
at load 50 the guest managed about 15 scheduling decisions a second under it (the next switch's
Python never got going), so whatever it slows down is only the way back to default."""
SLOW_START = {"scx_pair": "240"}
"""scx_pair initializes a map entry per CPU pair and cgroup before it attaches: 2.7 s on a quiet
machine, over 60 s when the host ran three guests at a load of 50."""


def log_tail(name: str, lines: int = 8) -> list[str]:
    try:
        text = (Path(os.environ["SCXTOP_RUN_DIR"]) / "logs" / f"{name}.log").read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


def case_upstream(out: Path) -> dict:
    """default -> each upstream scheduler in turn -> default, through `scxtop switch`."""
    steps = [{"before": sysfs()}]
    kmsg = KernelLog()  # the kernel's word when its watchdog ejects one of them
    for name in UPSTREAM_CYCLE:
        step = scxtop("switch", name, "--timeout", SLOW_START.get(name, SWITCH_TIMEOUT))
        if step["rc"] == 0 and name != "default":
            time.sleep(2.5)  # most print statistics every second or two: let them write some
            step["log_while_running"] = log_tail(name)
            step["still"] = sysfs()
        steps.append(step)
    return {"steps": steps, "logs": {name: log_tail(name, 40) for name in UPSTREAM_CYCLE},
            "list": scxtop("schedulers"), "ejected": ejected_ops(kmsg)}


def case_concurrent(out: Path) -> dict:
    """Two `scxtop switch` processes at once: the second is refused while the first is in flight,
    and both switches are marked as scxtop's own in another process's tracker. The first goes to
    scx_tgate, which loads only once its gate opens: in flight for as long as this case needs.
    It is sent SIGTERM while in flight, and must finish its switch before it stops."""
    GATE.unlink(missing_ok=True)
    kmsg = KernelLog()
    tracker = SchedExtTracker(kmsg, journal=SwitchJournal(Path(os.environ["SCXTOP_RUN_DIR"])))
    tracker.update(read_state())
    first = subprocess.Popen([*SCXTOP, "switch", "scx_tgate", "--timeout", "600"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock_file = Path(os.environ["SCXTOP_RUN_DIR"]) / "switch.lock"
    try:
        held = wait_for(lambda: lock_file.exists() and "scx_tgate" in lock_file.read_text(), 180)
        second = scxtop("switch", "scx_simple")
        events = list(tracker.update(read_state()))
        first.send_signal(signal.SIGTERM)
        time.sleep(3)
        alive_after_sigterm = first.poll() is None
    finally:
        GATE.touch()
    out1, err1 = first.communicate(timeout=CMD_TIMEOUT)
    after_sigterm = sysfs()
    GATE.unlink()
    events += tracker.update(read_state())
    back = scxtop("switch", "default")
    time.sleep(0.3)
    events += tracker.update(read_state())
    kmsg.close()
    return {
        "held": held, "second": second, "first": {"rc": first.returncode, "stdout": out1, "stderr": err1},
        "alive_after_sigterm": alive_after_sigterm, "after_sigterm": after_sigterm,
        "after_first": back, "events": [event_dict(e) for e in events],
    }  # fmt: skip


def event_dict(e) -> dict:
    return {"kind": str(e.kind), "ops": e.ops, "previous": e.previous, "detail": e.detail, "by_us": e.by_us}


DASHBOARD = r"""
import asyncio, json, sys, time
from pathlib import Path
from scxtop.kernel.scx_state import read_state
from scxtop.sched_ext.switch import make_switcher
from scxtop.sources.procfs import ProcfsSource
from scxtop.tui.app import ScxtopApp

out = Path(sys.argv[1])
record = {"steps": []}

def panel_text(app):
    return str(app.scx_panel.render())

async def until(pilot, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(0.1)
    return False

async def main():
    gate = Path(sys.argv[2])
    app = ScxtopApp(source_factory=lambda interval: ProcfsSource(interval_s=interval), interval=0.5,
                    switcher_factory=make_switcher, confirm_switch=False, switch_timeout=120)
    # What each `n` started, as the app started it: a fast switch can begin and end between two
    # polls of `app.switching` when the emulated guest's event loop is slow (seen beside a busy host)
    started = []
    begin = app._begin_switch
    app._begin_switch = lambda name: (started.append(name), begin(name))[-1]
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.latest is not None, 60)
        # Around the cycle and back to default. The kernel's watchdog may eject a scheduler that a
        # starved emulated guest cannot run in time (seen under a host load of 12); `n` then goes
        # on from default, so the loop is bounded by presses, not by a fixed list. An ejection
        # within the switch fails it (seen in CI with scx_flatcg), and `n` goes on past it.
        for _ in range(9):
            if any(s["target"] == "default" for s in record["steps"]):
                break
            # press on a settled state that the dashboard has seen, not mid-enable or -disable
            def settled():
                now = read_state()
                return (now.state in ("enabled", "disabled") and app.latest is not None
                        and (app.latest.scx.ops, app.latest.scx.enable_seq) == (now.ops, now.enable_seq))
            await until(pilot, settled, 60)
            seq, ops = read_state().enable_seq, read_state().ops
            events_before = len(app.timeline.events)
            t0 = time.monotonic()
            pressed_before = len(started)
            await pilot.press("n")
            await until(pilot, lambda: len(started) > pressed_before, 60)  # listing comes first
            step = {"from": ops, "target": started[-1] if len(started) > pressed_before else None,
                    "in_flight_seen": app.switching is not None}
            if app.switching == "scx_tgate":  # in flight until the gate opens, however slow the guest
                step["n_allowed_in_flight"] = app.check_action("next_scheduler", ())
                step["s_allowed_in_flight"] = app.check_action("pick_scheduler", ())
                step["screen_says"] = await until(
                    pilot, lambda: "switching… to scx_tgate" in panel_text(app), 120)
                await pilot.press("n", "s", "n")  # must start nothing, open no picker
                await pilot.pause(0.5)
                step["switching_after_keys"] = app.switching
                step["screen_after_keys"] = type(app.screen).__name__
                gate.touch()
            await until(pilot, lambda: app.switching is None, 300)
            step["seconds"] = time.monotonic() - t0
            step["state"] = [read_state().state, read_state().ops, read_state().enable_seq]
            step["seq_before"] = seq
            step["n_allowed_after"] = app.check_action("next_scheduler", ())
            running = read_state().ops
            if running:
                last = lambda: app.scheduler_output[-1] if app.scheduler_output else None
                flat = lambda text: " ".join(text.split())  # the panel shows tabs as spaces
                # longer than the kernel's 30 s watchdog: a scheduler that starves the dashboard
                # is ejected within it, and the ejection shows in the step's events
                seen = app.samples_seen
                step["output_shown"] = await until(
                    pilot, lambda: bool(last()) and flat(last()) in flat(panel_text(app)), 60)
                step["output"] = list(app.scheduler_output)
                step["samples_while_waiting"] = app.samples_seen - seen
            seen = app.samples_seen  # samples flow again before the timeline is read
            step["samples_flow"] = await until(pilot, lambda: app.samples_seen >= seen + 2, 60)
            await until(pilot, lambda: (app.latest.scx.ops == running), 20)
            await until(pilot, lambda: any(e.ops == running or (running is None and e.kind == "unloaded")
                                           for e in app.timeline.events), 20)
            step["timeline"] = [[e.kind.value, e.ops, e.by_us, e.detail] for e in app.timeline.events]
            step["new_events"] = step["timeline"][events_before:]
            step["panel"] = panel_text(app)
            record["steps"].append(step)
        await pilot.press("q")
    (out / "dashboard.json").write_text(json.dumps(record, indent=1))

asyncio.run(main())
"""


def case_dashboard(out: Path) -> dict:
    """`n` in the real dashboard (Textual Pilot) cycles default -> scx_flatcg -> scx_sdt ->
    scx_simple -> scx_tgate -> default, one switch at a time: while scx_tgate's gate is shut,
    the panel says "switching…" and more `n` and `s` presses start nothing."""
    GATE.unlink(missing_ok=True)
    # DASHBOARD_BIN is made by harness.install_upstream: the share is read-only here
    env = {**os.environ, "PATH": f"{DASHBOARD_BIN}:/usr/bin:/bin:/usr/sbin:/sbin", "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    try:
        proc = subprocess.run([str(PYTHON), "-c", DASHBOARD, str(out), str(GATE)], capture_output=True,
                              text=True, timeout=1200, env=env, cwd=REPO)
    finally:
        GATE.unlink(missing_ok=True)
    result = {"rc": proc.returncode, "stderr": proc.stderr[-4000:], "seconds": time.monotonic() - started}
    with contextlib.suppress(OSError, ValueError):
        result.update(json.loads((out / "dashboard.json").read_text()))
    return result


CASES = {
    "upstream": case_upstream,
    "concurrent": case_concurrent,
    "dashboard": case_dashboard,
    "cycle": case_cycle,
    "failures": case_failures,
    "ejection": case_ejection,
    "log": case_log_across_switch,
    "dbus": case_dbus,
    "bpftrace": case_bpftrace,
}


LEFTOVERS = ("scx_", "bpftrace", "loader_service", "dbus-daemon")


def main() -> int:
    out = Path(sys.argv[1])
    if not set_up(out):
        return SHARE_NOT_WRITABLE
    os.environ["PATH"] = f"{BIN}:{UPSTREAM_BIN}:{os.environ['PATH']}"
    os.environ["SCXTOP_RUN_DIR"] = str(out / "run")
    os.environ["PYTHONPATH"] = str(REPO)
    # scx_central's libbpf reads the kernel config from /boot/config-$(uname -r): the host's /boot
    # is shared read-only, so a tmpfs goes over it in the guest.
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/boot"], capture_output=True)
    try:
        (Path("/boot") / f"config-{os.uname().release}").write_bytes(KCONFIG.read_bytes())
    except OSError as err:
        print(f"guest: no kernel config for scx_central: {err}", flush=True)
    ctypes.CDLL(None)  # fail early if ctypes is broken in the guest
    results: dict = {"kernel": os.uname().release, "initial": sysfs()}
    path = out / "results.json"

    def back_to_default() -> None:  # leave the next case a clean start
        if sysfs()["state"] != "disabled":
            subprocess.run([*SCXTOP, "switch", "default"], capture_output=True, timeout=CMD_TIMEOUT)

    names = sys.argv[2:] or list(CASES)
    run_cases({name: (lambda name=name: CASES[name](out)) for name in names}, results, path, back_to_default)
    return finish(results, path, LEFTOVERS)


if __name__ == "__main__":
    sys.exit(main())
