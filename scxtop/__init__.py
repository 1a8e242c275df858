"""scxtop: a live view of what the Linux CPU scheduler is doing."""

__version__ = "0.1.0"
