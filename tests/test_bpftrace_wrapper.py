"""The bpftrace wrapper: record parsing (both JSON generations, from recorded output), program
building for kernels with and without optional features, stderr -> error classification, and
process clean-up (stop escalation, parent death)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from restricted import HIDE_DEBUGFS
from workloads import alive, bpf_skip_reason, wait_gone

from scxtop.bpftrace import (
    AttachedProbes,
    BpftraceError,
    BpftraceNotFound,
    BpftracePermissionError,
    BpftraceProcess,
    ErrorRecord,
    HistRecord,
    KernelLacksProbe,
    LostEvents,
    MapRecord,
    MemlockError,
    PrintfRecord,
    StatsRecord,
    TextRecord,
    Tick,
    TracefsNotMounted,
    UnknownRecord,
    ValueRecord,
    classify_stderr,
    find_bpftrace,
    parse_record,
    ticks,
)
from scxtop.bpftrace.btf import kernel_types, parse_btf
from scxtop.bpftrace.process import parse_version
from scxtop.bpftrace.programs import build, combine, interval_probe, probe_dir, render, split
from scxtop.errors import ScxtopError

FIXTURES = Path(__file__).parent / "fixtures" / "bpftrace"


@pytest.fixture
def bpf_ready() -> None:
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)


def records(name: str) -> list:
    lines = (FIXTURES / name).read_text().splitlines()
    return [r for r in map(parse_record, lines) if r is not None]


# ---- records -----------------------------------------------------------------------------------


def test_every_0_2x_record_shape_parses_to_its_type():
    recs = records("v0_2x_shapes.ndjson")
    kinds = [type(r) for r in recs]
    assert kinds == [
        AttachedProbes, AttachedProbes, MapRecord, MapRecord, MapRecord, MapRecord, MapRecord,
        HistRecord, HistRecord, StatsRecord, StatsRecord, StatsRecord, StatsRecord, PrintfRecord,
        TextRecord, ValueRecord, ValueRecord, ErrorRecord, ErrorRecord, LostEvents, UnknownRecord,
    ]
    assert recs[0] == AttachedProbes(1) and recs[1] == AttachedProbes(3)
    assert recs[19] == LostEvents(17)


def test_0_2x_values_big_ints_tuples_and_nulls():
    recs = records("v0_2x_shapes.ndjson")
    assert recs[2].entries[0].key == "" and recs[2].entries[0].value == 5
    assert recs[4].entries[0].key_fields(2) == ("bpftrace", "2")
    assert recs[5].entries[0].value == 2**64 - 1  # printed as a string by 0.2x
    assert recs[6].entries[0].value == (1, 2, "string", (4, 5))
    assert recs[16].value == {"m": 2, "n": {"i": 5, "f": None}}
    assert recs[12].entries[0][1].average is None  # null float


def test_0_2x_histograms_keyed_and_open_ended():
    recs = records("v0_2x_shapes.ndjson")
    flat, keyed = recs[7], recs[8]
    assert [(b.low, b.high, b.count) for b in flat.buckets()] == [(2, 3, 1), (4, 7, 0), (1024, 2047, 1)]
    curl = keyed.buckets("curl,3")
    assert curl[0].low is None and curl[0].high == -1
    assert curl[-1].high is None and curl[-1].count == 2


def test_stats_and_avg_maps():
    recs = records("v0_2x_shapes.ndjson")
    assert recs[9].entries == (("", recs[9].entries[0][1]),) and recs[9].entries[0][1].total == 12
    assert dict(recs[10].entries)["zsh"].average == 10
    assert dict(recs[11].entries)["d"].average == 4 and dict(recs[11].entries)["d"].count is None


def test_error_records_keep_message_and_location():
    recs = records("v0_2x_shapes.ndjson")
    helper, runtime = recs[17], recs[18]
    assert (helper.kind, helper.message, helper.helper, helper.retcode, helper.line) == (
        "helper_error", "Bad address", "probe_read", -14, 1)
    assert runtime.kind == "runtime_error" and runtime.message == "division by zero"


def test_blank_and_garbage_lines():
    assert parse_record("") is None and parse_record("\n") is None
    with pytest.raises(ValueError):
        parse_record('{"type": "map", "da')


def test_key_fields_keep_commas_in_the_last_string_field():
    rec = parse_record('{"type": "map", "data": {"@m": {"42,a,b c": 3}}}')
    assert rec.entries[0].key_fields(2) == ("42", "a,b c")


@pytest.mark.parametrize("fixture", ["v0_17_combined.ndjson", "v0_2x_combined.ndjson"])
def test_recorded_runs_give_one_tick_per_report_and_skip_the_exit_dump(fixture):
    recs = records(fixture)
    assert isinstance(recs[0], AttachedProbes) and recs[0].count >= 8
    reports = sum(1 for r in recs if isinstance(r, PrintfRecord) and r.text.startswith("scxtop-tick"))
    rq_maps = sum(1 for r in recs if isinstance(r, MapRecord) and r.name == "@rq")
    got = [t for t in ticks(recs) if not t.baseline]
    assert len(got) == reports
    assert rq_maps > reports  # bpftrace printed @rq once more at exit...
    counted = sum(e.value for t in got for e in t.entries("@rq"))
    in_reports = sum(e.value for t in got for e in t.maps["@rq"].entries)
    assert counted == in_reports  # ...and that dump is not counted
    assert all(t.nsecs > 0 for t in got)
    assert sum(1 for t in ticks(recs) if t.baseline) == 1


def test_both_generations_of_the_recording_parse_to_the_same_ticks():
    old, new = list(ticks(records("v0_17_combined.ndjson"))), list(ticks(records("v0_2x_combined.ndjson")))
    assert [t.nsecs for t in old] == [t.nsecs for t in new]
    assert [t.maps.keys() for t in old] == [t.maps.keys() for t in new]
    for a, b in zip(old, new, strict=True):
        for name in ("@mutex_edge", "@mutex_last"):
            la = sorted((e.key, e.value[0] & (2**64 - 1)) for e in a.entries(name))
            lb = sorted((e.key, e.value[0] & (2**64 - 1)) for e in b.entries(name))
            assert la == lb
    assert sum(t.lost_events for t in new) > 0


# ---- programs ----------------------------------------------------------------------------------

ANNOTATED = textwrap.dedent("""\
    profile:hz:99
    {
    \t$x = curtask->a;\t//@ without task_struct.a: $x = 0;
    \t//@ with struct scx_rq: @scx = sum($x);
    }

    interval:s:1
    {
    \tprint(@x);
    \t//@ with struct scx_rq: print(@scx);
    }
    """)


def test_render_switches_annotated_lines_by_kernel_features():
    with_all = render(ANNOTATED, lambda f: True)
    without = render(ANNOTATED, lambda f: False)
    assert "$x = curtask->a;" in with_all and "@scx = sum($x);" in with_all and "print(@scx);" in with_all
    assert "curtask->a" not in without and "$x = 0;" in without and "@scx" not in without


def test_combine_makes_one_report_block_at_the_interval():
    a = split("a", "k:a\n{\n}\n\ninterval:s:1\n{\n\tprint(@a);\n}\n")
    b = split("b", "k:b\n{\n}\n\ninterval:s:1\n{\n\tprint(@b);\n}\n")
    text = combine([a, b], 0.25)
    assert text.count("interval:") == 1 and "interval:ms:250" in text
    order = [text.index(s) for s in ("scxtop-tick", "print(@a)", "print(@b)", "scxtop-end")]
    assert order == sorted(order)
    assert interval_probe(2.0) == "interval:s:2"


def test_every_probe_file_has_a_report_block():
    files = sorted(probe_dir().glob("*.bt"))
    assert len(files) >= 5
    for f in files:
        split(f.stem, f.read_text())


def test_btf_reader_sees_this_kernels_types():
    types = kernel_types()
    if types is None:
        pytest.skip("this kernel exposes no BTF at /sys/kernel/btf/vmlinux")
    assert types.has("struct task_struct") and types.has("task_struct.pid")
    assert types.has("task_struct.__state") or types.has("task_struct.state")
    assert types.has("mutex.owner") and not types.has("struct no_such_struct_here")
    assert not types.has("task_struct.no_such_field")
    # struct page has five members; `mapping` and `lru` sit in anonymous unions inside them
    assert types.has("page.mapping") and types.has("page.lru")


def test_btf_reader_rejects_other_data():
    with pytest.raises(ValueError):
        parse_btf(b"\x00" * 64)


def test_btf_reader_refuses_a_type_section_cut_inside_a_struct():
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if not vmlinux.exists():
        pytest.skip("this kernel exposes no BTF at /sys/kernel/btf/vmlinux")
    blob = vmlinux.read_bytes()
    hdr_len = struct.unpack_from("<I", blob, 4)[0]
    type_off, _type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
    types = parse_btf(blob)
    members = types.members_at[types.by_name["task_struct"]]
    assert members is not None
    cut = members[0] + 12  # the type section ends inside task_struct's member list
    strings = blob[hdr_len + str_off : hdr_len + str_off + str_len]
    header = bytearray(blob[:hdr_len])
    struct.pack_into("<IIII", header, 8, 0, cut, cut, str_len)
    cut_blob = bytes(header) + blob[hdr_len + type_off : hdr_len + type_off + cut] + strings
    with pytest.raises(ValueError, match="cut short"):
        parse_btf(cut_blob)


def test_build_without_optional_features_drops_them():
    text = build(["runqueue", "mutex_waits"], 1.0, lambda f: False)
    code = text.split("*/")[-1]
    assert "rq_scx" not in code and "->scx" not in code and "blocked_on" not in code
    text = build(["runqueue", "mutex_waits"], 1.0, lambda f: True)
    assert "$rq->scx.nr_running" in text and "$o->blocked_on" in text


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "error", "fix"), [
    ("stderr_not_root.txt", BpftracePermissionError, "root"),
    ("stderr_no_caps.txt", BpftracePermissionError, "CAP_BPF"),
    ("stderr_missing_field.txt", KernelLacksProbe, "nofield"),
    ("stderr_missing_struct.txt", KernelLacksProbe, "scx_rq"),
    ("stderr_missing_tracepoint.txt", KernelLacksProbe, "sched:nope"),
])
def test_recorded_stderr_becomes_an_actionable_one_line_error(fixture, error, fix):
    err = classify_stderr((FIXTURES / fixture).read_text(), 1)
    assert type(err) is error and isinstance(err, ScxtopError)
    message = str(err)
    assert "\n" not in message and fix in message
    assert "RLIMIT_MEMLOCK" not in message  # 0.17's harmless warning is not blamed


def test_missing_tracepoint_without_tracefs_names_the_mount(tmp_path, monkeypatch):
    from scxtop.bpftrace import errors

    monkeypatch.setattr(errors, "TRACEFS", tmp_path)  # an empty directory: no events/
    err = classify_stderr((FIXTURES / "stderr_no_tracefs.txt").read_text(), 1)
    assert isinstance(err, TracefsNotMounted) and "mount -t tracefs" in str(err)


UNMOUNTED = """
from scxtop.bpftrace import BpftraceProcess
from scxtop.errors import ScxtopError
try:
    BpftraceProcess("tracepoint:sched:sched_switch { @c = count(); }").wait_attached()
except ScxtopError as e:
    print(type(e).__name__, e)
"""


@pytest.mark.bpf
def test_real_bpftrace_without_tracefs_says_mount_it(bpf_ready):
    """In a private mount namespace with tracefs unmounted: the real failure, end to end."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    script = f"umount /sys/kernel/tracing 2>/dev/null; {HIDE_DEBUGFS}; exec {sys.executable} -c '{UNMOUNTED}'"
    out = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("TracefsNotMounted") and "mount -t tracefs" in out.stdout


def test_map_creation_failing_on_an_old_kernel_blames_memlock():
    err = classify_stderr((FIXTURES / "stderr_no_caps.txt").read_text(), 1, kernel="5.4.0-150-generic")
    assert isinstance(err, MemlockError) and "ulimit -l unlimited" in str(err)


def test_unknown_failure_still_gives_one_line():
    err = classify_stderr("something odd\nERROR: the disk is on fire\n  ~~~~\n", 3)
    assert type(err) is BpftraceError and "the disk is on fire" in str(err) and "3" in str(err)


def test_missing_bpftrace_names_the_package(tmp_path):
    with pytest.raises(BpftraceNotFound, match="apt-get install bpftrace"):
        BpftraceProcess("BEGIN {}", binary=str(tmp_path / "no-bpftrace"))


def test_version_parsing():
    assert str(parse_version("bpftrace v0.17.0")) == "0.17.0"
    assert parse_version("bpftrace v0.24.1-rc").json_count_toplevel
    assert not parse_version("bpftrace v0.17.0").json_count_toplevel
    assert parse_version("nonsense") is None


# ---- process clean-up (a stand-in binary that ignores SIGINT) ----------------------------------


def fake_bpftrace(tmp_path: Path, body: str) -> str:
    script = tmp_path / "bpftrace"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


ATTACHED = """echo '{"type": "attached_probes", "data": {"probes": 1}}'"""
STUBBORN = f'trap "" INT TERM\n{ATTACHED}\nwhile :; do sleep 0.1; done'


def test_stop_escalates_to_sigkill_when_sigint_is_ignored(tmp_path):
    binary = fake_bpftrace(tmp_path, STUBBORN)
    proc = BpftraceProcess("BEGIN {}", binary=binary)
    assert proc.wait_attached() == AttachedProbes(1)
    assert proc.stop(grace_s=0.5) == -signal.SIGKILL
    assert not alive(proc.pid)
    assert proc.stop() == -signal.SIGKILL  # idempotent


def test_child_runs_in_its_own_process_group_with_memlock_raised(tmp_path):
    binary = fake_bpftrace(tmp_path, 'echo "{\\"type\\": \\"printf\\", \\"data\\": \\"$(ps -o pgid= $$) '
                                     '$(ulimit -l)\\"}"')
    with BpftraceProcess("BEGIN {}", binary=binary) as proc:
        (record,) = list(proc.records())
    pgid, memlock = record.text.split()
    assert int(pgid) == proc.pid != os.getpgid(0)
    hard = subprocess.run(["sh", "-c", "ulimit -H -l"], capture_output=True, text=True).stdout.strip()
    assert memlock == hard  # raised as far as allowed (infinity where CAP_SYS_RESOURCE permits)


def test_a_failing_start_raises_the_classified_error(tmp_path):
    message = "ERROR: bpftrace currently only supports running as the root user."
    binary = fake_bpftrace(tmp_path, f"echo '{message}' >&2\nexit 1")
    with pytest.raises(BpftracePermissionError, match="sudo"):
        BpftraceProcess("BEGIN {}", binary=binary).wait_attached()


KILLED_PARENT = """
import sys, time
from scxtop.bpftrace import BpftraceProcess
p = BpftraceProcess(sys.argv[1], binary=sys.argv[2] if len(sys.argv) > 2 else None)
p.wait_attached()
print(p.pid, flush=True)
time.sleep(600)
"""


def run_and_sigkill_parent(*args: str) -> int:
    parent = subprocess.Popen([sys.executable, "-c", KILLED_PARENT, *args], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    return child


def test_child_dies_with_a_sigkilled_parent(tmp_path):
    binary = fake_bpftrace(tmp_path, STUBBORN)
    assert wait_gone(run_and_sigkill_parent("BEGIN {}", binary))


@pytest.mark.bpf
def test_real_bpftrace_dies_with_a_sigkilled_parent(bpf_ready):
    child = run_and_sigkill_parent("tracepoint:sched:sched_switch { @c = count(); }")
    assert wait_gone(child)


@pytest.mark.bpf
def test_real_bpftrace_errors_are_classified(bpf_ready, tmp_path):
    with pytest.raises(KernelLacksProbe, match="does_not_exist"):
        BpftraceProcess("tracepoint:sched:sched_switch { @x = curtask->does_not_exist; }").wait_attached()
    nobody = shutil.which("setpriv")
    if nobody:
        wrapper = f"{nobody} --reuid=65534 --regid=65534 --clear-groups {find_bpftrace()}"
        script = tmp_path / "bpftrace-as-nobody"
        script.write_text(f'#!/bin/sh\nexec {wrapper} "$@"\n')
        script.chmod(0o755)
        with pytest.raises(BpftracePermissionError):
            BpftraceProcess("BEGIN { exit(); }", binary=str(script)).wait_attached()


# ---- merging blocks ----------------------------------------------------------------------------


def test_blocks_on_one_tracepoint_merge_into_one_with_predicates_as_ifs():
    from scxtop.bpftrace.merge import merge, parse_blocks

    text = (
        '/* a { comment } */\ntracepoint:s:x\n{\n\t@a = count(); // "}"\n}\n'
        'tracepoint:s:y,\ntracepoint:s:z\n/pid > 1/\n{\n\tprintf("}{");\n}\n'
        "tracepoint:s:x\n/@m[tid]/\n{\n\tif (1) { @b = count(); }\n}\n"
    )
    blocks = parse_blocks(text)
    assert [b.attach for b in blocks] == [("tracepoint:s:x",), ("tracepoint:s:y", "tracepoint:s:z"),
                                          ("tracepoint:s:x",)]
    assert blocks[1].predicate == "pid > 1" and blocks[2].predicate == "@m[tid]"
    merged = merge(blocks)
    assert merged.count("tracepoint:s:x") == 1
    assert "if (@m[tid]) {" in merged and "/pid > 1/" in merged and 'printf("}{")' in merged


def test_the_combined_program_attaches_one_block_per_tracepoint():
    from scxtop.bpftrace.merge import parse_blocks
    from scxtop.sources.bpftrace import PROBES

    blocks = parse_blocks(build(PROBES, 1.0, lambda f: False))
    attach = [a for b in blocks for a in b.attach]
    assert len(attach) == len(set(attach))
    assert attach.count("tracepoint:sched:sched_switch") == 1


SIGINT_PROBE = """#!{python}
import json, signal
print(json.dumps({{"type": "printf", "data": str(signal.getsignal(signal.SIGINT))}}), flush=True)
"""

IGNORING_PARENT = """
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell without job control starts `scxtop &`
from scxtop.bpftrace import BpftraceProcess
with BpftraceProcess("BEGIN {}", binary=sys.argv[1]) as proc:
    print(next(iter(proc.records())).text)
"""


def test_child_gets_sigint_back_even_when_scxtop_ignores_it(tmp_path):
    binary = tmp_path / "bpftrace"
    binary.write_text(SIGINT_PROBE.format(python=sys.executable))
    binary.chmod(0o755)
    out = subprocess.run([sys.executable, "-c", IGNORING_PARENT, str(binary)], capture_output=True, text=True)
    # Python replaces an inherited SIG_DFL with its own handler, but keeps an inherited SIG_IGN.
    assert "default_int_handler" in out.stdout, out.stdout + out.stderr


# ---- from recorded reports to Samples (the source's arithmetic, no kernel needed) ---------------


def fixture_samples(name: str):
    from scxtop.sources.bpftrace import BpftraceSource

    source = BpftraceSource(1.0)
    reports = [t for t in ticks(records(name)) if not t.baseline]
    # Recorded reports, read on time when they were recorded.
    return reports, [s for t in ticks(records(name)) if (s := source.sample(t, read_ns=t.nsecs)) is not None]


def test_recorded_reports_become_samples_with_exact_arithmetic():
    got_ticks, samples = fixture_samples("v0_17_combined.ndjson")
    assert len(samples) == len(got_ticks) >= 3
    (base,) = [t for t in ticks(records("v0_17_combined.ndjson")) if t.baseline]
    switches = {int(e.key): e.value for e in base.entries("@switches")}
    for tick, sample in zip(got_ticks, samples, strict=True):
        rq = {tuple(map(int, e.key.split(","))): e.value for e in tick.entries("@rq")}
        sums = {cpu: v for (cpu, field), v in rq.items() if field == 0}
        counts = {cpu: v for (cpu, field), v in rq.items() if field == 1}
        now = {int(e.key): e.value for e in tick.entries("@switches")}
        csw = {cpu: now.get(cpu, before) - before for cpu, before in switches.items()}
        switches.update(now)
        pairs = {tuple(map(int, e.key.split(","))): e.value for e in tick.entries("@mig")}
        for cpu in sample.cpus:
            assert cpu.rq == pytest.approx(sums.get(cpu.cpu, 0) / max(counts.values()))
            assert cpu.csw == csw[cpu.cpu] and cpu.csw > 0
            assert cpu.mig_in == sum(n for (_, d), n in pairs.items() if d == cpu.cpu)
            assert cpu.mig_out == sum(n for (s, _), n in pairs.items() if s == cpu.cpu)
            assert cpu.rq_scx is None  # recorded on a kernel without sched_ext
        assert sample.total_migrations == sum(pairs.values())
        assert sample.wakeup_latency.total == sum(b.count for b in tick.maps["@wakeup_us"].buckets())
        counts_by_pid = [m.count for m in sample.top_migrators]
        assert counts_by_pid == sorted(counts_by_pid, reverse=True)


def scx_tick(rq: dict[str, int | str]):
    record = parse_record(json.dumps({"type": "map", "data": {"@rq": rq}}))
    return Tick(nsecs=2_000_000_000, maps={"@rq": record})


def test_runqueue_sums_carry_the_scx_sum_in_their_high_half():
    """@rq[cpu, 0] = sum(nr_running + (scx.nr_running << 32)), @rq[cpu, 1] = sum(1), as 0.17
    (signed) and 0.2x (as a string when a double cannot hold it) print them."""
    from scxtop.sources.bpftrace import BpftraceSource, _runqueue

    source = BpftraceSource(1.0)
    source.has_scx, source.ncpu = True, 3
    tick = scx_tick({"0,0": (150 << 32) + 180, "0,1": 99, "1,0": str((99 << 32) + 99), "1,1": 99,
                     "2,0": (3 << 32) + 5, "2,1": 10, "bad,key": 7, "1": 4})
    cpus = source._cpus(tick, 1.0, ())
    assert [(c.rq, c.rq_scx) for c in cpus] == [
        (pytest.approx(180 / 99), pytest.approx(150 / 99)), (1.0, 1.0),
        (pytest.approx(5 / 99), pytest.approx(3 / 99)),  # idle (NOHZ): the busiest CPU's window
    ]
    assert all(c.rq_scx <= c.rq for c in cpus)
    signed = _runqueue(scx_tick({"0,0": ((2**31 + 7) << 32) + 3 - 2**64}).entries("@rq"))
    assert (signed.rq, signed.scx) == ({0: 3}, {0: 2**31 + 7})  # 0.17 prints sums as int64
    source.has_scx = False
    assert all(c.rq_scx is None for c in source._cpus(tick, 1.0, ()))
    source.close()


def test_recorded_mutex_waits_become_edges_between_the_pipe_writers():
    _, samples = fixture_samples("v0_17_combined.ndjson")
    edges = [e for s in samples for e in s.blocked]
    assert edges
    assert all(0 < e.lock < 2**64 for e in edges)  # 0.17's negative int64 read back as an address
    known = [e for e in edges if e.owner is not None]
    assert known and all(e.owner.tid > 0 and e.owner_state.value != "unknown" for e in known)
    assert any(e.waiter.comm.startswith("python") and e.owner.comm.startswith("python") for e in known)
    assert all(e.owner_state.value == "unknown" for e in edges if e.owner is None)
    assert all(s.chains is not None for s in samples)


def test_both_json_generations_give_the_same_samples():
    _, old = fixture_samples("v0_17_combined.ndjson")
    _, new = fixture_samples("v0_2x_combined.ndjson")

    def kernel_view(s):  # util and freq come from psutil/sysfs at the time of the call
        return ([(c.rq, c.rq_max, c.csw, c.mig_in, c.mig_out) for c in s.cpus],
                s.migrations, s.top_migrators, s.blocked, s.wakeup_latency)

    assert [kernel_view(s) for s in old] == [kernel_view(s) for s in new]
    assert sum(s.lost_events for s in new) > 0 == sum(s.lost_events for s in old)
