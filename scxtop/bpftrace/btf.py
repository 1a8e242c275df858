"""What the running kernel's BTF describes: which structs exist and which fields they have.

The probe programs pick their variant by this (sched_ext's `struct scx_rq`,
`task_struct->blocked_on`). A small reader of the BTF format (see the kernel's
Documentation/bpf/btf.rst) over /sys/kernel/btf/vmlinux, standard library only.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path

VMLINUX = Path("/sys/kernel/btf/vmlinux")
MAGIC = 0xEB9F
KIND_STRUCT, KIND_UNION = 4, 5

# Bytes that follow the 12-byte btf_type header, per kind: (fixed, per vlen entry).
_TRAILER = {
    1: (4, 0),  # INT
    3: (12, 0),  # ARRAY
    4: (0, 12),  # STRUCT
    5: (0, 12),  # UNION
    6: (0, 8),  # ENUM
    13: (0, 8),  # FUNC_PROTO
    14: (4, 0),  # VAR
    15: (0, 12),  # DATASEC
    17: (4, 0),  # DECL_TAG
    19: (0, 12),  # ENUM64
}


@dataclass(frozen=True, slots=True)
class KernelTypes:
    """Struct and union names with their member names (anonymous members' fields included)."""

    structs: dict[str, frozenset[str]]

    def has_struct(self, name: str) -> bool:
        return name in self.structs

    def has_field(self, struct_name: str, field: str) -> bool:
        return field in self.structs.get(struct_name, frozenset())

    def has(self, feature: str) -> bool:
        """`struct NAME` or `STRUCT.FIELD` (how the probe files name what they need)."""
        feature = feature.strip()
        if feature.startswith("struct "):
            return self.has_struct(feature.removeprefix("struct ").strip())
        name, _, field = feature.partition(".")
        return self.has_field(name, field) if field else self.has_struct(name)


def _name(strings: bytes, off: int) -> str:
    end = strings.index(b"\0", off)
    return strings[off:end].decode("ascii", "replace")


Members = list[tuple[int, list[tuple[int, int]]]]
"""Per struct or union: its name offset, and each member's (name offset, type id)."""


def parse_btf(blob: bytes) -> KernelTypes:
    magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", blob, 0)
    if magic != MAGIC:
        raise ValueError("not BTF data")
    type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
    types = blob[hdr_len + type_off : hdr_len + type_off + type_len]
    strings = blob[hdr_len + str_off : hdr_len + str_off + str_len]
    members: Members = []  # kept in type-id order
    by_id: list[int] = [0]  # type id -> index in members, or -1
    pos = 0
    while pos < len(types):
        name_off, info, _size = struct.unpack_from("<III", types, pos)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        pos += 12
        fixed, per = _TRAILER.get(kind, (0, 0))
        if kind in (KIND_STRUCT, KIND_UNION):
            names = [struct.unpack_from("<III", types, pos + 12 * i) for i in range(vlen)]
            by_id.append(len(members))
            members.append((name_off, [(n, t) for n, t, _ in names]))
        else:
            by_id.append(-1)
        pos += fixed + per * vlen
    return KernelTypes(_flatten(strings, members, by_id))


def _flatten(strings: bytes, members: Members, by_id: list[int]) -> dict[str, frozenset[str]]:
    """Name -> field names; fields of anonymous struct/union members count as the parent's."""

    def fields(index: int, depth: int = 0) -> set[str]:
        out: set[str] = set()
        for name_off, type_id in members[index][1]:
            if name_off:
                out.add(_name(strings, name_off))
            elif depth < 4 and 0 < type_id < len(by_id) and by_id[type_id] >= 0:
                out |= fields(by_id[type_id], depth + 1)
        return out

    result: dict[str, frozenset[str]] = {}
    for index, (name_off, _) in enumerate(members):
        if name_off:
            name = _name(strings, name_off)
            if name not in result:
                result[name] = frozenset(fields(index))
    return result


@functools.cache
def kernel_types(path: Path = VMLINUX) -> KernelTypes | None:
    """The running kernel's types, read once; None when the kernel exposes no BTF."""
    try:
        return parse_btf(path.read_bytes())
    except (OSError, ValueError, struct.error):
        return None
