"""sched_ext timeline events from consecutive reads of a fake /sys/kernel/sched_ext tree and kernel log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from scxtop.kernel.scx_journal import MAX_BYTES, Phase, SwitchJournal, SwitchRecord, records
from scxtop.kernel.scx_state import read_state
from scxtop.kernel.scx_tracker import KMSG, KernelLog, SchedExtTracker, expect_change, parse_disable
from scxtop.model import SchedExtEventKind as Kind
from scxtop.sched_ext import journal


class FakeSysfs:
    """A /sys/kernel/sched_ext lookalike that tests move between states."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "root").mkdir(parents=True)
        (root / "switch_all").write_text("0\n")
        (root / "nr_rejected").write_text("0\n")
        self.seq = 0
        self.set("disabled", None)

    def set(self, state: str, ops: str | None, bump: bool = False) -> None:
        if bump:
            self.seq += 1
        (self.root / "state").write_text(state + "\n")
        (self.root / "enable_seq").write_text(f"{self.seq}\n")
        (self.root / "root" / "ops").write_text((ops or "") + "\n")

    def read(self):
        return read_state(self.root)


class FakeKmsg:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("6,100,1000,-;an old line before scxtop started\n")

    def say(self, message: str) -> None:
        with self.path.open("a") as f:
            f.write(f"6,101,2000,-;{message}\n")


@pytest.fixture
def world(tmp_path: Path):
    sysfs = FakeSysfs(tmp_path / "sched_ext")
    kmsg = FakeKmsg(tmp_path / "kmsg")
    clock = [1000.0]
    tracker = SchedExtTracker(KernelLog(kmsg.path), clock=lambda: clock[0])
    tracker.update(sysfs.read())
    return sysfs, kmsg, tracker, clock


def already_running(sysfs: FakeSysfs, tracker: SchedExtTracker, ops: str) -> None:
    sysfs.set("enabled", ops, bump=True)
    tracker.update(sysfs.read())


def kinds(events):
    return [(e.kind, e.ops, e.previous, e.by_us) for e in events]


def test_first_read_is_the_baseline(tmp_path: Path):
    sysfs = FakeSysfs(tmp_path / "s")
    sysfs.set("enabled", "lavd_1.0", bump=True)
    assert SchedExtTracker(None).update(sysfs.read()) == ()


def test_load_switch_unload(world):
    sysfs, kmsg, tracker, _ = world
    sysfs.set("enabled", "bpfland_1.0.14", bump=True)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.LOADED, "bpfland_1.0.14", None, False)]
    assert tracker.update(sysfs.read()) == ()
    sysfs.set("enabled", "lavd_1.0.9", bump=True)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.SWITCHED, "lavd_1.0.9", "bpfland_1.0.14", False)]
    kmsg.say('sched_ext: BPF scheduler "lavd_1.0.9" disabled (unregistered from user space)')
    sysfs.set("disabled", None)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.UNLOADED, "lavd_1.0.9", None, False)]
    assert events[0].detail == "unregistered from user space"


def test_restart_of_the_same_scheduler_is_seen_through_enable_seq(world):
    sysfs, _, tracker, _ = world
    already_running(sysfs, tracker, "rusty")
    sysfs.set("enabled", "rusty", bump=True)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.SWITCHED, "rusty", "rusty", False)] and events[0].detail == "restarted"


def test_kernel_ejection_names_the_reason(world):
    sysfs, kmsg, tracker, _ = world
    already_running(sysfs, tracker, "bpfland_1.0.14")
    kmsg.say('sched_ext: BPF scheduler "bpfland_1.0.14" disabled (runtime error)')
    kmsg.say("sched_ext: bpfland_1.0.14: SCX_DSQ_LOCAL[_ON] target CPU 5 not allowed for foo[123]")
    sysfs.set("disabled", None)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.EJECTED, "bpfland_1.0.14", None, False)]
    assert events[0].detail == "runtime error"


def test_watchdog_ejection_then_reload_between_two_reads(world):
    sysfs, kmsg, tracker, _ = world
    already_running(sysfs, tracker, "a_1")
    kmsg.say('sched_ext: BPF scheduler "a_1" disabled (runnable task stall (watchdog failed))')
    sysfs.set("enabled", "b_2", bump=True)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.EJECTED, "a_1", None, False), (Kind.LOADED, "b_2", "a_1", False)]
    assert events[0].detail == "runnable task stall (watchdog failed)"


def test_scheduler_that_came_and_went_unseen_is_still_reported(world):
    sysfs, kmsg, tracker, _ = world
    sysfs.seq += 1
    kmsg.say('sched_ext: BPF scheduler "flash" disabled (scx_bpf_error)')
    assert kinds(tracker.update(sysfs.read())) == [(Kind.EJECTED, "flash", None, False)]


def test_changes_during_a_switch_in_this_process_are_ours(world):
    sysfs, kmsg, tracker, _ = world
    with expect_change():
        sysfs.set("enabled", "bpfland", bump=True)
        assert kinds(tracker.update(sysfs.read())) == [(Kind.LOADED, "bpfland", None, True)]
        sysfs.set("enabled", "lavd", bump=True)
    # it landed between the last read inside the switch and the first one after it: still ours
    assert kinds(tracker.update(sysfs.read())) == [(Kind.SWITCHED, "lavd", "bpfland", True)]
    kmsg.say('sched_ext: BPF scheduler "lavd" disabled (unregistered from user space)')
    sysfs.set("disabled", None)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.UNLOADED, "lavd", None, False)]


def test_the_switchs_own_target_failing_is_not_an_ejection(world):
    # scx_a runs; a switch to scx_b stops it, scx_b errors once enabled, and the switch starts
    # scx_a again: the journal reports the failed switch, the timeline only the restart.
    sysfs, kmsg, tracker, _ = world
    already_running(sysfs, tracker, "a_1")
    with expect_change():
        kmsg.say('sched_ext: BPF scheduler "a_1" disabled (unregistered from user space)')
        kmsg.say('sched_ext: BPF scheduler "b_2" disabled (runtime error)')
        sysfs.seq += 1  # b_2's enable
        sysfs.set("enabled", "a_1", bump=True)
        events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.SWITCHED, "a_1", "a_1", True)] and events[0].detail == "restarted"


def test_the_reason_is_read_once_the_kernel_has_finished_disabling(world):
    # The kernel logs why before the state says disabled: a read in between decides nothing.
    sysfs, kmsg, tracker, _ = world
    already_running(sysfs, tracker, "flatcg")
    sysfs.set("disabling", "flatcg")
    assert tracker.update(sysfs.read()) == ()
    assert tracker.update(sysfs.read()) == ()
    kmsg.say('sched_ext: BPF scheduler "flatcg" disabled (runnable task stall)')
    sysfs.set("disabled", None)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.EJECTED, "flatcg", None, False)]
    assert events[0].detail == "runnable task stall"


def test_an_ejection_a_switch_started_into_is_still_an_ejection(world):
    # Seen in the guest: the watchdog ejected flatcg, `n` was pressed while the kernel was still
    # disabling it, and the switch started flatcg again. The old instance was ejected, and only
    # the new one is scxtop's.
    sysfs, kmsg, tracker, _ = world
    already_running(sysfs, tracker, "flatcg")
    sysfs.set("disabling", "flatcg")
    assert tracker.update(sysfs.read()) == ()
    with expect_change():
        kmsg.say('sched_ext: BPF scheduler "flatcg" disabled (runnable task stall)')
        sysfs.set("disabled", None)
        first = tracker.update(sysfs.read())
        sysfs.set("enabled", "flatcg", bump=True)
        second = tracker.update(sysfs.read())
    assert kinds(first) == [(Kind.EJECTED, "flatcg", None, False)]
    assert first[0].detail == "runnable task stall"
    assert kinds(second) == [(Kind.LOADED, "flatcg", None, True)]


def test_a_watchdog_ejection_during_a_switch_is_still_an_ejection(world):
    sysfs, kmsg, tracker, _ = world
    with expect_change():
        sysfs.set("enabled", "a_1", bump=True)
        tracker.update(sysfs.read())
    tracker.update(sysfs.read())
    kmsg.say('sched_ext: BPF scheduler "a_1" disabled (runnable task stall (watchdog failed))')
    sysfs.set("disabled", None)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.EJECTED, "a_1", None, False)]


# --- switches by other scxtop processes: the switch journal -------------------------------------
def _record(phase: Phase, pid: int, started: float, end: float | None = None, ok: bool = True,
            target: str = "scx_bpfland", message: str = "") -> SwitchRecord:
    return SwitchRecord(time=end if end is not None else started, target=target, previous="default",
                        ok=ok, seconds=0.0, backend="direct", enable_seq_after=None, message=message,
                        pid=pid, started=started, phase=phase)


@pytest.fixture
def other_process():
    """A live process that is not us: the pid a journal record from another scxtop would carry."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def journal_world(tmp_path: Path):
    sysfs = FakeSysfs(tmp_path / "sched_ext")
    run = tmp_path / "run"
    tracker = SchedExtTracker(None, journal=SwitchJournal(run))
    tracker.update(sysfs.read())
    return sysfs, run, tracker


def test_a_switch_in_flight_in_another_process_is_ours(tmp_path, other_process):
    sysfs, run, tracker = journal_world(tmp_path)
    started = time.time()
    journal.append(_record(Phase.BEGIN, other_process, started), run)
    sysfs.set("enabled", "bpfland", bump=True)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.LOADED, "bpfland", None, True)]
    journal.append(_record(Phase.END, other_process, started, end=time.time()), run)
    tracker.update(sysfs.read())
    sysfs.set("enabled", "lavd", bump=True)  # by someone else, after the switch ended
    assert kinds(tracker.update(sysfs.read())) == [(Kind.SWITCHED, "lavd", "bpfland", False)]


def test_a_switch_that_ended_between_two_reads_is_ours(tmp_path, other_process):
    sysfs, run, tracker = journal_world(tmp_path)
    started = time.time()
    journal.append(_record(Phase.BEGIN, other_process, started), run)
    sysfs.set("enabled", "bpfland", bump=True)
    journal.append(_record(Phase.END, other_process, started, end=time.time()), run)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.LOADED, "bpfland", None, True)]


def test_a_switcher_that_died_mid_switch_marks_nothing(tmp_path):
    sysfs, run, tracker = journal_world(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    journal.append(_record(Phase.BEGIN, int(dead.stdout), time.time()), run)
    sysfs.set("enabled", "bpfland", bump=True)
    assert kinds(tracker.update(sysfs.read())) == [(Kind.LOADED, "bpfland", None, False)]


def test_a_failed_switch_in_the_journal_is_an_event(tmp_path, other_process):
    run = tmp_path / "run"
    old = time.time() - 10
    journal.append(_record(Phase.END, other_process, old, end=old, ok=False, message="old news"), run)
    sysfs, _, tracker = journal_world(tmp_path)
    started = time.time()
    journal.append(_record(Phase.BEGIN, other_process, started, target="scx_qmap"), run)
    journal.append(_record(Phase.END, other_process, started, end=time.time(), ok=False, target="scx_qmap",
                           message="switch to scx_qmap failed: verifier; scx_flatcg runs again"), run)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.SWITCH_FAILED, "scx_qmap", "default", True)]
    assert events[0].detail == "switch to scx_qmap failed: verifier; scx_flatcg runs again"
    assert tracker.update(sysfs.read()) == ()  # reported once


def test_the_journal_reader_skips_what_is_not_a_record_and_follows_rotation(tmp_path, other_process):
    run = tmp_path / "run"
    reader = SwitchJournal(run)
    assert reader.poll() == []  # no journal yet
    run.mkdir()
    path = run / "switches.jsonl"
    good = _record(Phase.END, other_process, time.time())
    path.write_text('not json\n[1, 2]\n{"time": 1}\n{"phase": "sideways"}\n')
    journal.append(good, run)
    assert reader.poll() == [good]
    path.replace(path.with_suffix(".jsonl.old"))  # rotated by the next writer
    journal.append(_record(Phase.BEGIN, other_process, time.time(), target="scx_x"), run)
    assert [r.target for r in reader.poll()] == ["scx_x"]


def test_a_huge_journal_is_read_in_bounded_pieces(tmp_path, other_process):
    run = tmp_path / "run"
    run.mkdir()
    path = run / "switches.jsonl"
    with path.open("w") as f:
        f.write("x" * (3 * MAX_BYTES) + "\n")
    journal.append(_record(Phase.END, other_process, time.time()), run)
    assert [r.target for r in SwitchJournal(run).poll()] == ["scx_bpfland"]
    assert [r.target for r in records(run)] == ["scx_bpfland"]


def test_unreadable_kernel_log_says_the_reason_is_unknown(tmp_path: Path):
    sysfs = FakeSysfs(tmp_path / "s")
    log = KernelLog(tmp_path / "no-such-kmsg")
    assert not log.available
    tracker = SchedExtTracker(log)
    already_running(sysfs, tracker, "x")
    sysfs.set("disabled", None)
    events = tracker.update(sysfs.read())
    assert kinds(events) == [(Kind.UNLOADED, "x", None, False)]
    assert "kernel log unreadable" in events[0].detail


def test_kernel_without_sched_ext_gives_no_events(tmp_path: Path):
    tracker = SchedExtTracker(None)
    assert tracker.update(read_state(tmp_path / "absent")) == ()
    assert tracker.update(read_state(tmp_path / "absent")) == ()


def test_parse_disable_line():
    d = parse_disable('sched_ext: BPF scheduler "scx_x" disabled (unregistered from BPF)')
    assert d is not None and d.ops == "scx_x" and not d.ejected
    assert parse_disable("sched_ext: scx_x: something else") is None


def test_real_kmsg_lines_reach_the_reader():
    if not os.access(KMSG, os.R_OK | os.W_OK):
        pytest.skip("/dev/kmsg is not readable and writable here (needs root)")
    log = KernelLog()
    assert log.available
    marker = f"scxtop-test {uuid.uuid4()}"
    with KMSG.open("w") as kmsg:
        kmsg.write(marker + "\n")
    assert marker in log.new_lines()
    log.close()
