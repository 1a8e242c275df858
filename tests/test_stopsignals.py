"""`stopsignals.held_until_done`: what `scxtop switch` runs its transaction in, with real signals.
(The switch itself needs sched_ext: tests/vm/test_vm_sched_ext.py signals one in flight.)"""

from __future__ import annotations

import os
import signal
import time

import pytest

from scxtop import stopsignals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_waits_for_the_transaction_and_is_said_once(capfd, sig: signal.Signals):
    before = signal.getsignal(sig)
    steps = []
    with stopsignals.held_until_done("stopping once this switch has ended") as held:
        os.kill(os.getpid(), sig)
        time.sleep(0.1)  # the handler runs here; without the hold SIGINT would raise, SIGTERM kill
        steps.append("stopped the old scheduler")
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal is noted as well, not said again
        time.sleep(0.1)
        steps.append("started the new one")
    assert steps == ["stopped the old scheduler", "started the new one"]
    assert held.signum == sig and held.name == sig.name
    assert capfd.readouterr().err == f"scxtop: {sig.name}: stopping once this switch has ended\n"
    assert signal.getsignal(sig) is before, "the handler from before was not given back"


def test_no_signal_leaves_nothing_noted(capfd):
    with stopsignals.held_until_done("unused") as held:
        time.sleep(0.05)
    assert held.signum is None
    assert capfd.readouterr().err == ""
