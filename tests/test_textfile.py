"""node_exporter's textfile format, written atomically: a concurrent reader only ever sees whole
files, nothing follows a symbolic link, failures are one line and leave no temporary file."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text
from samples import full_sample
from tui.synthetic import samples as synthetic_samples

from scxtop.export.textfile import TextfileError, TextfileWriter


def test_the_file_is_in_node_exporters_text_format(tmp_path: Path):
    path = tmp_path / "scxtop.prom"
    writer = TextfileWriter(path)
    writer.write(full_sample(0))
    writer.write(full_sample(1))
    writer.close()
    text = path.read_text()
    families = list(parse_text(text))
    assert text.endswith("\n") and "# EOF" not in text  # Prometheus text 0.0.4, not OpenMetrics
    assert all(s.timestamp is None for f in families for s in f.samples)  # the textfile collector refuses
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    assert {"scxtop_cpu_runqueue_length", "scxtop_cpu_context_switches", "scxtop_wakeup_latency_seconds",
            "scxtop_sched_ext_state", "scxtop_sched_ext_ops_info"} <= set(names)
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    if shutil.which("promtool"):  # the same parser node_exporter uses (expfmt), with the naming lint
        done = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                              timeout=60)
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_a_concurrent_reader_only_ever_sees_whole_files(tmp_path: Path):
    """Intervals alternate between 2 and 64 CPUs (files of very different sizes); a reader
    loops over the file meanwhile. Every read must parse and hold exactly 2 or 64 CPU rows."""
    path = tmp_path / "scxtop.prom"
    small, big = synthetic_samples(1, 2)[0], synthetic_samples(1, 64)[0]
    writer = TextfileWriter(path)
    writer.write(small)
    done = threading.Event()
    reads: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not done.is_set() and len(reads) < 20000:
            text = path.read_text()
            try:
                rows = [s for f in parse_text(text) if f.name == "scxtop_cpu_runqueue_length"
                        for s in f.samples]
            except ValueError as err:
                errors.append(f"{err}: {text[-200:]!r}")
                return
            reads.append(len(rows))

    thread = threading.Thread(target=reader)
    thread.start()
    inodes = set()
    try:
        for i in range(60):
            writer.write(big if i % 2 else small)
            inodes.add(path.stat().st_ino)
    finally:
        done.set()
        thread.join(timeout=60)
        writer.close()
    assert not errors, errors[:3]
    assert reads and set(reads) <= {2, 64}, sorted(set(reads))
    assert len(inodes) > 1  # replaced by rename, never rewritten in place
    assert sorted(os.listdir(tmp_path)) == ["scxtop.prom"]  # no temporary file left


def test_a_symbolic_link_at_the_path_is_refused_and_its_target_untouched(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "scxtop.prom"
    link.symlink_to(victim)
    with pytest.raises(TextfileError, match="symbolic link"):
        TextfileWriter(link)
    assert victim.read_text() == "precious\n" and link.is_symlink()


def test_a_symbolic_link_as_the_directory_is_refused(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    with pytest.raises(TextfileError, match="symbolic link"):
        TextfileWriter(tmp_path / "alias" / "scxtop.prom")
    assert os.listdir(real) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's symlink needs root")
def test_another_users_symlink_above_the_directory_is_refused(tmp_path: Path):
    """Only the last directory was opened with O_NOFOLLOW: --textfile /tmp/evil/sub/scxtop.prom,
    with /tmp/evil nobody's link, renamed files into wherever nobody pointed it."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    evil = tmp_path / "evil"
    evil.symlink_to(real)
    os.lchown(evil, 65534, -1)
    with pytest.raises(TextfileError, match=f"{evil} is a symlink owned by uid 65534"):
        TextfileWriter(evil / "sub" / "scxtop.prom")
    shared = tmp_path / "shared"
    (shared / "sub").mkdir(parents=True)
    shared.chmod(0o777)
    with pytest.raises(TextfileError, match="writable by other users and not sticky"):
        TextfileWriter(shared / "sub" / "scxtop.prom")
    root_link = tmp_path / "mine"
    root_link.symlink_to(real)  # root's own link on the way is fine
    writer = TextfileWriter(root_link / "sub" / "scxtop.prom")
    writer.write(full_sample(0))
    writer.close()
    assert (real / "sub" / "scxtop.prom").exists()


def test_a_name_node_exporter_would_ignore_is_refused(tmp_path: Path):
    with pytest.raises(TextfileError, match=r"\.prom"):
        TextfileWriter(tmp_path / "scxtop.txt")


def test_a_missing_directory_is_a_one_line_error_naming_the_fix(tmp_path: Path):
    with pytest.raises(TextfileError) as err:
        TextfileWriter(tmp_path / "missing" / "scxtop.prom")
    assert "\n" not in str(err.value) and "create the directory" in str(err.value)


def test_a_full_disk_keeps_the_last_whole_file_and_leaves_no_temporary(tiny_disk: Path):
    path = tiny_disk / "scxtop.prom"
    writer = TextfileWriter(path)
    writer.write(synthetic_samples(1, 2)[0])
    before = path.read_bytes()
    with pytest.raises(TextfileError, match="free some space"):
        writer.write(synthetic_samples(1, 1024)[0])  # ~300 KB into 16 KiB
    writer.close()
    assert path.read_bytes() == before
    assert os.listdir(tiny_disk) == ["scxtop.prom"]
