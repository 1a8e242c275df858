"""A D-Bus peer that owns org.scx.Loader but never answers must not stall a switch: the first call
to it has a short timeout (loader.FIRST_CALL_TIMEOUT_S) and scxtop falls back to the direct
backend (issue 12). A real private dbus-daemon and a real silent peer on it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scxtop.sched_ext.loader import FIRST_CALL_TIMEOUT_S, LoaderClient, LoaderError, loader_available
from scxtop.sched_ext.switch import make_switcher

SILENT_PEER = """
import asyncio, sys
from dbus_fast import MessageType
from dbus_fast.aio import MessageBus

async def main():
    bus = await MessageBus(bus_address=sys.argv[1]).connect()
    await bus.request_name("org.scx.Loader")
    # every method call "handled": no reply, ever
    bus.add_message_handler(lambda message: message.message_type == MessageType.METHOD_CALL or None)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
def silent_loader(private_bus):
    peer = subprocess.Popen([sys.executable, "-c", SILENT_PEER, private_bus], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert peer.stdout.readline().strip() == "ready"
        yield private_bus
    finally:
        peer.kill()
        peer.wait()
        peer.stdout.close()


def test_a_silent_loader_is_not_taken_for_a_working_one(silent_loader):
    assert LoaderClient(silent_loader).name_has_owner()  # the name is there...
    assert not loader_available(silent_loader)  # ...but nothing answers the first call
    assert make_switcher(bus_address=silent_loader).backend == "direct"


def test_the_first_call_names_its_short_timeout(silent_loader):
    with pytest.raises(LoaderError, match=f"did not answer within {FIRST_CALL_TIMEOUT_S:g}s"):
        LoaderClient(silent_loader).probe()
