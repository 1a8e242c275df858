"""`scxtop serve` and `scxtop log --textfile` end to end: subprocesses on the real kernel, scraped
over real HTTP on loopback, stopped with real signals."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text
from serving import OPENMETRICS, ROOT, Serve, get, serving, wait_for
from workloads import bpf_skip_reason, catches, marked_env, processes_with

RECORDING = ROOT / "tests" / "fixtures" / "recordings" / "contention.jsonl"


def scxtop(*args: str, env: dict[str, str] | None = None, timeout: float = 120
           ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scxtop", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def one_line_error(done: subprocess.CompletedProcess, status: int = 2) -> str:
    assert done.returncode == status, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scxtop: "), done.stderr
    return lines[0]


def needs_bpf() -> None:
    if reason := bpf_skip_reason():
        pytest.skip(reason)


def bpftrace_children(mark: str) -> list[int]:
    found = []
    for pid in processes_with(mark):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"bpftrace"):
                found.append(pid)
    return found


def test_port_in_use_is_a_one_line_error_and_exit_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = scxtop("serve", "--listen", f"127.0.0.1:{port}", "--source", "procfs")
    line = one_line_error(done)
    assert "in use" in line and "--listen" in line


def test_serve_listens_on_loopback_unless_told_otherwise():
    from scxtop.cli import build_parser
    from scxtop.export.http import DEFAULT_LISTEN, parse_listen

    listen = build_parser().parse_args(["serve"]).listen
    assert listen == DEFAULT_LISTEN == "127.0.0.1:9617"
    assert parse_listen(listen).loopback
    assert not parse_listen("0.0.0.0:9617").loopback


@pytest.mark.parametrize("listen", [":9617", "localhost:9617", "127.0.0.1", "127.0.0.1:99999"])
def test_a_listen_address_must_be_explicit_and_numeric(listen: str):
    assert "--listen" in one_line_error(scxtop("serve", "--listen", listen, "--source", "procfs"))


def test_replay_is_served_in_both_formats_read_only_and_sigterm_exits_0():
    with serving("--source", f"replay:{RECORDING}") as server:
        page = get(server.url + "/")
        assert page.status == 200 and page.content_type.startswith("text/html")
        assert b'<a href="/metrics">' in page.body and b"replay" in page.body
        om = server.metrics(OPENMETRICS)
        assert om.content_type.startswith("application/openmetrics-text") and om.body.endswith(b"# EOF\n")
        text = server.metrics("text/plain;version=0.0.4")
        assert text.content_type.startswith("text/plain") and b"# EOF" not in text.body
        for reply in (om, text):
            assert reply.status == 200
            found = reply.series()
            assert ("scxtop_source_info", frozenset({("source", "replay")})) in found
            assert any(name == "scxtop_cpu_runqueue_length" for name, _ in found)
        for method in ("POST", "PUT", "DELETE"):
            assert get(server.url + "/metrics", method=method).status == 405
        assert get(server.url + "/switch").status == 404
        assert server.stop(signal.SIGTERM) == 0
    assert not any("Traceback" in line for line in server.stderr), server.stderr


def test_scrapes_of_one_interval_agree_whatever_the_scrape_rate():
    """The recording's interval is 1 s; ten scrapes inside one interval see the same counters."""
    with serving("--source", f"replay:{RECORDING}") as server:
        def interval_part(reply) -> bytes:
            return reply.body.split(b"# HELP scxtop_process_")[0]

        seen = {}
        for _ in range(10):
            reply = server.metrics()
            stamp = reply.series()[("scxtop_sample_timestamp_seconds", frozenset())]
            seen.setdefault(stamp, set()).add(interval_part(reply))
        assert all(len(bodies) == 1 for bodies in seen.values())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_stop_signal_at_the_first_moment_it_is_caught_exits_0(sig: signal.Signals):
    """A stop (systemctl stop right after start) that comes while serve is still importing, before
    its own handlers are in place, is noted from scxtop's first line and ends it cleanly: exit 0,
    not death by the signal."""
    env, mark = marked_env()
    command = [sys.executable, "-m", "scxtop", "serve", "--source", "procfs", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=env)
    try:
        while not catches(proc.pid, sig):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.001)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in stderr, (proc.returncode, stderr)
    assert processes_with(mark) == []


@pytest.mark.bpf
def test_sigterm_stops_bpftrace_and_exits_0():
    needs_bpf()
    env, mark = marked_env()
    server = Serve("--source", "bpftrace", env=env)
    try:
        server.wait_serving()
        assert bpftrace_children(mark)
    finally:
        status = server.stop(signal.SIGTERM)
    assert status == 0, "".join(server.stderr)
    assert processes_with(mark) == []


@pytest.mark.bpf
def test_a_scrape_during_a_bpftrace_restart_gets_the_last_interval_never_an_error():
    """Kill bpftrace under a running exporter: every scrape meanwhile answers 200 with the last
    good interval (or no series), the counters never go down, and collection resumes."""
    needs_bpf()
    env, mark = marked_env()
    with serving("--source", "bpftrace", "--interval", "0.5", env=env) as server:
        def counted():
            found = server.metrics().series()
            return found if ("scxtop_migrations_total", frozenset()) in found else None

        first = wait_for(counted, "a first interval with counters")
        stamp0 = first[("scxtop_sample_timestamp_seconds", frozenset())]
        [bpftrace] = bpftrace_children(mark)
        os.kill(bpftrace, signal.SIGKILL)
        last: dict[str, float] = {}
        restarted = False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            reply = server.metrics()
            assert reply.status == 200
            found = reply.series()
            for (name, labels), value in found.items():
                if name.endswith("_total") and not name.startswith("scxtop_process_"):
                    key = name + str(sorted(labels))
                    assert value >= last.get(key, 0), (name, labels, value, last.get(key))
                    last[key] = value
            if (found.get(("scxtop_source_restarts_total", frozenset()), 0) >= 1
                    and found[("scxtop_sample_timestamp_seconds", frozenset())] > stamp0 + 1
                    and bpftrace_children(mark) and bpftrace_children(mark) != [bpftrace]):
                restarted = True
                break
            time.sleep(0.1)
        assert restarted, "".join(server.stderr)[-2000:]
        assert any("starting it again" in line for line in server.stderr)
    assert server.proc.returncode == 0
    assert processes_with(mark) == []


def test_log_textfile_alone_writes_no_csv_and_leaves_a_parsable_file(tmp_path: Path):
    prom = tmp_path / "scxtop.prom"
    done = scxtop("log", "--source", f"replay:{RECORDING}", "--textfile", str(prom))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    families = {f.name: f for f in parse_text(prom.read_text())}
    assert "scxtop_cpu_runqueue_length" in families and "scxtop_wakeup_latency_seconds" in families
    assert sorted(os.listdir(tmp_path)) == ["scxtop.prom"]


def test_log_textfile_combines_with_csv_and_jsonl(tmp_path: Path):
    prom, csv, jsonl = tmp_path / "m.prom", tmp_path / "x.csv", tmp_path / "x.jsonl"
    done = scxtop("log", "--source", "procfs", "--interval", "0.3", "--duration", "0.9",
                  "--textfile", str(prom), "--csv", str(csv), "--jsonl", str(jsonl))
    assert done.returncode == 0, done.stderr
    assert len(csv.read_text().splitlines()) == 1 + 3
    assert len(jsonl.read_text().splitlines()) >= 3
    names = {f.name for f in parse_text(prom.read_text())}
    assert {"scxtop_cpu_runqueue_length", "scxtop_source_info"} <= names
    assert "scxtop_migrations" not in names  # procfs cannot see migrations: absent, not 0


def test_log_textfile_in_a_missing_directory_is_a_one_line_error(tmp_path: Path):
    missing = tmp_path / "nope" / "x.prom"
    line = one_line_error(scxtop("log", "--source", "procfs", "--textfile", str(missing)))
    assert "create the directory" in line


def test_log_textfile_in_a_read_only_directory_is_a_one_line_error(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    ro = tmp_path / "ro"
    ro.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(ro)], check=True)
    try:
        line = one_line_error(scxtop("log", "--source", "procfs", "--textfile", str(ro / "x.prom")))
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)
    assert "read-only" in line
