"""The Textual dashboard. Only this package imports Textual; `scxtop log` never loads it."""
