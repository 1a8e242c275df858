"""`scxtop compare` and the before/after switch report on a real sched_ext kernel (the qemu guest,
software emulation), against the kernel's example schedulers scx_simple and scx_flatcg (our test
schedulers scx_tfifo and scx_tdsq where prepare.sh has not built those), with `perf bench sched
messaging` as the workload. tests/vm/guest_compare.py drives the real CLI in one guest boot and
records what happened; each test below judges one case. About 6-9 minutes on a loaded 2-core host.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import harness

from scxtop.recording.jsonl import RecordKind

pytestmark = pytest.mark.vm
GUEST_TIMEOUT_S = 1500
CASES: list[str] = []
"""Which guest cases to run (all when empty)."""


@pytest.fixture(scope="session")
def guest() -> dict:
    try:
        env = harness.prepared_env()
    except harness.NotPrepared as err:
        pytest.skip(f"sched_ext guest not prepared: {err}")
    if not shutil.which("perf"):
        pytest.skip("perf is not installed (bootstrap.sh test installs linux-perf): the workload is "
                    "`perf bench sched messaging`")
    harness.build_schedulers(env)
    try:
        harness.install_upstream(env)  # scx_simple, scx_flatcg... for the compare_upstream case
    except harness.NotPrepared as err:
        print(f"compare_upstream will skip: {err}")
    out = harness.WORK / "compare-results"
    command = [sys.executable, str(harness.HERE / "guest_compare.py"), str(out), *CASES]
    results = harness.collect(lambda: harness.run_guest(env, command, GUEST_TIMEOUT_S, out), out,
                              "compare.json")
    (harness.WORK / "last-compare-results.json").write_text(json.dumps(results, indent=1))
    return results


case = harness.case


def test_guest_ran_clean(guest):
    assert guest["_run"]["rc"] == 0, guest["_run"]["output"]
    assert not guest["_run"]["leftover"]
    assert guest["initial"]["state"] == "disabled"
    assert guest["leftovers"] == [], "scheduler, bpftrace or workload processes left behind"


def test_scxtop_log_writes_a_switch_report_across_a_real_switch(guest):
    rec = case(guest, "record")
    assert rec["started"] and rec["switch"]["rc"] == 0, rec["switch"]["stderr"]
    assert rec["reported"], "no switch_report within the wait"
    assert rec["log_rc"] == 0, rec["log_stderr"]
    lines = [json.loads(line) for line in rec["jsonl"].splitlines()]
    reports = [obj for obj in lines if obj.get("record") == RecordKind.SWITCH_REPORT]
    assert len(reports) == 1, [obj.get("record") for obj in lines]
    report = reports[0]
    ops = rec["scheduler"].removeprefix("scx_")
    assert (report["before_scheduler"], report["after_scheduler"]) == ("default", ops)
    assert report["by_us"] and not report["cut_short"]
    assert report["before"]["seconds"] >= 10.0 and report["after"]["seconds"] >= 10.0
    assert report["before"]["csw_per_s"] > 0 and report["after"]["csw_per_s"] > 0
    # the new scheduler's counters from root/events, as rates; default has none
    assert report["before"]["scx_events"] == []
    assert any(e["name"].startswith("SCX_EV_") for e in report["after"]["scx_events"])
    samples = [obj for obj in lines if "record" not in obj]
    assert any(s["scx"]["events"] for s in samples), "root/events never reached the JSONL"


def test_compare_prints_a_table_for_each_scheduler(guest):
    result = case(guest, "compare")
    assert result["perf_rc"] == 0, result["perf_out"]
    done = result["compare"]
    assert done["rc"] == 0, done["stderr"]
    lines = done["stdout"].splitlines()
    names = result["names"]
    assert lines[0].split() == names
    wall = next(line for line in lines if line.startswith("wall time (s)"))
    assert wall.count("..") == 3 and wall.count(" x") == 2  # median (min..max), ratio to the first
    assert lines[-1].split() == ["runs", "ok", "3/3", "3/3", "3/3"]
    assert any(line.startswith("context switches/s") for line in lines)
    assert done["after"]["state"] == "disabled"  # default ran before, and runs again
    rows = list(csv.DictReader(io.StringIO(result["compare.csv"])))
    d, a, b = names
    assert [(r["run"], r["scheduler"]) for r in rows] == [
        ("1", d), ("1", a), ("1", b), ("2", a), ("2", b), ("2", d), ("3", b), ("3", d), ("3", a)]
    assert all(r["exit_status"] == "0" and float(r["wall_s"]) > 0 for r in rows)
    records = [json.loads(line) for line in result["compare.jsonl"].splitlines()]
    assert [r["record"] for r in records] == ["compare_run"] * 9
    assert "measuring with" in done["stderr"]


def test_failed_switch_and_failed_command_fail_the_run_and_restore(guest):
    result = case(guest, "failures")
    assert result["setup"]["rc"] == 0
    done = result["compare"]
    assert done["rc"] == 1
    problems = done["stderr"].strip().splitlines()[-1]
    a, b = result["names"]
    assert f"run 1 {a}: command exited with status 3" in problems
    assert "run 1 scx_tbad: switch to scx_tbad failed" in problems
    # what ran when compare started runs afterwards: B, unless the kernel's watchdog ejected it
    # meanwhile (the kernel log then says so)
    for run in (done, result["observe"]):
        previous = ran_before(run)
        assert previous == b or (previous == "default" and b.removeprefix("scx_") in result["ejected"]), run
        assert run["after"]["ops"] == (None if previous == "default" else previous.removeprefix("scx_")), run
    observe = result["observe"]
    assert observe["rc"] == 0, observe["stderr"]
    assert observe["stdout"].splitlines()[-1].split() == ["runs", "ok", "1/1", "1/1"]


def ran_before(run: dict) -> str:
    """What compare found running when it started (it says so, and restores it at the end)."""
    return re.search(r"; (\S+) runs now and comes back at the end", run["stderr"])[1]


@pytest.mark.parametrize("signal_name", ["sigint", "sigterm", "sighup"])
def test_interrupted_mid_run_restores_the_previous_scheduler(guest, signal_name):
    result = case(guest, "interrupt")
    assert result["setup"]["rc"] == 0
    stopped = result[signal_name]
    assert "running sleep" in stopped["stderr"], stopped["stderr"]
    assert stopped["rc"] == 130, stopped["stderr"]
    # what ran when compare started (the setup's scheduler, unless the guest's watchdog ejected it
    # meanwhile, as it once did on a starved host) is what runs afterwards
    previous = ran_before(stopped)
    assert stopped["after"]["ops"] == (None if previous == "default" else previous.removeprefix("scx_"))
    assert f"{previous} runs again" in stopped["stderr"]
    assert stopped["stop_s"] < 300, "`sleep 300` ran to its end: the signal did not stop it"
    assert stopped["sleepers"] == [], "the command outlived the comparison"
