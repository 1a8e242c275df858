"""The stop signals (SIGINT, SIGTERM, SIGHUP), caught from scxtop's first line on.

A `systemctl stop`, a closed terminal or a supervisor's SIGTERM may come while Python is still
importing; with the default action scxtop would die without its CSV header (or, later, without
stopping bpftrace). `catch_early()` runs before anything else and only notes the signal;
`scxtop log` and `scxtop serve` then stop cleanly on it, and every other command gets the
default action back (`release()`), with a noted signal delivered again.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stubs for the C module; `signal` itself imports enum, which costs milliseconds before the handler is in place
import os

STOP_SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
_pending: list[int] = []


def _note(signum: int, _frame: object) -> None:
    _pending.append(signum)


def catch_early() -> None:
    for sig in STOP_SIGNALS:
        _signal.signal(sig, _note)


def pending() -> int | None:
    """The first stop signal noted since `catch_early()`, if any."""
    return _pending[0] if _pending else None


def release() -> None:
    """Default actions back (Ctrl-C raises KeyboardInterrupt again); a noted signal acts now."""
    if _signal.getsignal(_signal.SIGTERM) is not _note:
        return
    for sig in STOP_SIGNALS:
        _signal.signal(sig, _signal.default_int_handler if sig == _signal.SIGINT else _signal.SIG_DFL)
    if _pending:
        _signal.raise_signal(_pending[0])


_holding = 0
_held: list[int] = []


def holding() -> bool:
    """True inside `deferred()`: a handler should note its signal (`hold`) and not raise."""
    return _holding > 0


def hold(signum: int) -> None:
    _held.append(signum)


class deferred:  # lower case: used as `with stopsignals.deferred():`, like a function
    """A section that a stop signal must not interrupt: a child being started and recorded.

    `scxtop log`'s handler raises to leave a blocking read; raised inside Popen, or between
    Popen and the assignment that records the child, it would leave bpftrace unknown to the code
    that stops it. A handler that sees `holding()` calls `hold()` instead, and the signal is
    raised again when the section ends.
    """

    def __enter__(self) -> None:
        global _holding
        _holding += 1

    def __exit__(self, *exc: object) -> None:
        global _holding
        _holding -= 1
        if not _holding and _held:
            _signal.raise_signal(_held.pop(0))


SIGNAL_NAMES = {_signal.SIGINT: "SIGINT", _signal.SIGTERM: "SIGTERM", _signal.SIGHUP: "SIGHUP"}


class handled_by:  # lower case: used as `with stopsignals.handled_by(handler):`, like a function
    """`handler` (a function, SIG_IGN or SIG_DFL) for every stop signal, and the handlers from
    before given back afterwards: as a `with` block, or `install()` then `restore()`."""

    def __init__(self, handler: object) -> None:
        # `signal.SIG_IGN` and `SIG_DFL` are enum members, which the C module refuses: its own
        # objects stand in for them (a callable never equals 0 or 1)
        own = {_signal.SIG_IGN: _signal.SIG_IGN, _signal.SIG_DFL: _signal.SIG_DFL}
        self.handler = own.get(handler, handler)
        self._previous: dict[int, object] = {}

    def install(self) -> handled_by:
        self._previous = {sig: _signal.signal(sig, self.handler) for sig in STOP_SIGNALS}
        return self

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            _signal.signal(sig, handler)
        self._previous = {}

    def __enter__(self) -> handled_by:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()


class held_until_done:  # lower case: used as `with stopsignals.held_until_done(...)`, like a function
    """A transaction no stop signal may cut in half: `scxtop switch` killed between stopping one
    scheduler and confirming the next would leave the machine between two schedulers, with its
    journal entry open. The first stop signal is noted (`signum`), `notice` is written to stderr
    with os.write (a handler must not print: it may interrupt a print), and the caller acts on
    it once the transaction is over."""

    def __init__(self, notice: str) -> None:
        self.notice = notice
        self.signum: int | None = None
        self._handlers = handled_by(self._note)

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(self.signum or 0, str(self.signum))

    def _note(self, signum: int, _frame: object) -> None:
        if self.signum is None:
            self.signum = signum
            # not contextlib.suppress: this module is imported before the early handler is in place
            try:  # noqa: SIM105
                os.write(2, f"scxtop: {SIGNAL_NAMES.get(signum, signum)}: {self.notice}\n".encode())
            except OSError:  # a terminal that is gone (SIGHUP)
                pass

    def __enter__(self) -> held_until_done:
        self._handlers.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self._handlers.restore()
