"""Before/after report for every scheduler change: did the switch help?

Fed Sample by Sample (live, or from a recording), `SwitchReporter` keeps the last `window_s`
seconds. When a sample carries a scheduler change decided by the tracker (`Sample.scx_events`:
switched, loaded, unloaded, ejected), the samples before it are the "before" side; the samples
after it, until the same length has passed, are the "after" side. The sample holding the change
straddles both schedulers and is left out. An unload followed closely by a load (a switch that
spanned two samples) is one change; an ejection stays a change of its own. Imports only the
model: the TUI, `scxtop log` and `scxtop compare` share it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scxtop.model import (
    LatencyBucket,
    LatencyHistogram,
    Sample,
    SchedExtEnableState,
    SchedExtEvent,
    SchedExtEventKind,
    SchedExtState,
)

DEFAULT_WINDOW_S = 10.0
MERGE_S = 5.0
"""An unload and a load this close together are one switch (stop old, start new)."""
SAME_PCT = 2.0
"""Changes smaller than this (in %) are marked as neither better nor worse."""
DEFAULT_NAME = "default"
CHANGES = frozenset({SchedExtEventKind.SWITCHED, SchedExtEventKind.LOADED,
                     SchedExtEventKind.UNLOADED, SchedExtEventKind.EJECTED})


class Verdict(enum.StrEnum):
    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    UNKNOWN = "n/a"


class Metric(enum.StrEnum):
    """What a report compares; every one of them is better when lower."""

    LAT_P50 = "wakeup latency p50 (us)"
    LAT_P99 = "wakeup latency p99 (us)"
    LAT_MAX = "wakeup latency max (us)"
    RQ_MEAN = "runqueue mean"
    RQ_IMBALANCE = "runqueue imbalance"
    MIGRATIONS = "migrations/s"
    CSW = "context switches/s"
    TASK_DELAY = "task delay (ms/s)"
    BLOCKED = "blocked tasks"


@dataclass(frozen=True, slots=True)
class EventRate:
    """One sched_ext counter of `root/events`, as a rate over a window."""

    name: str
    per_s: float


@dataclass(frozen=True, slots=True)
class WindowStats:
    """The part-3 metrics over a run of samples; None where no sample could see it."""

    samples: int
    seconds: float
    lat_p50_us: int | None = None
    lat_p99_us: int | None = None
    lat_max_us: int | None = None
    """Wakeup latencies are log2 bucket upper bounds, as runqlat prints them."""
    rq_mean: float | None = None
    rq_imbalance: float | None = None
    """Mean over samples of (max - min) runqueue length across CPUs."""
    migrations_per_s: float | None = None
    csw_per_s: float | None = None
    task_delay_ms_per_s: float | None = None
    """Run-queue delay of the listed (most delayed) tasks, summed, per second."""
    blocked_tasks: float | None = None
    """Mean number of tasks blocked on a mutex."""
    scx_events: tuple[EventRate, ...] = ()

    def value(self, metric: Metric) -> float | None:
        return {
            Metric.LAT_P50: self.lat_p50_us, Metric.LAT_P99: self.lat_p99_us,
            Metric.LAT_MAX: self.lat_max_us, Metric.RQ_MEAN: self.rq_mean,
            Metric.RQ_IMBALANCE: self.rq_imbalance, Metric.MIGRATIONS: self.migrations_per_s,
            Metric.CSW: self.csw_per_s, Metric.TASK_DELAY: self.task_delay_ms_per_s,
            Metric.BLOCKED: self.blocked_tasks,
        }[metric]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a report: a metric on both sides."""

    name: str
    before: float | None
    after: float | None
    change_pct: float | None
    verdict: Verdict

    @property
    def change_text(self) -> str:
        """'+12%', 'from 0' (no percentage of nothing), or '' when a side is unknown."""
        if self.change_pct is None:
            return "from 0" if self.before == 0 and self.after else ""
        return f"{self.change_pct:+.0f}%"


@dataclass(frozen=True, slots=True)
class SwitchReport:
    """Before and after one scheduler change; a `switch_report` record in JSONL."""

    time: float
    """When the change was seen (end of the sample that holds it)."""
    kind: SchedExtEventKind
    before_scheduler: str
    after_scheduler: str
    by_us: bool
    detail: str
    window_s: float
    before: WindowStats
    after: WindowStats
    cut_short: bool = False
    """True when the next change came before the after window was full."""

    @property
    def title(self) -> str:
        how = "ejected" if self.kind is SchedExtEventKind.EJECTED else "switch"
        return f"{how}: {self.before_scheduler} -> {self.after_scheduler}"

    @property
    def rows(self) -> tuple[Row, ...]:
        rows = [compare(m.value, self.before.value(m), self.after.value(m)) for m in Metric]
        before = {e.name: e.per_s for e in self.before.scx_events}
        after = {e.name: e.per_s for e in self.after.scx_events}
        for name in sorted(set(before) | set(after)):
            if before.get(name) or after.get(name):  # counters that stayed at 0 on both sides: left out
                rows.append(compare(f"{name}/s", before.get(name), after.get(name)))
        return tuple(rows)

    def summary(self) -> str:
        """One line for a notification: the metrics that moved the most."""
        moved = [r for r in self.rows[:len(Metric)] if r.verdict in (Verdict.BETTER, Verdict.WORSE)]
        moved.sort(key=lambda r: -abs(r.change_pct or 0.0))
        parts = [f"{r.name.split(' (')[0]} {r.change_text} ({r.verdict})" for r in moved[:3]]
        return f"{self.title}: " + ("; ".join(parts) if parts else "no clear change")


def compare(name: str, before: float | None, after: float | None) -> Row:
    """A row with the change in % and whether it got better (every metric: lower is better)."""
    if before is None or after is None:
        return Row(name, before, after, None, Verdict.UNKNOWN)
    change = (after - before) / abs(before) * 100.0 if before else (0.0 if after == 0 else None)
    if change is None:
        verdict = Verdict.WORSE if after > 0 else Verdict.BETTER
    elif abs(change) < SAME_PCT:
        verdict = Verdict.SAME
    else:
        verdict = Verdict.BETTER if change < 0 else Verdict.WORSE
    return Row(name, before, after, change, verdict)


# --- window statistics ----------------------------------------------------------------------------
def merged_histogram(samples: Iterable[Sample]) -> LatencyHistogram | None:
    counts: dict[tuple[int, int], int] = {}
    seen = False
    for s in samples:
        if s.wakeup_latency is None:
            continue
        seen = True
        for b in s.wakeup_latency.buckets:
            counts[(b.low_us, b.high_us)] = counts.get((b.low_us, b.high_us), 0) + b.count
    if not seen:
        return None
    return LatencyHistogram(tuple(LatencyBucket(lo, hi, n) for (lo, hi), n in sorted(counts.items())))


def _span(samples: Sequence[Sample]) -> float:
    return sum(s.interval_s for s in samples)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def event_deltas(old: SchedExtState, new: SchedExtState) -> dict[str, int] | None:
    """How much each `root/events` counter moved between two reads of one scheduler.

    None when either read has no counters or the scheduler changed in between (its counters
    start again from zero)."""
    if not old.events or not new.events or old.ops != new.ops or old.enable_seq != new.enable_seq:
        return None
    before = dict(old.events)
    return {name: value - before[name] for name, value in new.events
            if name in before and value >= before[name]}


def event_rates(old: SchedExtState, new: SchedExtState, seconds: float) -> tuple[EventRate, ...] | None:
    deltas = event_deltas(old, new)
    if deltas is None or seconds <= 0:
        return None
    return tuple(EventRate(name, delta / seconds) for name, delta in deltas.items())


def bypassing(old: SchedExtState, new: SchedExtState) -> bool | None:
    """Was sched_ext in bypass mode during the interval? The kernel has no bypass file: it is
    on while a scheduler is enabling or disabling, and `SCX_EV_BYPASS_*` counters move while it
    lasts (6.16+). None when neither can be seen."""
    if new.state in (SchedExtEnableState.ENABLING, SchedExtEnableState.DISABLING):
        return True
    deltas = event_deltas(old, new)
    if deltas is None:
        return False if new.state == SchedExtEnableState.DISABLED else None
    moved = [v for k, v in deltas.items() if "BYPASS" in k.upper()]
    return any(moved) if moved else None


def window_stats(samples: Sequence[Sample], previous: Sample | None = None) -> WindowStats:
    """The metrics over `samples`; `previous` (the sample just before) gives the first event delta."""
    seconds = sum(s.interval_s for s in samples)
    hist = merged_histogram(samples)
    nonzero = [b for b in hist.buckets if b.count] if hist else []
    rq_means, imbalances, blocked = [], [], []
    mig = csw = delay = 0.0
    mig_s = csw_s = delay_s = 0.0
    for s in samples:
        rqs = [c.rq for c in s.cpus if c.rq is not None]
        if rqs:
            rq_means.append(sum(rqs) / len(rqs))
            imbalances.append(max(rqs) - min(rqs))
        if s.total_migrations is not None:
            mig += s.total_migrations
            mig_s += s.interval_s
        switches = [c.csw for c in s.cpus if c.csw is not None]
        if switches:
            csw += sum(switches)
            csw_s += s.interval_s
        if s.delayed_tasks is not None:
            delay += sum(t.delay_ns for t in s.delayed_tasks) / 1e6
            delay_s += s.interval_s
        if s.blocked_tasks is not None:
            blocked.append(float(s.blocked_tasks))
    events: dict[str, float] = {}
    events_s = 0.0
    prev = previous
    for s in samples:
        deltas = event_deltas(prev.scx, s.scx) if prev is not None else None
        if deltas is not None:
            events_s += s.interval_s
            for name, delta in deltas.items():
                events[name] = events.get(name, 0) + delta
        prev = s
    return WindowStats(
        samples=len(samples), seconds=seconds,
        lat_p50_us=hist.percentile(50) if hist else None,
        lat_p99_us=hist.percentile(99) if hist else None,
        lat_max_us=(nonzero[-1].high_us if nonzero else 0) if hist else None,
        rq_mean=_mean(rq_means), rq_imbalance=_mean(imbalances),
        migrations_per_s=mig / mig_s if mig_s else None,
        csw_per_s=csw / csw_s if csw_s else None,
        task_delay_ms_per_s=delay / delay_s if delay_s else None,
        blocked_tasks=_mean(blocked),
        scx_events=tuple(EventRate(k, v / events_s) for k, v in events.items()) if events_s else (),
    )  # fmt: skip


# --- the reporter -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Change:
    time: float
    kind: SchedExtEventKind
    before: str
    after: str
    by_us: bool
    detail: str


def _change(events: tuple[SchedExtEvent, ...]) -> _Change | None:
    """The sample's scheduler change, from its first 'from' to its last 'to'."""
    changes = [e for e in events if e.kind in CHANGES]
    if not changes:
        return None
    first, last = changes[0], changes[-1]
    if first.kind in (SchedExtEventKind.UNLOADED, SchedExtEventKind.EJECTED):
        before = first.ops or DEFAULT_NAME
    else:
        before = first.previous or DEFAULT_NAME
    after = DEFAULT_NAME if last.kind in (SchedExtEventKind.UNLOADED, SchedExtEventKind.EJECTED) \
        else (last.ops or DEFAULT_NAME)
    ejected = next((e for e in changes if e.kind is SchedExtEventKind.EJECTED), None)
    kind = SchedExtEventKind.EJECTED if ejected else last.kind
    detail = ejected.detail if ejected else last.detail
    return _Change(last.time, kind, before, after, all(e.by_us for e in changes), detail)


@dataclass(slots=True)
class _Pending:
    change: _Change
    before: list[Sample]
    before_prev: Sample | None
    after: list[Sample]
    straddling: Sample
    """The sample that held the change; its sched_ext counters (if any) are the new scheduler's."""
    seen_at: float
    """Sample.elapsed_s of the sample that held the change."""


@dataclass(frozen=True, slots=True)
class Progress:
    """An after window being filled, for a 'collecting' line on screen."""

    title: str
    collected_s: float
    window_s: float


class SwitchReporter:
    """Feed every sample in order (`feed`); it returns the reports whose after window closed."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, merge_s: float = MERGE_S) -> None:
        self.window_s = window_s
        self._merge_s = merge_s
        self._history: deque[Sample] = deque()
        self._pending: _Pending | None = None

    @property
    def progress(self) -> Progress | None:
        p = self._pending
        if p is None:
            return None
        title = f"{p.change.before} -> {p.change.after}"
        return Progress(title, _span(p.after), self.window_s)

    def feed(self, sample: Sample) -> tuple[SwitchReport, ...]:
        done: list[SwitchReport] = []
        change = _change(sample.scx_events)
        pending = self._pending
        if change is not None:
            merge = (
                pending is not None
                and pending.change.kind is SchedExtEventKind.UNLOADED
                and change.before == DEFAULT_NAME
                and change.kind in (SchedExtEventKind.LOADED, SchedExtEventKind.SWITCHED)
                and sample.elapsed_s - pending.seen_at <= self._merge_s
            )
            if merge and pending is not None:  # stop old, then start new: one switch
                old = pending.change
                pending.change = _Change(change.time, SchedExtEventKind.SWITCHED, old.before, change.after,
                                         old.by_us and change.by_us, old.detail or change.detail)
                pending.after = []
                pending.straddling = sample
                pending.seen_at = sample.elapsed_s
            else:
                if pending is not None:
                    done.append(self._close(pending, cut_short=True))
                history = list(self._history)
                prev = None
                if len(history) > 1 and _span(history[1:]) >= self.window_s - 1e-6:
                    prev, history = history[0], history[1:]
                self._pending = _Pending(change, history, prev, [], sample, sample.elapsed_s)
            self._history.clear()  # the straddling sample belongs to neither side
        else:
            if pending is not None:
                pending.after.append(sample)
                if _span(pending.after) >= self.window_s - 1e-6:
                    done.append(self._close(pending, cut_short=False))
            self._history.append(sample)
            # keep one sample more than the window: the first event delta needs its predecessor
            while len(self._history) > 2 and _span(list(self._history)[1:]) > self.window_s:
                self._history.popleft()
        return tuple(done)

    def _close(self, pending: _Pending, cut_short: bool) -> SwitchReport:
        self._pending = None
        c = pending.change
        return SwitchReport(
            time=c.time, kind=c.kind, before_scheduler=c.before, after_scheduler=c.after,
            by_us=c.by_us, detail=c.detail, window_s=self.window_s,
            before=window_stats(pending.before, pending.before_prev),
            after=window_stats(pending.after, pending.straddling),  # its counters are the new one's
            cut_short=cut_short,
        )  # fmt: skip

    def flush(self) -> tuple[SwitchReport, ...]:
        """At the end of a recording or a run: the pending report, cut short (if it has an after)."""
        pending = self._pending
        if pending is None or not pending.after:
            self._pending = None
            return ()
        return (self._close(pending, cut_short=True),)


def reports_from(samples: Iterable[Sample], window_s: float = DEFAULT_WINDOW_S) -> list[SwitchReport]:
    """Every report a run of samples (a recording) holds, the last one possibly cut short."""
    reporter = SwitchReporter(window_s)
    out: list[SwitchReport] = []
    for sample in samples:
        out.extend(reporter.feed(sample))
    out.extend(reporter.flush())
    return out
