"""Result tables: printed aligned for a terminal, as Markdown for RESULTS.md, and as JSON for tests."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field

Cell = float | str | None


@dataclass(slots=True)
class Table:
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title}/{name}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append((name, list(cells)))

    def value(self, row: str, column: str) -> Cell:
        cells = dict(self.rows)[row]
        return cells[self.columns.index(column)]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def spread(values: list[float]) -> str:
    """min..max of the rounds, to show how noisy a median is."""
    return f"{min(values):.3g}..{max(values):.3g}" if values else "-"


def _fmt(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, str):
        return cell
    if math.isnan(cell):
        return "nan"
    if cell == 0 or abs(cell) >= 100:
        return f"{cell:.0f}"
    return f"{cell:.3g}" if abs(cell) < 1 else f"{cell:.3f}".rstrip("0").rstrip(".")


def as_text(table: Table) -> str:
    head = ["", *table.columns]
    body = [[name, *map(_fmt, cells)] for name, cells in table.rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = [f"== {table.title} =="]
    for r in [head, *body]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths,
                                                                                                      strict=True))))
    lines += [f"  note: {n}" for n in table.notes]
    return "\n".join(lines)


def as_markdown(table: Table) -> str:
    lines = [f"### {table.title}", "", "| | " + " | ".join(table.columns) + " |",
             "|---" * (len(table.columns) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(map(_fmt, cells)) + " |" for name, cells in table.rows]
    if table.notes:
        lines.append("")
        lines += [f"- {n}" for n in table.notes]
    return "\n".join(lines)


def as_json(tables: list[Table]) -> str:
    return json.dumps([asdict(t) for t in tables], indent=1)
