"""The guest harness's own watchdog, on a real boot: a guest that does not reach its command by
the boot deadline is killed, whole, and counted as the machinery failing (booted again), not as a
test failing after the whole guest timeout. A CI run once hung in TCG's SMP bring-up for 40 min.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import harness

pytestmark = pytest.mark.vm


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    try:
        return harness.prepared_env()
    except harness.NotPrepared as err:
        pytest.skip(f"sched_ext guest not prepared: {err}")


def test_a_boot_that_reaches_the_command_is_not_stalled(env, tmp_path):
    run = harness.run_guest(env, ["true"], 600, tmp_path)
    assert run.returncode == 0, run.output[-2000:]
    assert not run.stalled_at_boot and not harness.boot_failed(run)
    assert harness.BOOTED.decode() in run.output
    assert not run.leftover


def test_a_boot_past_its_deadline_is_killed_and_booted_again(env, tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "BOOT_DEADLINE_S", 2.0)  # qemu cannot reach init in 2 s (13 s quiet)
    run = harness.run_guest(env, ["true"], 600, tmp_path)
    assert run.stalled_at_boot, run.output[-2000:]
    assert run.returncode is None
    assert harness.boot_failed(run)
    assert harness.BOOTED.decode() not in run.output
    assert not run.leftover, "vng, qemu or virtiofsd outlived the kill"
