"""One switch at a time: the flock under the run directory, in one process and across processes,
and the transaction refusing to start while another holds it (real scxtop code, simulated
scx_loader world; the guest proves the same with real schedulers)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_switch_loader import SERVICE, switcher_for
from test_switch_loader import bus as bus  # the D-Bus daemon fixture, re-exported for pytest
from workloads import stop_gently

from scxtop.kernel.scx_state import read_state
from scxtop.sched_ext import journal
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.lock import LOCK_NAME, SwitchBusy, switch_lock

HOLD = """
import sys
from pathlib import Path
from scxtop.sched_ext.lock import switch_lock
with switch_lock(sys.argv[2], Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the switch lock until its stdin closes."""
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run), "scx_other"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert proc.stdout.readline().strip() == "held"
    yield run, proc
    stop_gently(proc)
    proc.stdin.close()
    proc.stdout.close()


def test_the_lock_is_refused_in_the_same_process_while_held(tmp_path):
    run = tmp_path / "run"
    with switch_lock("scx_a", run):
        busy = rf"another switch is in flight \(pid {os.getpid()} switching to scx_a\): wait for it to finish"
        with pytest.raises(SwitchBusy, match=busy), switch_lock("scx_b", run):
            pass
    with switch_lock("scx_b", run):  # free again once released
        pass
    assert (run / LOCK_NAME).read_text() == ""  # the holder's note goes with the lock


def test_the_lock_is_refused_across_processes_and_freed_when_the_holder_dies(holder):
    run, proc = holder
    with pytest.raises(SwitchBusy, match=rf"\(pid {proc.pid} switching to scx_other\)") as err, \
            switch_lock("scx_mine", run):
        pass
    assert err.value.status == 1
    proc.kill()  # a crashed scxtop: the kernel drops its flock
    proc.wait()
    with switch_lock("scx_mine", run):
        pass


def test_a_hostile_lock_file_is_shown_as_plain_text(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text("[red]x\x1b[31m\nsecond line")
    fd = os.open(run / LOCK_NAME, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: conflicts like another process
    try:
        with pytest.raises(SwitchBusy) as err, switch_lock("scx_a", run):
            pass
        assert "([red]x?[31m)" in str(err.value) and "second" not in str(err.value)
    finally:
        os.close(fd)


def test_an_unusable_run_directory_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SwitchError, match=r"cannot open the switch lock .*file/run/switch.lock"), \
            switch_lock("scx_a", blocker / "run"):
        pass


@pytest.fixture
def world(bus, tmp_path):
    sysfs = tmp_path / "sched_ext"
    service = subprocess.Popen(
        [sys.executable, str(SERVICE), "--address", bus, "--simulate", str(sysfs),
         "--supported", "scx_alpha,scx_broken", "--broken", "scx_broken"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert service.stdout.readline().strip() == "ready"
        yield bus, sysfs
    finally:
        stop_gently(service)
        service.stdout.close()


def test_a_switch_while_one_is_in_flight_in_this_process_is_refused(world, tmp_path):
    bus, sysfs = world
    slow = switcher_for(bus, sysfs, tmp_path)
    results = []
    thread = threading.Thread(target=lambda: results.append(slow.switch("scx_broken", timeout=3.0)))
    thread.start()
    lock = tmp_path / "run" / LOCK_NAME
    try:
        while thread.is_alive() and "scx_broken" not in (lock.read_text() if lock.exists() else ""):
            thread.join(0.02)
        with pytest.raises(SwitchBusy, match="switching to scx_broken"):
            switcher_for(bus, sysfs, tmp_path).switch("scx_alpha", timeout=3.0)
    finally:
        thread.join(30)
    assert len(results) == 1 and not results[0].ok  # the first one ran to its own end
    assert read_state(sysfs).state == "disabled"
    ends = [r.target for r in journal.records(tmp_path / "run") if r.phase is journal.Phase.END]
    assert ends == ["scx_broken"]  # the refused one never began


def test_a_switch_while_another_process_switches_is_refused(world, holder, tmp_path):
    bus, sysfs = world
    _run, proc = holder
    switcher = switcher_for(bus, sysfs, tmp_path)  # the same run directory as the holder's
    with pytest.raises(SwitchBusy, match=rf"pid {proc.pid} switching to scx_other"):
        switcher.switch("scx_alpha", timeout=3.0)
    assert read_state(sysfs).state == "disabled"  # nothing was touched
