"""The scx_loader backend over real D-Bus: a private dbus-daemon and our org.scx.Loader service
(tests/vm/loader_service.py) simulating the kernel's /sys/kernel/sched_ext in a directory.

The transaction judges by that directory, as it judges by sysfs on a real kernel; the same
service drives real schedulers in the sched_ext guest (tests/vm).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workloads import stop_gently

from scxtop.kernel.scx_state import read_state
from scxtop.sched_ext import journal
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.loader import LoaderBackend, LoaderClient, loader_available
from scxtop.sched_ext.switch import TransactionSwitcher, make_switcher
from scxtop.sched_ext.types import Mode

SERVICE = Path(__file__).parent / "vm" / "loader_service.py"


@pytest.fixture
def bus(private_bus):
    return private_bus


@pytest.fixture
def loader(bus, tmp_path):
    """(bus address, fake sysfs dir) with the simulated org.scx.Loader serving on the bus."""
    sysfs = tmp_path / "sched_ext"
    service = subprocess.Popen(
        [sys.executable, str(SERVICE), "--address", bus, "--simulate", str(sysfs),
         "--supported", "scx_alpha,scx_beta,scx_broken,scx_refused", "--broken", "scx_broken",
         "--refused", "scx_refused"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert service.stdout.readline().strip() == "ready"
        yield bus, sysfs
    finally:
        stop_gently(service)
        service.stdout.close()
    assert service.returncode == 0


def switcher_for(bus: str, sysfs: Path, tmp_path: Path) -> TransactionSwitcher:
    return TransactionSwitcher(
        LoaderBackend(Config(), bus), read=lambda: read_state(sysfs), settle_s=0.3, run_dir=tmp_path / "run"
    )


def test_loader_is_found_only_where_it_runs(loader, bus, tmp_path):
    assert loader_available(bus)
    assert not loader_available(f"unix:path={tmp_path}/no-such-bus")
    assert make_switcher(Config(), bus).backend == "scx_loader"
    assert make_switcher(Config(), f"unix:path={tmp_path}/no-such-bus").backend == "direct"


def test_schedulers_come_from_supported_schedulers(loader, tmp_path):
    bus, sysfs = loader
    entries = switcher_for(bus, sysfs, tmp_path).schedulers()
    assert [(e.name, e.origin, e.running) for e in entries] == [
        ("default", "default", True), ("scx_alpha", "loader", False),
        ("scx_beta", "loader", False), ("scx_broken", "loader", False), ("scx_refused", "loader", False),
    ]  # fmt: skip
    assert entries[1].modes == tuple(Mode)


def test_switch_default_alpha_beta_default_confirmed_by_state(loader, tmp_path):
    bus, sysfs = loader
    switcher = switcher_for(bus, sysfs, tmp_path)
    client = LoaderClient(bus)
    steps: list[str] = []
    result = switcher.switch("scx_alpha", mode=Mode.GAMING, timeout=5, progress=steps.append)
    assert result.ok, result.message
    assert (result.previous, read_state(sysfs).ops) == ("default", "alpha_1.0.0")
    assert client.get("SchedulerMode") == Mode.GAMING
    assert "starting scx_alpha" in steps

    result = switcher.switch("beta", timeout=5)  # short name
    assert result.ok and result.previous == "scx_alpha"
    assert read_state(sysfs).ops == "beta_1.0.0" and client.get("CurrentScheduler") == "scx_beta"

    result = switcher.switch("default", timeout=5)
    assert result.ok and read_state(sysfs).state == "disabled"
    assert client.get("CurrentScheduler") == "unknown"
    ends = [r for r in journal.records(tmp_path / "run") if r.phase is journal.Phase.END]
    assert [r.target for r in ends] == ["scx_alpha", "scx_beta", "default"]
    begins = [r for r in journal.records(tmp_path / "run") if r.phase is journal.Phase.BEGIN]
    assert [(b.pid, b.started) for b in begins] == [(e.pid, e.started) for e in ends]  # paired
    assert all(e.pid == os.getpid() and e.ok and e.started <= e.time for e in ends)
    assert set(journal.last_switch_times(tmp_path / "run")) == {"scx_alpha", "scx_beta", "default"}


def test_scheduler_the_kernel_never_enables_is_rolled_back(loader, tmp_path):
    bus, sysfs = loader
    switcher = switcher_for(bus, sysfs, tmp_path)
    assert switcher.switch("scx_beta", mode=Mode.POWERSAVE, timeout=5).ok
    result = switcher.switch("scx_broken", timeout=1.0)
    assert not result.ok
    assert "did not enable scx_broken within 1s" in result.message
    assert result.restored == "scx_beta" and "scx_beta runs again" in result.message
    assert read_state(sysfs).ops == "beta_1.0.0"
    assert LoaderClient(bus).get("SchedulerMode") == Mode.POWERSAVE  # restored with its mode


def test_loader_refusing_to_start_is_rolled_back(loader, tmp_path):
    bus, sysfs = loader
    switcher = switcher_for(bus, sysfs, tmp_path)
    assert switcher.switch("scx_alpha", timeout=5).ok
    result = switcher.switch("scx_refused", timeout=5)
    assert not result.ok and result.restored == "scx_alpha"
    assert ("could not start scx_refused: scx_loader: StartScheduler failed: "
            "org.scx.Loader.Error.Failed failed to start scx_refused") in result.message
    assert read_state(sysfs).ops == "alpha_1.0.0"


def test_scheduler_not_started_by_the_loader_is_left_alone(loader, tmp_path):
    bus, sysfs = loader
    (sysfs / "state").write_text("enabled\n")  # someone else loaded one behind the loader's back
    (sysfs / "root").mkdir()
    (sysfs / "root" / "ops").write_text("other\n")
    with pytest.raises(SwitchError, match="not started by scx_loader"):
        switcher_for(bus, sysfs, tmp_path).switch("scx_alpha", timeout=2)
    assert read_state(sysfs).ops == "other"


def test_cli_uses_the_loader_on_the_system_bus(loader, tmp_path):
    bus, _ = loader
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus, "SCXTOP_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.run([sys.executable, "-m", "scxtop", "schedulers"], env=env,
                          capture_output=True, text=True, timeout=60)
    # The host kernel has no sched_ext, which the listing says; the loader's list is still shown.
    assert proc.returncode == 0, proc.stderr
    assert "scx_alpha" in proc.stdout and "loader" in proc.stdout
