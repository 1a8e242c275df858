"""scx_loader backend: ask the `org.scx.Loader` D-Bus service to stop and start schedulers.

scx_loader runs the scheduler itself; scxtop only talks to it (dbus-fast, one short connection
per call) and still confirms every step in sysfs: `CurrentScheduler` is what the loader believes,
not what the kernel runs. Calls are synchronous (asyncio.run): from an event loop, call the
switcher in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from scxtop.model import SchedExtState
from scxtop.sched_ext.backend import Running
from scxtop.sched_ext.config import Config
from scxtop.sched_ext.discovery import config_schedulers, merge, ops_matches
from scxtop.sched_ext.errors import SwitchError
from scxtop.sched_ext.types import Mode, Refusal, SchedulerEntry

SERVICE = "org.scx.Loader"
PATH = "/org/scx/Loader"
INTERFACE = "org.scx.Loader"
CALL_TIMEOUT_S = 10.0
NO_SCHEDULER = "unknown"
"""CurrentScheduler's value when the loader runs nothing."""


class LoaderError(SwitchError):
    """scx_loader refused or could not be reached."""


class LoaderClient:
    """Blocking calls to org.scx.Loader; `bus_address` None means the system bus."""

    def __init__(self, bus_address: str | None = None) -> None:
        self.bus_address = bus_address

    async def _call(self, message: Message) -> list[Any]:
        if self.bus_address:
            bus = MessageBus(bus_address=self.bus_address)
        else:
            bus = MessageBus(bus_type=BusType.SYSTEM)
        await asyncio.wait_for(bus.connect(), CALL_TIMEOUT_S)
        try:
            reply = await asyncio.wait_for(bus.call(message), CALL_TIMEOUT_S)
        finally:
            bus.disconnect()
        if reply is None or reply.message_type == MessageType.ERROR:
            detail = reply.body[0] if reply and reply.body else ""
            name = reply.error_name if reply else "no reply"
            raise LoaderError(f"scx_loader: {message.member} failed: {name} {detail}".strip())
        return list(reply.body)

    def call(self, member: str, signature: str = "", body: list[Any] | None = None) -> list[Any]:
        message = Message(
            destination=SERVICE, path=PATH, interface=INTERFACE, member=member,
            signature=signature, body=body or [],
        )  # fmt: skip
        return self._run(message)

    def _run(self, message: Message) -> list[Any]:
        try:
            return asyncio.run(self._call(message))
        except LoaderError:
            raise
        except (OSError, TimeoutError, ValueError) as err:
            raise LoaderError(f"cannot reach scx_loader on the D-Bus system bus: {err}") from None

    def get(self, prop: str) -> Any:
        message = Message(
            destination=SERVICE, path=PATH, interface="org.freedesktop.DBus.Properties",
            member="Get", signature="ss", body=[INTERFACE, prop],
        )  # fmt: skip
        value = self._run(message)[0]
        return value.value if isinstance(value, Variant) else value

    def name_has_owner(self) -> bool:
        """Is org.scx.Loader running, or can the bus start it on demand?"""
        def bus_call(member: str, signature: str, body: list[Any]) -> Message:
            return Message(
                destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus", member=member, signature=signature, body=body,
            )  # fmt: skip

        if self._run(bus_call("NameHasOwner", "s", [SERVICE]))[0]:
            return True
        return SERVICE in self._run(bus_call("ListActivatableNames", "", []))[0]


def loader_available(bus_address: str | None = None) -> bool:
    try:
        return LoaderClient(bus_address).name_has_owner()
    except LoaderError:
        return False


@dataclass
class LoaderStarted:
    """A start asked of scx_loader; the loader owns the process, so its exit is not visible."""

    client: LoaderClient

    def exit_status(self) -> int | None:
        return None

    def output_tail(self, lines: int = 25) -> str:
        return "(scx_loader keeps the scheduler's output: journalctl -u scx_loader)"

    def abort(self, timeout: float) -> None:
        with contextlib.suppress(LoaderError):
            self.client.call("StopScheduler")


@dataclass(frozen=True)
class LoaderLaunch:
    client: LoaderClient
    name: str
    mode: Mode

    def start(self) -> LoaderStarted:
        self.client.call("StartScheduler", "su", [self.name, int(self.mode)])
        return LoaderStarted(self.client)


class LoaderBackend:
    name = "scx_loader"

    def __init__(self, config: Config, bus_address: str | None = None) -> None:
        self.config = config
        self.client = LoaderClient(bus_address)

    def entries(self) -> list[SchedulerEntry]:
        supported = [
            SchedulerEntry(str(name), None, modes=tuple(Mode), origin="loader")
            for name in self.client.get("SupportedSchedulers")
        ]
        names = {e.name for e in supported}
        # Config entries are listed too, but only names scx_loader knows can be started through it.
        return merge(supported, [e for e in config_schedulers(self.config) if e.name in names])

    def refused(self) -> list[Refusal]:
        return []  # scx_loader decides what it runs

    def output(self, state: SchedExtState, lines: int) -> tuple[str, ...]:
        return ()  # scx_loader's schedulers print to its journal, not to us

    def current(self, state: SchedExtState, entries: list[SchedulerEntry]) -> Running | None:
        if state.state == "disabled" or not state.ops:
            return None
        name = str(self.client.get("CurrentScheduler"))
        known = name != NO_SCHEDULER and ops_matches(name, state.ops)
        mode = Mode(int(self.client.get("SchedulerMode"))) if known else None
        return Running(name if known else state.ops, state.ops, restartable=known, mode=mode)

    def prepare(self, entry: SchedulerEntry, mode: Mode | None) -> LoaderLaunch:
        return LoaderLaunch(self.client, entry.name, mode if mode is not None else Mode.AUTO)

    def stop(self, running: Running, timeout: float, progress: Callable[[str], None]) -> None:
        if not running.restartable:
            raise SwitchError(
                f"{running.ops} was not started by scx_loader, which cannot stop it: stop it yourself"
            )
        progress("asking scx_loader to stop it")
        self.client.call("StopScheduler")

    def prepare_restore(self, running: Running, entries: list[SchedulerEntry]) -> LoaderLaunch | None:
        if not running.restartable:
            return None
        return LoaderLaunch(self.client, running.name, running.mode or Mode.AUTO)
