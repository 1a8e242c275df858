"""Files scxtop writes as root: no writing through a planted symlink, no truncating another user's
file in /tmp, and private run directories whatever the umask (issue 12 case 4).

fs.protected_symlinks may be 1 on a machine (the kernel then refuses to follow a link another user
owns in a sticky directory by itself): the O_NOFOLLOW cases below use links that sysctl would not
stop (root's own link, a non-sticky directory), so they test scxtop and not the sysctl.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from scxtop.recording.common import RecordError
from scxtop.recording.sink import RowSink
from scxtop.sched_ext import journal
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.rundir import private_dir

ROOT = Path(__file__).resolve().parent.parent
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="planting files as another user needs root")


def nobody() -> int:
    return pwd.getpwnam("nobody").pw_uid


@pytest.fixture
def sticky(tmp_path: Path) -> Path:
    d = tmp_path / "tmp"
    d.mkdir()
    d.chmod(0o1777)
    return d


def secret(path: Path) -> Path:
    path.write_text("root's secret\n")
    path.chmod(0o600)
    return path


def log_csv_to(path: Path) -> subprocess.CompletedProcess[str]:
    """`scxtop log` for 0.2 s of procfs samples into the CSV `path`, as root runs it."""
    return subprocess.run([sys.executable, "-m", "scxtop", "log", "--source", "procfs", "--interval", "0.1",
                           "--duration", "0.2", "--csv", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@needs_root
def test_log_csv_does_not_follow_a_planted_symlink(tmp_path: Path, sticky: Path):
    target = secret(tmp_path / "shadow")
    link = sticky / "x.csv"
    link.symlink_to(target)
    os.lchown(link, nobody(), -1)
    done = log_csv_to(link)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "symlink" in done.stderr, done.stderr
    assert target.read_text() == "root's secret\n"


def test_writes_never_follow_a_symlink(tmp_path: Path):
    target = secret(tmp_path / "file")
    link = tmp_path / "out.csv"
    link.symlink_to(target)  # root's own link in root's own directory: protected_symlinks allows it
    with pytest.raises(RecordError, match="is a symlink"):
        RowSink(link)
    assert target.read_text() == "root's secret\n"


@needs_root
def test_another_users_file_in_a_sticky_directory_is_not_truncated(sticky: Path):
    planted = sticky / "x.csv"
    planted.write_text("nobody's\n")
    os.chown(planted, nobody(), -1)
    with pytest.raises(RecordError, match="owned by uid"):
        RowSink(planted)
    assert planted.read_text() == "nobody's\n"


def test_a_hard_link_to_roots_file_in_a_sticky_directory_is_not_truncated(tmp_path: Path, sticky: Path):
    """A hard link is no symlink: O_NOFOLLOW opens it, and it is root's file, so the owner check
    passes too. Where fs.protected_hardlinks=0 any user can link /etc/shadow as /tmp/x.csv (root
    plants it here, which the sysctl never stops); `scxtop log --csv` used to truncate the file."""
    target = secret(tmp_path / "shadow")
    planted = sticky / "x.csv"
    os.link(target, planted)
    done = log_csv_to(planted)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "2 hard links" in done.stderr, done.stderr
    assert target.read_text() == "root's secret\n"


@needs_root
def test_log_csv_does_not_follow_another_users_symlink_on_the_way(tmp_path: Path):
    """O_NOFOLLOW guards only the last component: /tmp/evil/x.csv, where /tmp/evil is nobody's
    link to a directory of root's, truncated root's x.csv there. The link sits in a directory that
    is not sticky, so fs.protected_symlinks would not stop it either."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    target = secret(private / "x.csv")
    evil = tmp_path / "evil"
    evil.symlink_to(private)
    os.lchown(evil, nobody(), -1)
    done = log_csv_to(evil / "x.csv")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and f"{evil} is a symlink owned by uid {nobody()}" in done.stderr, \
        done.stderr
    assert done.stdout == ""
    assert target.read_text() == "root's secret\n"


def test_a_directory_others_can_write_is_refused_on_the_way(tmp_path: Path):
    """Anyone could have put (or later swap in) the next component of a world-writable directory
    that is not sticky; /tmp itself (sticky) stays fine."""
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    shared.chmod(0o777)
    for where in (shared / "x.csv", shared / "sub" / "x.csv"):
        with pytest.raises(RecordError, match=f"{shared} is writable by other users and not sticky"):
            RowSink(where)
        assert not where.exists()


@needs_root
def test_a_directory_swapped_for_a_symlink_after_the_check_is_not_followed(tmp_path: Path, sticky: Path,
                                                                           monkeypatch: pytest.MonkeyPatch):
    """nobody owns /tmp/evil, a real directory, and swaps it for a link to root's directory right
    before the file is opened (made deterministic here: the swap runs inside the open). The file
    must be created in the directory that was checked, not wherever the path points by then."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    target = secret(private / "x.csv")
    evil = sticky / "evil"
    evil.mkdir()
    os.chown(evil, nobody(), -1)
    real_open = os.open

    def racing_open(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        if os.path.basename(path) == "x.csv" and not (sticky / "evil.old").exists():
            evil.rename(sticky / "evil.old")
            evil.symlink_to(private)
            os.lchown(evil, nobody(), -1)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", racing_open)
    sink = RowSink(evil / "x.csv")
    sink.write_line("a,b")
    sink.close()
    monkeypatch.undo()
    assert target.read_text() == "root's secret\n"
    assert (sticky / "evil.old" / "x.csv").read_text() == "a,b\n"


@needs_root
def test_not_as_root_our_own_symlinks_on_the_way_are_followed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch):
    """Run as a user, scxtop trusts root's links and that user's own, nobody else's (the uid is
    faked: the files are planted as root)."""
    real = tmp_path / "real"
    real.mkdir()
    for name, owner in (("root", 0), ("mine", nobody()), ("theirs", nobody() - 1)):
        (tmp_path / name).symlink_to(real)
        os.lchown(tmp_path / name, owner, -1)
    monkeypatch.setattr(os, "geteuid", lambda: nobody())
    for name in ("root", "mine"):
        sink = RowSink(tmp_path / name / f"{name}.csv")
        sink.write_line("x")
        sink.close()
        assert (real / f"{name}.csv").read_text() == "x\n"
    with pytest.raises(RecordError, match=f"theirs is a symlink owned by uid {nobody() - 1}"):
        RowSink(tmp_path / "theirs" / "x.csv")


def test_a_directory_we_may_search_but_not_list_is_walked(tmp_path: Path):
    """A user writing below a 0711 directory (a home directory on some systems): open(2) passes
    it, and so must the walk (O_PATH; O_RDONLY would need read permission). Run as nobody with the
    system's python3 (scxtop.output_dir is standard library only): nobody cannot run the venv's."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if os.geteuid() != 0 or not shutil.which("setpriv") or not python:
        pytest.skip("needs root, setpriv and /usr/bin/python3")
    base = Path(tempfile.mkdtemp(dir="/tmp"))  # tmp_path's parents are 0700: nobody cannot pass
    try:
        base.chmod(0o711)
        (base / "out").mkdir(mode=0o1777)
        (base / "out").chmod(0o1777)
        script = ("import importlib.util, os, sys\n"
                  "spec = importlib.util.spec_from_file_location('output_dir', sys.argv[1])\n"
                  "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
                  "fd, name = module.open_parent(sys.argv[2])\n"
                  "os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644, dir_fd=fd))\n")
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", python, "-c",
                               script, str(ROOT / "scxtop" / "output_dir.py"), str(base / "out" / "x.csv")],
                              capture_output=True, text=True, timeout=60, cwd="/")
        if "Permission denied" in done.stderr and "output_dir.py" in done.stderr.splitlines()[-1]:
            pytest.skip("nobody cannot read this checkout")
        assert done.returncode == 0, done.stderr
        assert (base / "out" / "x.csv").stat().st_uid == nobody()
    finally:
        shutil.rmtree(base)


def test_ordinary_output_paths_still_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A relative path, a directory reached through our own symlink, a path with '..', a sticky
    directory such as /tmp, and a directory we own."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "rel").symlink_to("real")
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    monkeypatch.chdir(tmp_path)
    for where, written in ((Path("out.csv"), tmp_path / "out.csv"),
                           (Path("real/../real/a.csv"), real / "a.csv"),
                           (tmp_path / "link" / "b.csv", real / "b.csv"),
                           (Path("rel/c.csv"), real / "c.csv"),
                           (sticky / "d.csv", sticky / "d.csv")):
        sink = RowSink(where)
        sink.write_line("x")
        sink.close()
        assert written.read_text() == "x\n", where


def test_own_files_and_devices_are_still_written(sticky: Path, tmp_path: Path):
    mine = sticky / "mine.csv"
    mine.write_text("old contents that must go\n")
    sink = RowSink(mine)
    sink.write_line("a,b")
    sink.close()
    assert mine.read_text() == "a,b\n"
    sink = RowSink(tmp_path / "new.csv")
    sink.write_line("x")
    sink.close()
    null = RowSink("/dev/null")
    null.write_line("x")
    null.close()


def test_a_fifo_planted_as_output_does_not_hang(sticky: Path):
    fifo = sticky / "x.csv"
    os.mkfifo(fifo)
    if os.geteuid() == 0:
        os.chown(fifo, nobody(), -1)
    with pytest.raises(RecordError):
        RowSink(fifo)


def test_run_dirs_are_created_0700_whatever_the_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        run = private_dir(tmp_path / "run")
        logs = private_dir(run / "logs")
    finally:
        os.umask(old)
    for d in (run, logs):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    journal.append(journal.SwitchRecord(1.0, "scx_x", None, True, 0.1, "direct", 1, "ok"), run)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700


def test_the_journal_creates_its_run_dir_0700(tmp_path: Path):
    old = os.umask(0)
    try:
        journal.append(journal.SwitchRecord(1.0, "scx_x", None, True, 0.1, "direct", 1, "ok"), tmp_path / "r")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o700
    assert journal.last_switch_times(tmp_path / "r") == {"scx_x": 1.0}


def test_a_run_dir_others_can_write_is_refused(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)
    with pytest.raises(SwitchError, match="writable by other users"):
        private_dir(run)
    journal.append(journal.SwitchRecord(1.0, "scx_x", None, True, 0.1, "direct", 1, "ok"), run)
    assert not (run / "switches.jsonl").exists()  # best effort: not written, and no crash


@needs_root
def test_a_run_dir_owned_by_another_user_or_a_symlink_is_refused(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    os.chown(run, nobody(), -1)
    with pytest.raises(SwitchError, match="owned by uid"):
        private_dir(run)
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(SwitchError, match="symlink"):
        private_dir(link)


def test_scheduler_logs_go_to_a_private_dir(tmp_path: Path):
    from scxtop.sched_ext.direct import DirectLaunch

    old = os.umask(0)
    try:
        started = DirectLaunch("scx_t", ("/bin/true",), tmp_path / "run" / "logs").start()
    finally:
        os.umask(old)
    started.popen.wait(timeout=30)
    for d in (tmp_path / "run", tmp_path / "run" / "logs"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "run" / "logs" / "scx_t.log").stat().st_mode) & 0o077 == 0


def test_the_scheduler_log_tail_is_read_bounded(tmp_path: Path):
    from scxtop.sched_ext.direct import tail

    log = tmp_path / "scx_noisy.log"
    with log.open("wb") as f:
        f.write(b"error: early\n")
        f.write(b"x" * (64 << 20))  # a scheduler printing without end, one 64 MB line
        f.write(b"\nload failed\n")
    shown = tail(log, 5)
    assert shown.endswith("load failed")
    assert len(shown) < 64 * 1024
