"""Host side of the sched_ext guest: find what prepare.sh installed, build the test schedulers,
boot the guest with virtme-ng and collect what it wrote.

Every guest run is bounded: vng's output is read through a pipe, and on timeout the whole vng
process group (vng, qemu, virtiofsd) is killed by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WORK = HERE / ".work"
CACHE = Path(os.environ.get("SCXTOP_VM_CACHE", "/var/cache/scxtop-vm"))
BIN = WORK / "bin"
BUILD = WORK / "build"
UPSTREAM_BIN = WORK / "upstream-bin"
"""The kernel's example schedulers (tools/sched_ext), copied from prepare.sh's cache: the guest
cannot see /var/cache (vng mounts fresh overlays on /var)."""
KCONFIG = BUILD / "kconfig"
"""The guest kernel's config: scx_central's libbpf reads /boot/config-$(uname -r)."""

UPSTREAM_SCHEDULERS = (
    "scx_simple", "scx_flatcg", "scx_pair", "scx_sdt", "scx_userland", "scx_central", "scx_cpu0",
    "scx_qmap",
)
"""Everything tools/sched_ext builds; scx_qmap is rejected by this kernel's verifier."""
DASHBOARD_BIN = WORK / "dash-bin"
DASHBOARD_SCHEDULERS = ("scx_flatcg", "scx_sdt", "scx_simple", "scx_tgate")
"""What `n` cycles through in the guest's dashboard (the share is read-only there: made here):
three upstream schedulers and our gated one, whose switch stays in flight until the guest opens
its gate. Not scx_pair: its start (over 60 s under emulation on a loaded host) adds nothing here."""
GATE = WORK / "results" / "tgate.open"
"""scx_tgate loads only once this file exists (tests/vm/guest.py makes it); in the guest's shared
output directory, the one place there it may write."""

FAST_BOOT = (
    "module_blacklist=kvm,kvm_amd,kvm_intel,irqbypass,ahci,libahci,libata,sr_mod,cdrom,sg,scsi_mod,"
    "scsi_common,i6300esb,watchdog,aesni_intel,gf128mul,evdev,serio_raw,qemu_fw_cfg,button"
)


@dataclass(frozen=True)
class TestScheduler:
    """One test program: `scx_<name>` built from `source` with ops name `name`."""

    name: str
    source: str
    default_args: tuple[str, ...] = ()

    @property
    def program(self) -> str:
        return f"scx_{self.name}"


SCHEDULERS = (
    TestScheduler("tfifo", "fifo.bpf.c"),
    TestScheduler("tdsq", "dsq.bpf.c"),
    TestScheduler("tbad", "bad.bpf.c"),
    TestScheduler("texit", "fifo.bpf.c", ("--exit-after", "0.3")),
    TestScheduler("tstall", "stall.bpf.c"),
    TestScheduler("tgate", "fifo.bpf.c", ("--gate", str(GATE))),
)


class NotPrepared(Exception):
    """prepare.sh has not run (or failed): the message says what is missing."""


def prepared_env() -> dict[str, str]:
    """KEY=VALUE lines prepare.sh wrote, checked to exist."""
    env_file = CACHE / "env"
    if not env_file.exists():
        raise NotPrepared(f"{env_file} missing: run tests/vm/prepare.sh as root")
    env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    for key in ("VMLINUZ", "VMLINUX_H", "LIBBPF_SO", "VNG", "CLANG", "SCX_EXAMPLES", "KCONFIG"):
        if not env.get(key) or not Path(env[key]).exists():
            raise NotPrepared(f"{key} from {env_file} does not exist: rerun tests/vm/prepare.sh")
    for tool in ("qemu-system-x86_64", "virtiofsd"):
        if not shutil.which(tool) and not Path(f"/usr/libexec/{tool}").exists():
            raise NotPrepared(f"{tool} is not installed: rerun tests/vm/prepare.sh")
    return env


def build_schedulers(env: dict[str, str]) -> Path:
    """Compile each test scheduler and write its `scx_*` launcher into BIN; returns BIN."""
    BUILD.mkdir(parents=True, exist_ok=True)
    BIN.mkdir(parents=True, exist_ok=True)
    for path in (WORK, BUILD, BIN):
        path.chmod(0o755)
    src = HERE / "schedulers"
    # The guest hides /var/cache (vng mounts fresh overlays on /var): keep a copy of libbpf here.
    libbpf = BUILD / Path(env["LIBBPF_SO"]).name
    if not libbpf.exists():
        shutil.copy2(env["LIBBPF_SO"], libbpf)
    for sched in SCHEDULERS:
        obj = BUILD / f"{sched.name}.bpf.o"
        inputs = [src / sched.source, src / "common.bpf.h"]
        if not obj.exists() or any(p.stat().st_mtime > obj.stat().st_mtime for p in inputs):
            subprocess.run(
                [
                    env["CLANG"], "-target", "bpf", "-O2", "-g", "-fms-extensions",
                    "-Wno-microsoft-anon-tag", "-Wno-unknown-warning-option", "-D__TARGET_ARCH_x86",
                    f"-I{Path(env['VMLINUX_H']).parent}", f"-I{env['LIBBPF_INCLUDE']}",
                    f"-DOPS_NAME=\"{sched.name}\"", "-c", str(src / sched.source), "-o", str(obj),
                ],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
        launcher = BIN / sched.program
        launcher.write_text(
            "#!/usr/bin/python3\n"
            f'"""Test scheduler {sched.program} (built by tests/vm/harness.py)."""\n'
            "import sys\n"
            f"sys.path.insert(0, {str(src)!r})\n"
            "import scxload\n"
            f"sys.exit(scxload.main({str(obj)!r}, {str(libbpf)!r}, "
            f"{list(sched.default_args)!r} + sys.argv[1:]))\n"
        )
        launcher.chmod(0o755)
    return BIN


def install_upstream(env: dict[str, str]) -> Path:
    """Copy the example schedulers and the kernel config where the guest can read them."""
    UPSTREAM_BIN.mkdir(parents=True, exist_ok=True)
    UPSTREAM_BIN.chmod(0o755)
    BUILD.mkdir(parents=True, exist_ok=True)
    for name in UPSTREAM_SCHEDULERS:
        source = Path(env["SCX_EXAMPLES"]) / name
        if not source.exists():
            raise NotPrepared(f"{source} missing: rerun tests/vm/prepare.sh")
        target = UPSTREAM_BIN / name
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            shutil.copy2(source, target)
        target.chmod(0o755)
    shutil.copy2(env["KCONFIG"], KCONFIG)
    DASHBOARD_BIN.mkdir(exist_ok=True)
    DASHBOARD_BIN.chmod(0o755)
    for name in DASHBOARD_SCHEDULERS:
        link = DASHBOARD_BIN / name
        if not link.is_symlink():
            link.symlink_to((UPSTREAM_BIN if name in UPSTREAM_SCHEDULERS else BIN) / name)
    return UPSTREAM_BIN


@dataclass(frozen=True)
class GuestRun:
    returncode: int | None
    """None when the guest was killed on timeout."""
    output: str
    seconds: float
    leftover: bool = False
    """True when a process of the run (vng, qemu, virtiofsd) outlived it."""
    stalled_at_boot: bool = False
    """True when the guest never reached its init's script and was killed at BOOT_DEADLINE_S."""


BOOTED = b"virtme-ng-init: starting script"
"""What virtme-ng-init prints once the kernel is up and it runs our command (13 s after qemu
starts here, quiet; 19 s from vng's start)."""
BOOT_DEADLINE_S = 240.0
"""How long a boot may take before it counts as stalled: over ten times a quiet boot. A CI run
hung in TCG at "smpboot: x86: Booting SMP configuration:" until the whole guest timeout (40 min)."""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


VM_WENT_DOWN = 255
"""vng's status when the guest wrote none: the VM went down under the script (qemu or the guest
kernel died). Our guest scripts exit 0, 1 (a bug of theirs) or 75 (share not writable)."""


def boot_failed(run: GuestRun) -> bool:
    """The machinery failed, not the test: the boot stalled (see BOOT_DEADLINE_S), qemu died
    (TCG's `iotlb_to_section` assertion, seen once in ~10 boots here), the VM went down mid-run
    with no status (once in a loaded run, between two cases), or the results share did not mount
    (vng falls back from virtiofs to 9p when virtiofsd is slow to start on a busy host). The
    console is in `run.output` (vng --verbose), so what the kernel last said is kept with each
    failure."""
    if run.stalled_at_boot:
        return True
    if run.returncode in (0, None):
        return False
    return (run.returncode == VM_WENT_DOWN or "qemu-system-x86_64:" in run.output
            or "guest: share not writable" in run.output)


class _Console:
    """vng's output, read on a thread so that the boot can be watched while the guest runs."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._chunks: list[bytes] = []
        self.booted = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:  # whole lines: the marker is inside one
            self._chunks.append(line)
            if BOOTED in line:
                self.booted.set()

    def text(self) -> str:
        """All of it: call once vng and everything it started are gone (the pipe is closed)."""
        self._thread.join(timeout=10)
        return b"".join(self._chunks).decode(errors="replace")


def run_guest(env: dict[str, str], command: list[str], timeout: float, rwdir: Path,
              root: Path | None = None, guest_rwdir: str | None = None,
              guest_repo: str | None = None) -> GuestRun:
    """Boot the sched_ext kernel and run `command` in it: on the host's root shared read-only,
    or on `root` (another userland) with the checkout read-only at `guest_repo`; `rwdir` is
    writable in the guest, at `guest_rwdir` if given. A boot that has not reached the command
    by BOOT_DEADLINE_S is killed, and the run says so (`stalled_at_boot`)."""
    rwdir.mkdir(parents=True, exist_ok=True)
    argv = [env["VNG"], "--run", env["VMLINUZ"], "--verbose"]  # the console: what a dying kernel said
    if root is not None:
        argv += ["--root", str(root)]
    argv += ["--disable-kvm", "--memory", "2G", "--cpus", "2",
             "--rwdir", f"{guest_rwdir}={rwdir}" if guest_rwdir else str(rwdir)]
    if guest_repo:
        argv += ["--rodir", f"{guest_repo}={REPO}"]
    argv += ["--append", FAST_BOOT, "--", subprocess.list2cmdline(command)]
    started = time.monotonic()
    vng_tmp = tempfile.mkdtemp(prefix="scxtop-vng-")  # its sockets and pid files, gone even if killed
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, cwd=root or REPO,  # vng wants its working directory inside the root
        env={**os.environ, "PATH": f"{Path(env['VNG']).parent}:{os.environ.get('PATH', '')}",
             "TMPDIR": vng_tmp},
    )  # fmt: skip
    assert proc.stdout is not None
    console = _Console(proc.stdout)
    stalled = False
    code: int | None = None
    try:
        boot_by = started + min(BOOT_DEADLINE_S, timeout)
        while not console.booted.wait(0.5) and proc.poll() is None and time.monotonic() < boot_by:
            pass
        stalled = not console.booted.is_set() and proc.poll() is None
        if not stalled:
            code = proc.wait(timeout=max(0.0, timeout - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    leftover = _group_alive(proc.pid)
    if leftover:
        os.killpg(proc.pid, signal.SIGKILL)
    shutil.rmtree(vng_tmp, ignore_errors=True)
    return GuestRun(code, console.text(), time.monotonic() - started, leftover, stalled)


def collect(boot: Callable[[], GuestRun], out: Path, results_name: str = "results.json",
            tries: int = 3) -> dict:
    """Boot the guest (again, up to `tries`, when the machinery crashed), then what it wrote in
    `out/results_name`, with the run's own facts under `_run`."""
    crashes = []
    for _attempt in range(tries):
        if out.exists():
            shutil.rmtree(out)
        run = boot()
        results_file = out / results_name
        if not boot_failed(run):
            break
        how = "boot stalled" if run.stalled_at_boot else f"rc {run.returncode}"
        crashes.append(f"{how} after {run.seconds:.0f}s: {run.output[-1500:]}")
        print(f"guest machinery failed ({how}), booting again:\n{run.output[-1500:]}")
    assert results_file.exists(), f"the guest wrote no results (rc {run.returncode}):\n{run.output[-4000:]}"
    results = json.loads(results_file.read_text())
    results["_run"] = {"rc": run.returncode, "seconds": run.seconds, "output": run.output[-4000:],
                       "leftover": run.leftover, "boot_failures": crashes}
    return results


def case(guest: dict, name: str) -> dict:
    """One case's result from the guest, which must have run and not raised."""
    result = guest.get(name)
    assert result is not None, f"case {name} did not run: {guest['_run']}"
    assert "error" not in result, result.get("error")
    return result
