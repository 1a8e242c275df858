"""Read the kernel's sched_ext state from `/sys/kernel/sched_ext/`.

Every read is a handful of small sysfs files; on kernels without sched_ext the directory is
absent and the state says `supported=False`.
"""

from __future__ import annotations

from pathlib import Path

from scxtop.model import SchedExtEnableState, SchedExtState

SYSFS = Path("/sys/kernel/sched_ext")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _read_events(path: Path) -> tuple[tuple[str, int], ...]:
    text = _read(path)
    if not text:
        return ()
    events = []
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        try:
            events.append((name.strip(), int(value)))
        except ValueError:
            continue
    return tuple(events)


def read_state(root: Path = SYSFS) -> SchedExtState:
    """The current sched_ext state; cheap enough to call once per interval."""
    if not root.is_dir():
        return SchedExtState(supported=False)
    state = SchedExtEnableState.parse(_read(root / "state"))
    ops = _read(root / "root" / "ops") if state is not SchedExtEnableState.DISABLED else None
    switch_all = _read_int(root / "switch_all")
    return SchedExtState(
        supported=True,
        state=state,
        ops=ops or None,
        enable_seq=_read_int(root / "enable_seq"),
        switch_all=None if switch_all is None else bool(switch_all),
        nr_rejected=_read_int(root / "nr_rejected"),
        events=_read_events(root / "root" / "events"),
    )
