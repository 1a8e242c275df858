"""Reading the config file as root: nobody else can steer it (issue 12, item 3), nor crash it.

Each case was accepted, hung or crashed before the file was opened once with O_NOFOLLOW, checked
with fstat, read from that descriptor, and its directories checked.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scxtop.configfile import MAX_BYTES, read_config
from scxtop.errors import ScxtopError
from scxtop.sched_ext import config
from scxtop.sched_ext.errors import ConfigError

NOBODY = 65534
EVIL = '[[scheduler]]\nname = "scx_evil"\nprogram = "/bin/sh"\n'
GOOD = '[[scheduler]]\nname = "scx_mine"\nprogram = "/usr/local/bin/scx_mine"\n'

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the files must belong to root "
                                "and to another user (chown)")


def root_dir(path: Path, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path


@needs_root
def test_a_symlink_owned_by_another_user_is_not_followed(tmp_path: Path):
    """The flipping-symlink attack: a nobody-owned link could point anywhere at any moment."""
    home = root_dir(tmp_path / "etc")
    (home / "good.toml").write_text(GOOD)
    link = home / "config.toml"
    link.symlink_to(home / "good.toml")
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match="symlink owned by uid 65534"):
        config.load(link)


@needs_root
def test_a_symlink_root_owns_in_root_directories_is_followed(tmp_path: Path):
    home = root_dir(tmp_path / "etc")
    (home / "good.toml").write_text(GOOD)
    (home / "config.toml").symlink_to("good.toml")
    assert [s.name for s in config.load(home / "config.toml").schedulers] == ["scx_mine"]


def test_a_symlinked_directory_we_own_on_the_way_is_followed(tmp_path: Path):
    """A directory on the way opened with O_DIRECTORY|O_NOFOLLOW fails with ENOTDIR, not ELOOP, when
    it is a symlink: /etc/scxtop -> /opt/scxtop/etc was refused as 'not a directory'."""
    real = root_dir(tmp_path / "opt" / "etc")
    (real / "config.toml").write_text(GOOD)
    (tmp_path / "etc").symlink_to(real)
    assert [s.name for s in config.load(tmp_path / "etc" / "config.toml").schedulers] == ["scx_mine"]
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="file: not a directory"):
        config.load(tmp_path / "file" / "config.toml")


@needs_root
def test_a_root_file_in_a_directory_others_can_write_is_refused(tmp_path: Path):
    """Anyone who can write the directory can swap the file between the check and the read."""
    shared = root_dir(tmp_path / "shared", 0o777)
    (shared / "config.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match=r"shared: writable by other users \(chmod go-w"):
        config.load(shared / "config.toml")
    shared.chmod(0o1777)  # sticky, as /tmp: others cannot rename root's file
    assert len(config.load(shared / "config.toml").schedulers) == 1


@needs_root
def test_a_directory_owned_by_another_user_is_refused(tmp_path: Path):
    theirs = root_dir(tmp_path / "theirs")
    os.chown(theirs, NOBODY, NOBODY)
    mine = root_dir(theirs / "mine")
    (mine / "config.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="theirs: owned by uid 65534, not root"):
        config.load(mine / "config.toml")


@needs_root
def test_sudo_E_does_not_take_a_users_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`sudo -E scxtop` keeps the user's HOME and XDG_CONFIG_HOME: their config is not root's."""
    home = root_dir(tmp_path / "alice")
    os.chown(home, NOBODY, NOBODY)
    conf = root_dir(home / ".config" / "scxtop")
    for d in (home / ".config", conf):
        os.chown(d, NOBODY, NOBODY)
    (conf / "config.toml").write_text("[dashboard]\nconfirm_switch = false\n")
    os.chown(conf / "config.toml", NOBODY, NOBODY)
    monkeypatch.delenv("SCXTOP_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SUDO_USER", "alice")
    with pytest.raises(ConfigError, match="owned by uid 65534, not root"):
        config.load()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    os.chown(conf / "config.toml", 0, 0)  # root's file, in the user's directories: still theirs to swap
    with pytest.raises(ConfigError, match="owned by uid 65534, not root"):
        config.load()


@needs_root
def test_sudo_E_without_a_config_in_the_users_home_starts_with_defaults(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    """Only a config that is there is refused: `sudo -E scxtop` by a user without one stopped with
    'not trusting /home/alice: owned by uid ...' before the dashboard started."""
    from scxtop.settings import load_settings

    home = root_dir(tmp_path / "alice")
    os.chown(home, NOBODY, NOBODY)
    monkeypatch.delenv("SCXTOP_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    assert config.load().schedulers == () and load_settings().dashboard.confirm_switch
    (home / ".config").mkdir()
    (home / ".config" / "scxtop").mkdir()
    (home / ".config" / "scxtop" / "config.toml").write_text(GOOD)  # root's file, their directory
    with pytest.raises(ConfigError, match="alice: owned by uid 65534"):
        config.load()
    # a root home with their symlink on the way: nothing at its end is no config, something is refused
    bob = root_dir(tmp_path / "bob")
    elsewhere = root_dir(tmp_path / "elsewhere")
    (bob / ".config").symlink_to(elsewhere)
    os.lchown(bob / ".config", NOBODY, NOBODY)
    monkeypatch.setenv("HOME", str(bob))
    assert config.load().schedulers == ()
    (root_dir(elsewhere / "scxtop") / "config.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="a symlink owned by uid 65534"):
        config.load()


def test_a_fifo_is_not_read(tmp_path: Path):
    """A FIFO planted as the config used to block the dashboard's start forever."""
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo, 0o600)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(_error_of(lambda: config.load(fifo))), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO as the config blocked"
    assert "not a regular file" in str(result[0])


def _error_of(call) -> object:
    try:
        return call()
    except ScxtopError as err:
        return err


def test_a_huge_config_is_refused_without_reading_it_all(tmp_path: Path):
    path = tmp_path / "config.toml"
    with path.open("wb") as f:
        f.truncate(MAX_BYTES * 64)
    with pytest.raises(ConfigError, match="larger than"):
        config.load(path)


@pytest.mark.parametrize("text", [
    "a = " + "[" * 5000 + "]" * 5000,
    "a = " + "{b = " * 5000 + "1" + "}" * 5000,
], ids=["arrays", "inline-tables"])
def test_deeply_nested_toml_is_a_one_line_error(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert "nested too deeply" in str(err.value) and "\n" not in str(err.value)


def test_missing_directories_mean_no_config(tmp_path: Path):
    assert read_config(tmp_path / "no" / "such" / "config.toml") is None


def test_not_utf8_names_the_line(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"[dashboard]\nconfirm_switch = true\ntheme = \"\xff\"\n")
    with pytest.raises(ConfigError, match=r"config.toml:3: not UTF-8"):
        config.load(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(["[dashboard]", "[keys]", "[[scheduler]]", "[scheduler.modes]",
                              "confirm_switch = ", "name = ", "program = ", "args = ", "gaming = ",
                              "interval = ", "theme = ", "quit = ", '"/bin/x"', '"x"', "true", "1",
                              "-1e999", "nan", "[", "]", "{", "}", ",", "\n", '"scx_a"', "[]"]),
             max_size=60).map("".join),
))
def test_fuzz_the_config_parser_gives_a_config_or_one_line_error(text: str):
    """Whatever the bytes, the result is a config or a one-line ScxtopError, never a traceback."""
    from scxtop.settings import parse_settings

    for parse in (config.parse, parse_settings):
        try:
            parse(text)
        except ScxtopError as err:
            assert "\n" not in str(err).strip()
