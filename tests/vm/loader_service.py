"""A small org.scx.Loader service for tests, same D-Bus interface as scx_loader.

    loader_service.py --address ADDR --spawn            run scx_* programs from PATH (in the guest)
    loader_service.py --address ADDR --simulate DIR     pretend: write a fake /sys/kernel/sched_ext

Like scx_loader, it answers StartScheduler at once and leaves confirming to the caller; it
prints "ready" once it owns the name, and stops its scheduler on SIGTERM.
"""
# No `from __future__ import annotations`: dbus-fast reads the D-Bus signatures from them.

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from dbus_fast import DBusError, RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

FAILED = "org.scx.Loader.Error.Failed"


class SpawnKernel:
    """Runs the scheduler program itself, as scx_loader does."""

    def __init__(self) -> None:
        self.child: subprocess.Popen | None = None
        self.name = "unknown"
        self.mode = 0

    def supported(self) -> list[str]:
        names = set()
        for d in os.environ.get("PATH", "").split(":"):
            if os.path.isdir(d):
                names.update(n for n in os.listdir(d) if n.startswith("scx_t"))
        return sorted(names)

    def start(self, name: str, mode: int, args: list[str]) -> None:
        self.stop()
        program = shutil.which(name)
        if program is None:
            raise DBusError(FAILED, f"{name} not found")
        self.child = subprocess.Popen([program, *args], start_new_session=True,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.name, self.mode = name, mode

    def stop(self) -> None:
        if self.child and self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)
            try:
                self.child.wait(5)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        self.child, self.name = None, "unknown"

    def current(self) -> str:
        return self.name if self.child and self.child.poll() is None else "unknown"


class SimulatedKernel:
    """Writes what a kernel would show under DIR (state, enable_seq, root/ops)."""

    def __init__(self, root: Path, supported: list[str], broken: set[str], refused: set[str]) -> None:
        self.root, self._supported, self.broken, self.refused = root, supported, broken, refused
        self.name, self.mode = "unknown", 0
        root.mkdir(parents=True, exist_ok=True)
        self._write("disabled", None, 0)

    def _write(self, state: str, ops: str | None, seq: int) -> None:
        (self.root / "state").write_text(state + "\n")
        (self.root / "enable_seq").write_text(f"{seq}\n")
        if ops:
            (self.root / "root").mkdir(exist_ok=True)
            (self.root / "root" / "ops").write_text(ops + "\n")
        else:
            shutil.rmtree(self.root / "root", ignore_errors=True)

    def _seq(self) -> int:
        return int((self.root / "enable_seq").read_text())

    def supported(self) -> list[str]:
        return self._supported

    def start(self, name: str, mode: int, args: list[str]) -> None:
        if name not in self._supported:
            raise DBusError(FAILED, f"{name} is not supported")
        self.stop()
        if name in self.refused:  # the loader fails to start it (say, its binary is missing)
            raise DBusError(FAILED, f"failed to start {name}")
        self.name, self.mode = name, mode
        if name not in self.broken:  # a broken one never gets enabled
            self._write("enabled", name.removeprefix("scx_") + "_1.0.0", self._seq() + 1)

    def stop(self) -> None:
        self.name = "unknown"
        self._write("disabled", None, self._seq())

    def current(self) -> str:
        return self.name


# D-Bus signatures, evaluated as annotations by dbus-fast.
S, U, AS = "s", "u", "as"


class Loader(ServiceInterface):
    def __init__(self, kernel) -> None:
        super().__init__("org.scx.Loader")
        self.kernel = kernel

    @method()
    def StartScheduler(self, scx_name: S, sched_mode: U):
        self.kernel.start(scx_name, sched_mode, [])

    @method()
    def StartSchedulerWithArgs(self, scx_name: S, scx_args: AS):
        self.kernel.start(scx_name, 0, scx_args)

    @method()
    def SwitchScheduler(self, scx_name: S, sched_mode: U):
        self.kernel.start(scx_name, sched_mode, [])

    @method()
    def SwitchSchedulerWithArgs(self, scx_name: S, scx_args: AS):
        self.kernel.start(scx_name, 0, scx_args)

    @method()
    def StopScheduler(self):
        self.kernel.stop()

    @dbus_property(access=PropertyAccess.READ)
    def CurrentScheduler(self) -> S:
        return self.kernel.current()

    @dbus_property(access=PropertyAccess.READ)
    def SchedulerMode(self) -> U:
        return self.kernel.mode

    @dbus_property(access=PropertyAccess.READ)
    def SupportedSchedulers(self) -> AS:
        return self.kernel.supported()


async def serve(address: str, kernel) -> None:
    bus = await MessageBus(bus_address=address).connect()
    bus.export("/org/scx/Loader", Loader(kernel))
    reply = await bus.request_name("org.scx.Loader")
    if reply != RequestNameReply.PRIMARY_OWNER:
        sys.exit(f"could not own org.scx.Loader: {reply}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    kernel.stop()
    bus.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--spawn", action="store_true")
    parser.add_argument("--simulate", type=Path)
    parser.add_argument("--supported", default="scx_alpha,scx_beta,scx_broken")
    parser.add_argument("--broken", default="scx_broken", help="started, but never enabled")
    parser.add_argument("--refused", default="scx_refused", help="StartScheduler fails")
    args = parser.parse_args()
    if args.spawn:
        kernel = SpawnKernel()
    else:
        kernel = SimulatedKernel(args.simulate, args.supported.split(","), set(args.broken.split(",")),
                                 set(args.refused.split(",")))
    asyncio.run(serve(args.address, kernel))


if __name__ == "__main__":
    main()
