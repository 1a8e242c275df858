"""Discovery of switchable schedulers (PATH, config, default) and the safety rules for running them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scxtop.model import SchedExtState
from scxtop.sched_ext import discovery, safety
from scxtop.sched_ext.config import parse
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.types import DEFAULT_SCHEDULER


def make_program(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/false\n")
    path.chmod(mode)
    return path


@pytest.fixture
def bins(tmp_path):
    tmp_path.chmod(0o755)
    a, b = tmp_path / "a", tmp_path / "b"
    make_program(a / "scx_alpha")
    make_program(a / "scx_beta")
    make_program(b / "scx_alpha")  # shadowed by a/scx_alpha, like a shell would
    make_program(b / "scx_gamma")
    make_program(b / "scx_loader")  # manages schedulers, is not one
    make_program(b / "scx_notexec", 0o644)
    make_program(b / "other_tool")
    for d in (a, b):
        d.chmod(0o755)
    return a, b


def test_path_schedulers_first_directory_wins(bins):
    a, b = bins
    found = discovery.path_schedulers(f"{a}:{b}:relative/dir:/nonexistent")
    assert [(e.name, e.program) for e in found] == [
        ("scx_alpha", a / "scx_alpha"), ("scx_beta", a / "scx_beta"), ("scx_gamma", b / "scx_gamma"),
    ]  # fmt: skip
    assert all(e.origin == "path" for e in found)


def test_unsafe_programs_are_not_offered(bins):
    a, b = bins
    (a / "scx_beta").chmod(0o757)  # writable by anyone
    b.chmod(0o777)  # directory writable by anyone: all of b is out
    names = [e.name for e in discovery.path_schedulers(f"{a}:{b}")]
    assert names == ["scx_alpha"]


@pytest.mark.parametrize(("mode", "words"), [(0o775, "writable by other users"), (0o644, "not executable")])
def test_unsafe_reason(tmp_path, mode, words):
    tmp_path.chmod(0o755)
    program = make_program(tmp_path / "scx_x", mode)
    assert words in safety.unsafe_reason(program)
    with pytest.raises(SwitchError, match="refusing to run"):
        safety.check_program(program)


def test_sticky_world_writable_parent_is_accepted(tmp_path):
    tmp_path.chmod(0o1777)
    inner = tmp_path / "bin"
    program = make_program(inner / "scx_x")
    inner.chmod(0o755)
    assert safety.unsafe_reason(program) is None
    assert "not an absolute path" in safety.unsafe_reason(Path("scx_x"))


def test_require_root_refuses_clearly(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SwitchError, match=r"needs root.*sudo") as err:
        safety.require_root()
    assert err.value.status == 1


@pytest.mark.parametrize(
    ("name", "ops", "match"),
    [
        ("scx_bpfland", "bpfland", True),
        ("scx_bpfland", "bpfland_1.0.8_g1234_x86_64", True),
        ("scx_lavd", "lavd", True),
        ("scx_lavd", "lavdx", False),
        ("scx_rusty", "bpfland", False),
        ("tfifo", "tfifo", True),
        ("scx_tfifo", None, False),
    ],
)
def test_ops_matches(name, ops, match):
    assert discovery.ops_matches(name, ops) is match


def test_merge_puts_default_first_config_before_path_and_marks_running(bins):
    a, _ = bins
    cfg = parse(f'[[scheduler]]\nname = "scx_alpha"\nprogram = "{a}/scx_alpha"\nargs = ["-k"]\n')
    entries = discovery.merge(discovery.config_schedulers(cfg), discovery.path_schedulers(str(a)))
    assert [(e.name, e.origin) for e in entries] == [
        (DEFAULT_SCHEDULER, "default"), ("scx_alpha", "config"), ("scx_beta", "path"),
    ]  # fmt: skip
    assert entries[1].args == ("-k",)
    on = SchedExtState(supported=True, state="enabled", ops="alpha_1.2")
    marked = discovery.mark(entries, on, {"scx_beta": 123.0})
    assert [e.running for e in marked] == [False, True, False]
    assert [e.last_switch for e in marked] == [None, None, 123.0]
    off = SchedExtState(supported=True, state="disabled")
    assert [e.running for e in discovery.mark(entries, off, {})] == [True, False, False]
    assert not any(e.running for e in discovery.mark(entries, SchedExtState(supported=False), {}))


def test_find_entry_accepts_short_names_and_lists_choices(bins):
    a, _ = bins
    entries = discovery.merge(discovery.path_schedulers(str(a)))
    assert discovery.find_entry(entries, "alpha").name == "scx_alpha"
    assert discovery.find_entry(entries, "default").program is None
    with pytest.raises(SwitchError, match=r"unknown scheduler 'scx_nope'.*default, scx_alpha, scx_beta"):
        discovery.find_entry(entries, "scx_nope")
    assert discovery.entry_for_ops(entries, "beta_0.1").name == "scx_beta"
    assert discovery.entry_for_ops(entries, "zeta") is None
