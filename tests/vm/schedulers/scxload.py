"""Loader for the test schedulers: behaves like a real `scx_*` program.

It opens a compiled BPF object with libbpf (>= 1.2, through ctypes), attaches its
`sched_ext_ops` struct_ops map, and holds it until SIGINT/SIGTERM, when it detaches and exits 0.
Like real schedulers it exits (status 2) when the kernel disables it (an ejection), and prints
what it does so the switcher's log tail has something to show. `--exit-after S` makes it exit
with status 1 S seconds after attaching: a scheduler that dies right after starting.
`--gate PATH` makes it wait (at most GATE_MAX_S) until PATH exists before it loads anything: a
switch to it stays in flight for exactly as long as a test needs, however slow the machine.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

STATE = "/sys/kernel/sched_ext/state"
GATE_MAX_S = 600


def _say(text: str) -> None:
    print(f"{os.path.basename(sys.argv[0])}: {text}", flush=True)


def _state() -> str:
    try:
        with open(STATE) as f:
            return f.read().strip()
    except OSError:
        return "unsupported"


def _libbpf(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path, use_errno=True)
    lib.bpf_object__open_file.restype = ctypes.c_void_p
    lib.bpf_object__open_file.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.bpf_object__load.argtypes = [ctypes.c_void_p]
    lib.bpf_object__find_map_by_name.restype = ctypes.c_void_p
    lib.bpf_object__find_map_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.bpf_map__attach_struct_ops.restype = ctypes.c_void_p
    lib.bpf_map__attach_struct_ops.argtypes = [ctypes.c_void_p]
    lib.bpf_link__destroy.argtypes = [ctypes.c_void_p]
    lib.bpf_object__close.argtypes = [ctypes.c_void_p]
    return lib


def main(obj_path: str, libbpf_path: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit-after", type=float, help="exit with status 1 this long after attaching")
    parser.add_argument("--gate", help="wait until this file exists before loading")
    args = parser.parse_args(argv)

    stop = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True
        _say(f"got signal {signum}, detaching")

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if args.gate:
        _say(f"waiting for {args.gate}")
        deadline = time.monotonic() + GATE_MAX_S
        while not os.path.exists(args.gate):
            if stop or time.monotonic() > deadline:
                _say("stopped before the gate opened")
                return 1
            time.sleep(0.05)
        _say("gate open")
    lib = _libbpf(libbpf_path)
    _say(f"loading {obj_path}")
    obj = lib.bpf_object__open_file(obj_path.encode(), None)
    if not obj:
        _say(f"cannot open {obj_path}: {os.strerror(ctypes.get_errno())}")
        return 1
    err = lib.bpf_object__load(obj)
    if err:
        _say(f"BPF program load failed: {os.strerror(-err)} (see the verifier log above)")
        return 1
    ops = lib.bpf_object__find_map_by_name(obj, b"ops")
    link = lib.bpf_map__attach_struct_ops(ops) if ops else None
    if not link:
        _say(f"attaching sched_ext_ops failed: {os.strerror(ctypes.get_errno())}")
        return 1
    _say(f"attached, state {_state()}")
    attached_at = time.monotonic()
    status = 0
    while not stop:
        time.sleep(0.1)
        if args.exit_after is not None and time.monotonic() - attached_at >= args.exit_after:
            _say("simulated crash: exiting right after attaching")
            status = 1
            break
        if _state() == "disabled":
            _say("the kernel disabled the scheduler (see dmesg), exiting")
            status = 2
            break
    lib.bpf_link__destroy(link)
    lib.bpf_object__close(obj)
    _say("detached")
    return status
