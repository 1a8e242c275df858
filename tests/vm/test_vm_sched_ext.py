"""sched_ext switching proven on a real sched_ext kernel: Debian's trixie-backports cloud kernel
booted with virtme-ng under qemu (software emulation), running our test schedulers.

One guest boot runs every case (tests/vm/guest.py drives the real `scxtop` CLI there and records
what happened); each test below judges one case from that record. tests/vm/prepare.sh installs
what the guest needs (bootstrap.sh test runs it).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import harness

pytestmark = pytest.mark.vm
GUEST_TIMEOUT_S = 2400


@pytest.fixture(scope="session")
def guest() -> dict:
    try:
        env = harness.prepared_env()
    except harness.NotPrepared as err:
        pytest.skip(f"sched_ext guest not prepared: {err}")
    harness.build_schedulers(env)
    harness.install_upstream(env)
    out = harness.WORK / "results"
    python = sys.executable  # the venv running pytest: the guest shares the host's root
    command = [python, str(harness.HERE / "guest.py"), str(out)]
    results = harness.collect(lambda: harness.run_guest(env, command, GUEST_TIMEOUT_S, out), out)
    (harness.WORK / "last-results.json").write_text(json.dumps(results, indent=1))
    print(f"guest run: {results['_run']['seconds']:.0f}s (boot and every case)")
    return results


case = harness.case


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
    records = [json.loads(line) for line in ejection["log_jsonl"].splitlines() if line.strip()]
    rows = [r for r in records if "record" not in r]  # samples; a switch_report may follow the ejection
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
    # a gap row (bpftrace's reports came late: the emulated guest stalled) carries no values at all
    rows = [row for row in json.loads(bpf["stdout"].strip().splitlines()[-1]) if not row["gap"]]
    assert rows, "no samples"
    assert all(row["scx"] == ["enabled", "tfifo"] for row in rows)
    cpus = [cpu for row in rows for cpu in row["cpus"]]
    assert all(rq_scx is not None for _cpu, _rq, rq_scx in cpus), f"rq_scx missing: {rows}"
    assert max(rq_scx for _cpu, _rq, rq_scx in cpus) > 0, (
        f"a busy loop under tfifo, yet rq->scx.nr_running never > 0: {rows}")
    assert all(rq_scx <= rq + 1e-9 for _cpu, rq, rq_scx in cpus), f"more scx tasks than tasks: {rows}"


# --- the kernel's own example schedulers (tools/sched_ext, built by prepare.sh) ------------------
UPSTREAM_OPS = {"scx_simple": "simple", "scx_flatcg": "flatcg", "scx_pair": "pair", "scx_sdt": "sdt",
                "scx_userland": "userland", "scx_central": "central", "scx_cpu0": "cpu0"}


def upstream_steps(guest: dict) -> dict[str, dict]:
    return {step["args"][1]: step for step in case(guest, "upstream")["steps"][1:]}


def stalled_in_switch(guest: dict, step: dict) -> bool:
    """Enabled, then undone by the kernel's watchdog before `scxtop switch` returned (a starved
    emulated guest, as for the ejections below, but caught within the switch): scxtop must fail
    the switch with the kernel's reason and put back what ran before."""
    ops = UPSTREAM_OPS.get(step["args"][1])
    return (step["rc"] == 1 and ops in case(guest, "upstream")["ejected"]
            and "right after enabling it (kernel: runnable task stall)" in step["stderr"])


def test_upstream_cycle_confirmed_by_sysfs(guest):
    result = case(guest, "upstream")
    steps = result["steps"]
    assert steps[0]["before"]["state"] == "disabled"
    seq = steps[0]["before"]["enable_seq"]
    for before, step in itertools.pairwise(steps):
        target = step["args"][1]
        if target == "scx_qmap":  # judged below; never enabled, and simple's restart is one enable
            assert step["after"]["enable_seq"] == seq + 1, step
            seq = step["after"]["enable_seq"]
            continue
        after = step["after"]
        if stalled_in_switch(guest, step):  # what ran before runs again
            was = before.get("after", before.get("before"))
            assert (after["state"], after["ops"]) == (was["state"], was["ops"]), step
            assert "runs again" in step["stderr"] and after["enable_seq"] > seq, step
            seq = after["enable_seq"]  # its enable, and the previous one's again
            continue
        assert step["rc"] == 0, f"{target}: {step['stderr']}"
        if target == "default":
            assert (after["state"], after["ops"]) == ("disabled", None), step
            continue
        assert after["enable_seq"] == seq + 1, step  # one enable per switch, none lost to a restart
        seq = after["enable_seq"]
        gone = "disabled" in (after["state"], step["still"]["state"])
        if gone and UPSTREAM_OPS[target] in result["ejected"]:
            continue  # enabled, then ejected by the kernel's watchdog (a starved emulated guest)
        assert (after["state"], after["ops"]) == ("enabled", UPSTREAM_OPS[target]), step
        assert step["still"]["ops"] == UPSTREAM_OPS[target], f"{target} did not stay: {step['still']}"
    assert [s["args"][1] for s in steps[1:]][-1] == "default"


def test_upstream_switch_times(guest, record_property):
    times, stalled = {}, set()
    for name, step in upstream_steps(guest).items():
        if step["rc"] == 0 and " in " in step["stdout"]:
            times[name] = float(step["stdout"].rsplit(" in ", 1)[1].rstrip("s\n"))
        elif stalled_in_switch(guest, step):
            stalled.add(name)
    assert set(times) >= set(UPSTREAM_OPS) - stalled, (times, stalled)
    for name, seconds in times.items():
        record_property(f"switch_s_{name}", seconds)
    print("upstream switch times (s, software emulation): "
          + ", ".join(f"{n} {s:.2f}" for n, s in times.items()))


def test_scx_qmap_rejected_by_the_verifier_leaves_simple_running(guest):
    step = upstream_steps(guest)["scx_qmap"]
    assert step["rc"] == 1
    assert (step["after"]["state"], step["after"]["ops"]) == ("enabled", "simple"), step
    message = step["stderr"]
    assert "switch to scx_qmap failed: scx_qmap exited with status" in message
    assert "scx_simple runs again" in message
    assert "--- last output of scx_qmap ---" in message
    assert "BPF program load failed" in message or "failed to load" in message, message
    assert re.search(r"invalid (mem access|dereference)|Permission denied|-EACCES|-13", message), message


def test_what_an_upstream_scheduler_prints_stays_in_its_log(guest):
    result = case(guest, "upstream")
    steps = upstream_steps(guest)
    for name in ("scx_simple", "scx_flatcg"):
        if stalled_in_switch(guest, steps[name]):
            continue  # it ran for moments only; its log is checked below all the same
        assert steps[name]["log_while_running"], f"{name} printed nothing to its log"
        assert result["logs"][name], name
    printed = {n for n in UPSTREAM_OPS if result["logs"][n]}
    print(f"schedulers with output in their log: {sorted(printed)}")


def test_schedulers_lists_the_upstream_programs(guest):
    listing = case(guest, "upstream")["list"]
    assert listing["rc"] == 0, listing["stderr"]
    names = {line.split()[0] for line in listing["stdout"].splitlines()[2:]}
    assert names >= set(UPSTREAM_OPS) | {"scx_qmap"}


# --- one switch at a time, across processes; marked as ours in every process ------------------------
def test_a_second_switch_while_one_is_in_flight_is_refused(guest):
    result = case(guest, "concurrent")
    assert result["held"], "the first switch never showed in the lock file"
    second = result["second"]
    assert second["rc"] == 1
    assert re.fullmatch(r"scxtop: another switch is in flight \(pid \d+ switching to scx_tgate\): "
                        r"wait for it to finish, then switch again\n", second["stderr"]), second["stderr"]
    assert result["after_first"]["rc"] == 0


def test_a_stop_signal_waits_for_the_switch_in_flight(guest):
    """SIGTERM to `scxtop switch` while scx_tgate is still loading: it says it will stop once the
    switch has ended, finishes it (the kernel runs tgate), prints the outcome and exits 130."""
    result = case(guest, "concurrent")
    first = result["first"]
    assert result["alive_after_sigterm"], f"SIGTERM stopped the switch halfway: {first}"
    assert first["rc"] == 130, first
    assert "scxtop: SIGTERM: stopping once this switch has ended\n" in first["stderr"], first["stderr"]
    assert first["stderr"].endswith("scxtop: stopped by SIGTERM after the switch\n"), first["stderr"]
    assert first["stdout"].startswith("switched to scx_tgate (tgate)"), first
    assert result["after_sigterm"]["ops"] == "tgate", result["after_sigterm"]


def test_switches_by_another_scxtop_process_are_marked_ours(guest):
    events = case(guest, "concurrent")["events"]
    assert {(e["kind"], e["ops"], e["by_us"]) for e in events} == {("loaded", "tgate", True),
                                                                   ("unloaded", "tgate", True)}, events


# --- the dashboard in the guest -------------------------------------------------------------------
DASHBOARD_CYCLE = ("scx_flatcg", "scx_sdt", "scx_simple", "scx_tgate", "default")
"""What `n` steps through in the guest (harness.DASHBOARD_SCHEDULERS, then default)."""


def ejected(step: dict) -> list:
    """Ejections by the kernel's watchdog during a step: a starved emulated guest can miss its
    30 s limit under any scheduler, and the test must not call that scxtop's failure."""
    return [e for e in step["new_events"] if e[0] == "ejected"]


def stalled(step: dict) -> list:
    """Switches the kernel's watchdog undid right after enabling them ("runnable task stall"): the
    same starved emulated guest, caught within the switch instead of after it. scxtop must call
    that a failed switch, with the kernel's reason, and put back what ran before."""
    return [e for e in step["new_events"] if e[0] == "switch_failed" and "runnable task stall" in e[3]]


def cycle_after(name: str, running: str) -> str:
    """The one after `name` in the dashboard's list, skipping the running one."""
    at = DASHBOARD_CYCLE.index(name)
    following = [DASHBOARD_CYCLE[(at + k) % len(DASHBOARD_CYCLE)] for k in range(1, len(DASHBOARD_CYCLE) + 1)]
    return next(n for n in following if n != running)


def test_n_in_the_dashboard_cycles_through_upstream_schedulers(guest):
    dash = case(guest, "dashboard")
    assert dash["rc"] == 0, dash["stderr"]
    steps = dash["steps"]
    assert [s["target"] for s in steps][-1] == "default", steps
    assert "scx_tgate" in [s["target"] for s in steps], steps
    failed_before = None
    for step in steps:
        # `n` goes to the one after what ran when it was pressed (after default: the first), or
        # after a failed switch to the one after the one that failed
        running = [name for name in DASHBOARD_CYCLE if UPSTREAM_OPS.get(name, name[4:]) == step["from"]]
        running_name = running[0] if running else "default"
        expected = cycle_after(failed_before or running_name, running_name)
        # ejected by the watchdog as `n` was pressed: the dashboard may have seen default by then
        allowed = {expected, DASHBOARD_CYCLE[0]} if [e for e in ejected(step) if e[1] == step["from"]] \
            else {expected}
        assert step["target"] in allowed, step
        failed = [e for e in stalled(step) if e[1] == step["target"]]
        target = step["target"]
        if failed:  # what ran when `n` was pressed runs again: one enable for the stalled one, one back
            ops, enables = step["from"], 1 + (1 if step["from"] else 0)
        else:
            ops = None if target == "default" else UPSTREAM_OPS.get(target, target[4:])
            enables = 1 if ops else 0
        assert step["state"][:2] == (["enabled", ops] if ops else ["disabled", None]), step
        assert step["state"][2] == step["seq_before"] + enables, step
        assert all(by_us for kind, _ops, by_us, _detail in step["new_events"] if kind != "ejected"), step
        failed_before = step["target"] if failed else None
    ran = [s["target"] for s in steps if s["state"][0] == "enabled"]
    assert len(ran) >= 2, f"fewer than two schedulers ran in the dashboard: {steps}"
    print("dashboard switch times (s): " + ", ".join(f"{s['target']} {s['seconds']:.1f}" for s in steps)
          + "; ejected by the watchdog: " + str([e for s in steps for e in ejected(s)])
          + "; stalled as they were enabled: " + str([e for s in steps for e in stalled(s)]))


def test_the_dashboard_allows_one_switch_at_a_time(guest):
    steps = case(guest, "dashboard")["steps"]
    gated = [step for step in steps if step["target"] == "scx_tgate"]
    assert len(gated) == 1, steps
    step = gated[0]  # in flight until the guest opened scx_tgate's gate
    assert step["in_flight_seen"] and step["screen_says"], step
    assert step["n_allowed_in_flight"] is None and step["s_allowed_in_flight"] is None, step
    # `n`, `s`, `n` pressed mid-switch started nothing and opened no picker: still the one switch,
    # and exactly one enable for it (checked against enable_seq in the cycle test above)
    assert step["switching_after_keys"] == "scx_tgate" and step["screen_after_keys"] == "Screen", step
    assert all(s["n_allowed_after"] is True for s in steps), steps


def test_the_dashboard_shows_the_running_schedulers_output(guest):
    steps = [s for s in case(guest, "dashboard")["steps"]
             if s["target"] != "default" and not ejected(s) and not stalled(s)]
    assert steps
    for step in steps:
        assert step["output_shown"], f"{step['state'][1]}: {step.get('output')} not in\n{step['panel']}"
