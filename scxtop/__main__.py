"""`python -m scxtop` and the `scxtop` command (pyproject points here, not at cli.main, so that
the stop signals are caught before anything else is imported)."""

from scxtop.stopsignals import catch_early

catch_early()  # before anything else: a SIGTERM while importing still ends `scxtop log` cleanly

from scxtop.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
