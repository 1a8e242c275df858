"""The probe programs on the bpftrace releases our users run: clean (no warning at all) on 0.17
(this machine), 0.23 (Debian trixie) and 0.27 (sid), as scxtop renders them for each.

The trixie and sid userlands are the cached chroots in /var/cache/scxtop-chroots (built by the
chroot tests; a `.ready` file marks one usable). bpftrace runs in them through scxtop's own
wrapper (BpftraceProcess), in a private mount namespace with /proc, /sys and /dev bound in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from workloads import bpf_skip_reason, pipe_writers

from scxtop.bpftrace import BpftraceProcess, ticks
from scxtop.bpftrace.btf import kernel_types
from scxtop.bpftrace.errors import meaningful_lines
from scxtop.bpftrace.process import bpftrace_version
from scxtop.bpftrace.programs import bpftrace_has, build, probe_path, render, untested_note
from scxtop.sources.bpftrace import PROBES

CHROOTS = Path("/var/cache/scxtop-chroots")
IN_CHROOT = """#!/bin/sh
exec unshare --mount --propagation private sh -c '
R=$1; shift
mount --rbind /proc "$R/proc" && mount --rbind /sys "$R/sys" && mount --rbind /dev "$R/dev" || exit 125
exec chroot "$R" env TMPDIR=/tmp bpftrace "$@"' sh {root} "$@"
"""


def test_delete_keeps_its_value_from_0_24_and_plain_before():
    text = probe_path("wakeup_latency").read_text()
    old = render(text, bpftrace_has((0, 17)))
    new = render(text, bpftrace_has((0, 27)))
    assert "\t\tdelete(@wake_ts[args->next_pid]);\n" in old and "!delete" not in old
    assert "\t\tif (!delete(@wake_ts[args->next_pid])) {}\n" in new
    assert "//@" not in old + new


def test_versions_outside_the_tested_range_are_named():
    assert untested_note((0, 23)) is None and untested_note((0, 17)) is None
    assert untested_note((0, 28)) == "bpftrace 0.28 untested (scxtop is tested with 0.17, 0.23, 0.27)"
    assert "0.16 untested" in untested_note((0, 16))


def bpftrace_binary(suite: str, tmp_path: Path) -> str | None:
    if suite == "bookworm":
        return shutil.which("bpftrace")
    root = CHROOTS / suite
    if not (root / ".ready").exists():
        pytest.skip(f"no {suite} chroot ({root}/.ready missing): the chroot tests build it")
    wrapper = tmp_path / f"bpftrace-{suite}"
    wrapper.write_text(IN_CHROOT.format(root=root))
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.bpf
@pytest.mark.parametrize("suite,version", [("bookworm", "0.17"), ("trixie", "0.23"), ("sid", "0.27")])
def test_the_combined_program_is_clean_and_reports(suite: str, version: str, tmp_path: Path):
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)
    binary = bpftrace_binary(suite, tmp_path)
    found = bpftrace_version(binary)
    assert f"{found.major}.{found.minor}" == version
    types = kernel_types()

    def has(feature: str) -> bool:
        if feature.startswith("bpftrace "):
            return bpftrace_has((found.major, found.minor))(feature)
        return bool(types and types.has(feature))

    program = build(PROBES, 0.5, has)
    with pipe_writers(2), BpftraceProcess(program, binary=binary) as proc:
        assert proc.wait_attached() is not None, proc.stderr_text()
        stream = ticks(proc.records())
        reports = [next(stream) for _ in range(2)]  # a baseline, then a report
        assert any("@wakeup_us" in t.maps for t in reports)
        stderr = proc.stderr_text()
    assert meaningful_lines(stderr) == [], stderr
