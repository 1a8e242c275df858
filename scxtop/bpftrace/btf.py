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


_HEADER = struct.Struct("<III")  # name_off, info, size|type: every btf_type starts with it
_MEMBER = _HEADER  # btf_member: name_off, type, offset
MAX_ANONYMOUS_DEPTH = 4


@dataclass(frozen=True, slots=True)
class KernelTypes:
    """Struct and union names with their member names (anonymous members' fields included).

    Built by one pass that only notes where each struct's members are; a struct's member names
    are decoded when asked for. The probe programs ask about a handful of the kernel's ~10,000
    structs, and decoding all of them cost a quarter of a second at start and again at exit
    (freeing ~60,000 strings).
    """

    types: bytes
    strings: bytes
    by_name: dict[str, int]
    """Struct or union name -> its type id (the first, when a name repeats)."""
    members_at: list[tuple[int, int] | None]
    """Type id -> (offset of its members in `types`, how many), None for other kinds."""

    def has_struct(self, name: str) -> bool:
        return name in self.by_name

    def has_field(self, struct_name: str, field: str) -> bool:
        type_id = self.by_name.get(struct_name)
        return type_id is not None and field in self.fields(type_id)

    def fields(self, type_id: int, depth: int = 0) -> set[str]:
        """Member names of a struct or union; fields of anonymous members count as its own."""
        out: set[str] = set()
        where = self.members_at[type_id] if 0 < type_id < len(self.members_at) else None
        if where is None:
            return out
        pos, vlen = where
        for i in range(vlen):
            name_off, member_type, _ = _MEMBER.unpack_from(self.types, pos + 12 * i)
            if name_off:
                out.add(_name(self.strings, name_off))
            elif depth < MAX_ANONYMOUS_DEPTH:
                out |= self.fields(member_type, depth + 1)
        return out

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


def parse_btf(blob: bytes) -> KernelTypes:
    magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", blob, 0)
    if magic != MAGIC:
        raise ValueError("not BTF data")
    type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
    types = blob[hdr_len + type_off : hdr_len + type_off + type_len]
    strings = blob[hdr_len + str_off : hdr_len + str_off + str_len]
    members_at: list[tuple[int, int] | None] = [None]  # type id 0 is void
    by_name: dict[str, int] = {}
    header, trailer = _HEADER.unpack_from, _TRAILER.get
    pos, end = 0, len(types)
    while pos < end:
        name_off, info, _size = header(types, pos)
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        pos += 12
        if kind in (KIND_STRUCT, KIND_UNION):
            if pos + 12 * vlen > end:
                raise ValueError("BTF type section cut short")
            if name_off:
                by_name.setdefault(_name(strings, name_off), len(members_at))
            members_at.append((pos, vlen))
            pos += 12 * vlen
        else:
            members_at.append(None)
            fixed, per = trailer(kind, (0, 0))
            pos += fixed + per * vlen
    return KernelTypes(types, strings, by_name, members_at)


@functools.cache
def kernel_types(path: Path = VMLINUX) -> KernelTypes | None:
    """The running kernel's types, read once; None when the kernel exposes no BTF."""
    try:
        return parse_btf(path.read_bytes())
    except (OSError, ValueError, struct.error):
        return None
