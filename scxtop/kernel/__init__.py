"""Readers of kernel state that sources and the switcher share: /proc and /sys helpers, thread
scans, taskstats delays, CPU topology, and the sched_ext sysfs state with its change tracker.

Nothing here knows about sources, recordings or the dashboard; both `scxtop.sources` and
`scxtop.sched_ext` read the kernel through this package.
"""
