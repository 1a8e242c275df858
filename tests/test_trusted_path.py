"""Who may be run as root: every component of the path as given is checked (lstat), and what runs is
exactly what was checked.

Reproduces issue 12 case 2 on this machine: a symlink owned by `nobody` in a directory owned by
`nobody` was accepted, and a link swapped after the check ran the payload as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import time
from pathlib import Path

import pytest

from scxtop.sched_ext.config import Config
from scxtop.sched_ext.direct import DirectBackend
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.safety import check_program, unsafe_reason
from scxtop.sched_ext.types import SchedulerEntry
from scxtop.trusted_path import UntrustedPath, check_executable, recheck

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ownership by another user needs root (chown)")

TRUE = Path(shutil.which("true") or "/bin/true")


def nobody() -> int:
    return pwd.getpwnam("nobody").pw_uid


@pytest.fixture
def root_dir(tmp_path: Path) -> Path:
    """A directory only root can change (tmp_path's parents are root's, 0700 or sticky)."""
    d = tmp_path / "root"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    return d


def script(path: Path, marker: Path, word: str) -> Path:
    path.write_text(f"#!/bin/sh\necho {word} >> {marker}\n")
    path.chmod(0o755)
    return path


def test_a_nobody_symlink_in_a_nobody_directory_is_refused(root_dir: Path):
    planted = root_dir / "planted"
    planted.mkdir(mode=0o755)
    link = planted / "scx_evil"
    link.symlink_to(TRUE)
    os.chown(planted, nobody(), -1)
    os.lchown(link, nobody(), -1)
    assert "owned by uid" in (unsafe_reason(link) or "")
    with pytest.raises(SwitchError, match=f"refusing to run {link}: {planted} is owned by uid {nobody()}"):
        check_program(link)


def test_a_root_symlink_in_a_directory_nobody_owns_is_refused(root_dir: Path):
    planted = root_dir / "planted"
    planted.mkdir(mode=0o755)
    link = planted / "scx_x"
    link.symlink_to(TRUE)
    os.chown(planted, nobody(), -1)  # nobody can repoint the link at will
    assert unsafe_reason(link) == f"{planted} is owned by uid {nobody()}, not root"


def test_a_nobody_symlink_in_a_sticky_directory_is_refused(root_dir: Path):
    sticky = root_dir / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    link = sticky / "scx_x"
    link.symlink_to(TRUE)
    os.lchown(link, nobody(), -1)  # its owner may replace it, sticky bit or not
    assert unsafe_reason(link) == f"{link} is owned by uid {nobody()}, not root"
    os.lchown(link, 0, -1)
    assert unsafe_reason(link) is None  # root's entry in a sticky directory: nobody can rename it


def test_a_link_target_is_checked_component_by_component(root_dir: Path):
    planted = root_dir / "planted"
    (planted / "bin").mkdir(parents=True, mode=0o755)
    target = planted / "bin" / "scx_x"
    shutil.copy(TRUE, target)
    os.chown(planted, nobody(), -1)
    link = root_dir / "scx_x"
    link.symlink_to("planted/bin/../bin/scx_x")  # relative, with `..`
    assert unsafe_reason(link) == f"{planted} is owned by uid {nobody()}, not root"
    os.chown(planted, 0, -1)
    checked = check_executable(link)
    assert checked.resolved == target


def test_trusted_links_resolve_to_the_real_file(root_dir: Path):
    link = root_dir / "scx_true"
    link.symlink_to(TRUE)
    checked = check_executable(link)
    assert checked.resolved == TRUE.resolve()
    assert recheck(checked) == TRUE.resolve()


def test_loops_and_relative_paths_are_refused(root_dir: Path):
    (root_dir / "a").symlink_to("b")
    (root_dir / "b").symlink_to("a")
    assert "too many levels" in (unsafe_reason(root_dir / "a") or "")
    assert unsafe_reason(Path("bin/true")) == "bin/true is not an absolute path"


def _entry(program: Path) -> SchedulerEntry:
    return SchedulerEntry(name="scx_test", program=program, origin="config")


def _wait_for_lines(path: Path, count: int) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return path.read_text().splitlines()
        time.sleep(0.02)
    return path.read_text().splitlines() if path.exists() else []


def test_a_link_swapped_after_the_check_does_not_run_the_payload(root_dir: Path, tmp_path: Path):
    marker = tmp_path / "ran"
    good = script(root_dir / "good", marker, "good")
    evil = script(root_dir / "evil", marker, "evil")
    link = root_dir / "scx_test"
    link.symlink_to(good)
    backend = DirectBackend(Config(), path_env="", run_dir=tmp_path / "run")
    launch = backend.prepare(_entry(link), None)  # the check
    swap = root_dir / "swap"
    swap.symlink_to(evil)
    swap.replace(link)  # the swap, between the check and the start
    started = launch.start()
    assert started.popen.wait(timeout=30) == 0
    assert _wait_for_lines(marker, 1) == ["good"]


def test_a_file_replaced_after_the_check_is_refused(root_dir: Path, tmp_path: Path):
    marker = tmp_path / "ran"
    good = script(root_dir / "scx_test", marker, "good")
    backend = DirectBackend(Config(), path_env="", run_dir=tmp_path / "run")
    launch = backend.prepare(_entry(good), None)
    evil = script(root_dir / "evil", marker, "evil")
    evil.replace(good)  # a new inode at the checked path
    with pytest.raises(SwitchError, match="changed since it was checked"):
        launch.start()
    assert not marker.exists()


def test_untrusted_path_messages_are_one_line(root_dir: Path):
    with pytest.raises(UntrustedPath) as info:
        check_executable(root_dir / "missing")
    assert "\n" not in str(info.value) and "No such file" in str(info.value)


def test_an_untrusted_target_never_stops_the_running_scheduler(root_dir: Path, tmp_path: Path):
    """The check comes before anything is stopped: a refused program leaves the running scheduler
    as it was (a switch that stops it first and then refuses leaves the machine on the fair class)."""
    from scxtop.model import SchedExtState
    from scxtop.sched_ext.backend import Running
    from scxtop.sched_ext.switch import TransactionSwitcher

    planted = root_dir / "planted"
    planted.mkdir(mode=0o755)
    (planted / "scx_evil").symlink_to(TRUE)
    os.chown(planted, nobody(), -1)
    stopped: list[str] = []

    class Backend(DirectBackend):
        def entries(self) -> list[SchedulerEntry]:
            return [SchedulerEntry("scx_evil", planted / "scx_evil", origin="config")]

        def refused(self) -> list:
            return []

        def current(self, state, entries) -> Running:
            return Running(name="scx_old", ops="scx_old", restartable=False)

        def stop(self, running, timeout, progress) -> None:
            stopped.append(running.name)

    running = SchedExtState(supported=True, state="enabled", ops="scx_old", enable_seq=1)
    switcher = TransactionSwitcher(Backend(Config(), path_env="", run_dir=tmp_path / "run"),
                                   read=lambda: running, run_dir=tmp_path / "run", need_root=False)
    with pytest.raises(SwitchError, match=f"refusing to run {planted}/scx_evil"):
        switcher.switch("scx_evil", timeout=1.0)
    assert stopped == []
