"""Dashboard refresh time and memory at 2, 64, 256 and 1024 CPUs, measured by
bench/dashboard_refresh.py (a replayed recording widened to N CPUs, headless, one fresh process
per size) and brought into this run's tables."""

from __future__ import annotations

from table import Table

CPUS = (2, 64, 256, 1024)
COLUMNS = ["ms/refresh", "p90 ms", "panels ms", "vs 2 CPUs", "peak RSS MiB", "heap MiB"]


def table(quick: bool) -> Table:
    import dashboard_refresh  # imports Textual: only this section needs it

    refreshes = 5 if quick else 40
    rows = [dashboard_refresh.run_one(n, refreshes, dashboard_refresh.RECORDING) for n in CPUS]
    out = Table("Dashboard refresh (bench/dashboard_refresh.py)", COLUMNS)
    base = rows[0]["median_ms"]
    for row in rows:
        out.add(f"{row['cpus']} CPUs", row["median_ms"], row["p90_ms"], row["panels_ms"],
                row["median_ms"] / base, row["rss_mib"], row["heap_mib"])
    width, height = dashboard_refresh.SIZE
    out.notes.append(f"{refreshes} refreshes per size, headless {width}x{height}, "
                     f"{dashboard_refresh.RECORDING.name} widened to N CPUs; panels ms = refresh_dashboard() "
                     "alone, ms/refresh includes Textual's layout and paint")
    return out
