"""sched_ext switching proven on a real sched_ext kernel: Debian's trixie-backports cloud kernel
booted with virtme-ng under qemu (software emulation), running our test schedulers.

One guest boot runs every case (tests/vm/guest.py drives the real `scxtop` CLI there and records
what happened); each test below judges one case from that record. tests/vm/prepare.sh installs
what the guest needs (bootstrap.sh test runs it).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import harness

pytestmark = pytest.mark.vm
GUEST_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def guest() -> dict:
    try:
        env = harness.prepared_env()
    except harness.NotPrepared as err:
        pytest.skip(f"sched_ext guest not prepared: {err}")
    harness.build_schedulers(env)
    out = harness.WORK / "results"
    python = str(harness.REPO / ".venv" / "bin" / "python")
    crashes = []
    for _attempt in range(3):
        if out.exists():
            shutil.rmtree(out)
        run = harness.run_guest(env, [python, str(harness.HERE / "guest.py"), str(out)], GUEST_TIMEOUT_S, out)
        results_file = out / "results.json"
        if results_file.exists() or not harness.boot_failed(run):
            break
        crashes.append(run.output[-500:])
    assert results_file.exists(), f"the guest wrote no results (rc {run.returncode}):\n{run.output[-4000:]}"
    results = json.loads(results_file.read_text())
    results["_run"] = {"rc": run.returncode, "seconds": run.seconds, "output": run.output[-4000:],
                       "leftover": run.leftover, "boot_failures": crashes}
    (harness.WORK / "last-results.json").write_text(json.dumps(results, indent=1))
    return results


def case(guest: dict, name: str) -> dict:
    result = guest.get(name)
    assert result is not None, f"case {name} did not run: {guest['_run']}"
    assert "error" not in result, result.get("error")
    return result


def test_guest_runs_the_sched_ext_kernel(guest):
    assert guest["_run"]["rc"] == 0, guest["_run"]["output"]
    assert not guest["_run"]["leftover"], "vng/qemu/virtiofsd outlived the guest run"
    assert guest["initial"]["state"] == "disabled"
    assert guest["leftovers"] == [], "scheduler, bpftrace or loader processes left behind"


def test_switch_default_a_b_default_confirmed_by_sysfs(guest):
    steps = case(guest, "cycle")["steps"]
    assert steps[0]["before"]["state"] == "disabled"
    seq = steps[0]["before"]["enable_seq"]
    expected = {"scx_tfifo": "tfifo", "scx_tdsq": "tdsq", "default": None}
    for step in steps[1:]:
        target = step["args"][1]
        assert step["rc"] == 0, step["stderr"]
        after = step["after"]
        if expected[target]:
            assert (after["state"], after["ops"]) == ("enabled", expected[target]), step
            assert after["enable_seq"] == seq + 1  # exactly one new enable per switch
            seq = after["enable_seq"]
            assert step["stdout"].startswith(f"switched to {target} ({expected[target]}) in ")
        else:
            assert (after["state"], after["ops"]) == ("disabled", None), step
    assert len(steps) - 1 == 6


def test_schedulers_lists_the_test_programs_and_last_switch(guest):
    listing = case(guest, "cycle")["list"]
    assert listing["rc"] == 0
    rows = {line.split()[0]: line.split() for line in listing["stdout"].splitlines()[2:]}
    assert set(rows) >= {"default", "scx_tfifo", "scx_tdsq", "scx_tbad", "scx_texit", "scx_tstall"}
    assert rows["default"][1] == "running"  # the cycle ended on default
    assert rows["scx_tfifo"][1] == "installed" and rows["scx_tfifo"][3] != "-"  # a last-switch time
    assert rows["scx_tbad"][3] == "-"
    assert "backend direct" in listing["stdout"].splitlines()[0]


def switch_seconds(guest: dict) -> list[float]:
    steps = case(guest, "cycle")["steps"][1:]
    return [float(s["stdout"].rsplit(" in ", 1)[1].rstrip("s\n")) for s in steps if s["rc"] == 0]


def test_switch_times_are_reported(guest, record_property):
    seconds = switch_seconds(guest)
    assert all(s > 0 for s in seconds)
    record_property("switch_median_s", statistics.median(seconds))
    print(f"switch times (s): {seconds}; median {statistics.median(seconds):.2f}")


@pytest.mark.parametrize("bad", ["scx_tbad", "scx_texit"])
def test_failing_scheduler_leaves_the_previous_one_running(guest, bad):
    failures = case(guest, "failures")
    assert failures["setup"]["rc"] == 0 and failures["setup"]["after"]["ops"] == "tfifo"
    step = failures["from_a"][bad]
    assert step["rc"] == 1
    assert (step["after"]["state"], step["after"]["ops"]) == ("enabled", "tfifo"), step
    message = step["stderr"]
    assert f"switch to {bad} failed:" in message and "scx_tfifo runs again" in message
    assert f"--- last output of {bad} ---" in message


def test_verifier_rejection_shows_the_verifier_log(guest):
    step = case(guest, "failures")["from_a"]["scx_tbad"]
    assert "exited with status 1 before the kernel enabled it" in step["stderr"]
    assert "BPF program load failed" in step["stderr"]
    assert re.search(r"invalid (mem access|dereference)", step["stderr"]), "the verifier's reason is missing"


def test_scheduler_dying_after_attach_is_a_failure(guest):
    step = case(guest, "failures")["from_a"]["scx_texit"]
    assert "right after" in step["stderr"]
    assert "simulated crash" in step["stderr"]


@pytest.mark.parametrize("bad", ["scx_tbad", "scx_texit"])
def test_failing_scheduler_from_default_leaves_default(guest, bad):
    step = case(guest, "failures")["from_default"][bad]
    assert step["before"]["state"] == "disabled"
    assert step["rc"] == 1 and step["after"]["state"] == "disabled"
    assert "default runs again" in step["stderr"]


def test_unknown_scheduler_is_one_line_error(guest):
    step = case(guest, "failures")["unknown"]
    assert step["rc"] == 2
    assert step["stderr"].startswith("scxtop: unknown scheduler 'scx_nosuch': choose one of default, ")
    assert step["stderr"].count("\n") == 1


def test_ejection_is_detected_with_the_kernel_reason(guest):
    ejection = case(guest, "ejection")
    assert ejection["switch"]["rc"] == 0 and ejection["switch"]["after"]["ops"] == "tstall"
    assert ejection["ejected"], "the watchdog did not eject scx_tstall"
    assert any('"tstall" disabled (runnable task stall)' in line for line in ejection["kernel"])
    ejected = [e for e in ejection["events"] if e["kind"] == "ejected"]
    assert ejected == [{"kind": "ejected", "ops": "tstall", "detail": "runnable task stall", "by_us": False}]


def test_scxtop_log_records_the_ejection(guest):
    ejection = case(guest, "ejection")
    assert ejection["log_rc"] == 0, ejection["log_stderr"]
    rows = [json.loads(line) for line in ejection["log_jsonl"].splitlines() if line.strip()]
    events = [e for row in rows for e in row["scx_events"]]
    assert {(e["kind"], e["ops"], e["detail"]) for e in events if e["kind"] == "ejected"} == {
        ("ejected", "tstall", "runnable task stall")
    }
    states = [row["scx"]["state"] for row in rows]
    assert "enabled" in states and states[-1] == "disabled"


def test_scxtop_log_records_scx_state_and_ops_across_a_switch(guest):
    log = case(guest, "log")
    assert [s["rc"] for s in log["switches"]] == [0, 0]
    assert log["log_rc"] == 0, log["log_stderr"]
    rows = list(csv.DictReader(io.StringIO(log["csv"])))
    seen = [(r["scx_state"], r["scx_ops"]) for r in rows]
    # disabled -> enabled/tfifo -> disabled, in that order
    first_on = seen.index(("enabled", "tfifo"))
    assert ("disabled", "") in seen[:first_on]
    assert ("disabled", "") in seen[first_on:]


def test_dbus_backend_switches_through_the_loader_service(guest):
    dbus = case(guest, "dbus")
    assert dbus["ready"] == "ready"
    listing, to_a, to_b, to_bad, with_mode, back = dbus["steps"]
    assert listing["rc"] == 0 and "backend scx_loader" in listing["stdout"]
    assert to_a["rc"] == 0 and to_a["after"]["ops"] == "tfifo"
    assert to_b["rc"] == 0 and to_b["after"]["ops"] == "tdsq"
    assert "asking scx_loader to stop it" in to_b["stderr"]
    assert to_bad["rc"] == 1 and to_bad["after"]["ops"] == "tdsq"
    assert "scx_tdsq runs again" in to_bad["stderr"]
    assert with_mode["rc"] == 0 and with_mode["after"]["ops"] == "tfifo"
    assert "stopping scx_tdsq" in with_mode["stderr"]
    assert back["rc"] == 0 and back["after"]["state"] == "disabled"


def test_bpftrace_source_reports_the_sched_ext_runqueue_share(guest):
    bpf = case(guest, "bpftrace")
    assert bpf["switch"]["rc"] == 0 and bpf["switch"]["after"]["ops"] == "tfifo"
    assert bpf["rc"] == 0, bpf["stderr"]
    rows = json.loads(bpf["stdout"].strip().splitlines()[-1])
    assert rows, "no samples"
    assert all(row["scx"] == ["enabled", "tfifo"] for row in rows)
    shares = [rq_scx for row in rows for _cpu, _rq, rq_scx in row["cpus"]]
    assert all(s is not None for s in shares), f"rq_scx missing: {rows}"
    assert max(shares) > 0, f"a busy loop under tfifo, yet rq->scx.nr_running never > 0: {rows}"
