"""Can this process load BPF programs? Root, or CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN)."""

from __future__ import annotations

import os

CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39
NEEDS_PRIVILEGES = "not root and no CAP_BPF+CAP_PERFMON: run scxtop with sudo"


def effective_caps() -> int:
    """This process's effective capability bits (CapEff in /proc/self/status); 0 if unreadable."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def bpf_privilege() -> str | None:
    """What grants BPF here ('root', 'CAP_BPF and CAP_PERFMON', 'CAP_SYS_ADMIN'); None when nothing does."""
    if os.geteuid() == 0:
        return "root"
    caps = effective_caps()
    if caps & (1 << CAP_BPF) and caps & (1 << CAP_PERFMON):
        return "CAP_BPF and CAP_PERFMON"
    if caps & (1 << CAP_SYS_ADMIN):
        return "CAP_SYS_ADMIN"
    return None
