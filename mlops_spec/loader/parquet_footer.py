"""Just enough of the parquet format to check a spec against its entity file, in pure Python.

``mlops-spec plan`` (and validate) load specs through the loader, and must not import numpy,
which pyarrow does on import. What the checks need is small and sits in well-defined places:
the columns and row count are in the footer (Thrift compact protocol), the label's missing
values in the footer's column statistics, and its distinct values in the dictionary page of
each row group (writers dictionary-encode columns with few values, which labels of a
classification have). Snappy, gzip and uncompressed pages are read; anything else
(another codec, no dictionary, a nested column) makes the answer unknown, never wrong.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"PAR1"
MAX_FOOTER_BYTES = 16 * 1024 * 1024
MAX_DICTIONARY_BYTES = 1024 * 1024  # larger dictionaries are no label's; skip them
PHYSICAL_TYPES = (
    "BOOLEAN",
    "INT32",
    "INT64",
    "INT96",
    "FLOAT",
    "DOUBLE",
    "BYTE_ARRAY",
    "FIXED_LEN_BYTE_ARRAY",
)
_TIME_CONVERTED = frozenset({6, 7, 8, 9, 10})  # DATE, TIME_*, TIMESTAMP_*
_TIME_LOGICAL = frozenset({6, 7, 8})  # DATE, TIME, TIMESTAMP members of LogicalType


class NotParquet(ValueError):
    """The file is not parquet at all (no PAR1 magic), as opposed to a part we cannot read."""


class Unreadable(ValueError):
    """A part of the file this reader does not handle; the caller treats it as unknown."""


@dataclass(frozen=True)
class Column:
    """A top-level column: its name, physical type and whether its values are numbers."""

    name: str
    physical: str
    numeric: bool
    leaf: bool
    described: str  # what its values are, in words ("text", "dates or times", "INT64")
    optional: bool = False  # may hold nulls (its data pages carry definition levels)


@dataclass(frozen=True)
class Footer:
    columns: tuple[Column, ...]
    rows: int
    row_groups: tuple[dict[int, Any], ...]  # raw RowGroup structs


# --- Thrift compact protocol ------------------------------------------------------------------


class _Thrift:
    """Decode compact-protocol structs into ``{field id: value}`` dicts."""

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.pos = position

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise Unreadable("truncated thrift data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise Unreadable("varint too long")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):  # a bool inside a list/map: one byte
            return self.byte() == 1
        if kind == 3:
            return struct.unpack("b", bytes([self.byte()]))[0]
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            end = self.pos + 8
            (number,) = struct.unpack("<d", self.data[self.pos : end])
            self.pos = end
            return number
        if kind == 8:
            size = self.varint()
            chunk = self.data[self.pos : self.pos + size]
            self.pos += size
            return chunk
        if kind in (9, 10):
            return self.items()
        if kind == 11:
            return self.mapping()
        if kind == 12:
            return self.struct()
        raise Unreadable(f"thrift type {kind}")

    def items(self) -> list[Any]:
        header = self.byte()
        size, kind = header >> 4, header & 0x0F
        if size == 15:
            size = self.varint()
        return [self.value(kind) for _ in range(size)]

    def mapping(self) -> dict[Any, Any]:
        size = self.varint()
        if not size:
            return {}
        kinds = self.byte()
        return {self.value(kinds >> 4): self.value(kinds & 0x0F) for _ in range(size)}

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            kind, delta = header & 0x0F, header >> 4
            last = last + delta if delta else self.zigzag()
            fields[last] = (kind == 1) if kind in (1, 2) else self.value(kind)


# --- footer and schema ------------------------------------------------------------------------


def read_footer(handle: BinaryIO) -> Footer:
    """The file's top-level columns, row count and row groups."""
    handle.seek(0, 2)
    size = handle.tell()
    if size < 12:
        raise NotParquet("the file is too small to be parquet")
    handle.seek(0)
    head = handle.read(4)
    handle.seek(size - 8)
    tail = handle.read(8)
    if head != MAGIC or tail[4:] != MAGIC:
        raise NotParquet("no parquet magic bytes (PAR1) at the start and end of the file")
    (length,) = struct.unpack("<I", tail[:4])
    if length > min(size - 12, MAX_FOOTER_BYTES):
        raise Unreadable("footer length out of range")
    handle.seek(size - 8 - length)
    meta = _Thrift(handle.read(length)).struct()
    return Footer(_top_level_columns(meta.get(2, [])), int(meta.get(3, 0)), tuple(meta.get(4, [])))


def _top_level_columns(schema: list[dict[int, Any]]) -> tuple[Column, ...]:
    """Children of the root schema element, skipping the descendants of nested ones."""
    if not schema:
        raise Unreadable("empty schema")
    columns: list[Column] = []
    index, remaining = 1, int(schema[0].get(5, 0))
    while remaining and index < len(schema):
        element = schema[index]
        children = int(element.get(5, 0) or 0)
        name = bytes(element.get(4, b"")).decode("utf-8", errors="replace")
        physical = PHYSICAL_TYPES[element[1]] if 0 <= element.get(1, -1) < 8 else "GROUP"
        numeric = _numeric(element, physical)
        described = _described(element, physical, numeric)
        optional = element.get(3) == 1
        columns.append(Column(name, physical, numeric, children == 0, described, optional))
        index = _skip_subtree(schema, index)
        remaining -= 1
    return tuple(columns)


def _skip_subtree(schema: list[dict[int, Any]], index: int) -> int:
    pending = 1
    while pending and index < len(schema):
        pending += int(schema[index].get(5, 0) or 0) - 1
        index += 1
    return index


def _described(element: dict[int, Any], physical: str, numeric: bool) -> str:
    if numeric:
        return physical
    if element.get(6) in _TIME_CONVERTED or _TIME_LOGICAL & set(element.get(10) or {}):
        return "dates or times"
    return "text" if physical in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY") else physical


def _numeric(element: dict[int, Any], physical: str) -> bool:
    """Numbers as a model's label: ints, floats, decimals and booleans, not dates or text."""
    converted = element.get(6)
    logical = element.get(10) or {}
    if converted in _TIME_CONVERTED or _TIME_LOGICAL & set(logical):
        return False
    if converted == 5 or 5 in logical:  # DECIMAL
        return True
    return physical in ("BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE")


# --- the label column -------------------------------------------------------------------------


def column_chunks(footer: Footer, name: str) -> list[dict[int, Any]]:
    """The ColumnMetaData of the top-level leaf column ``name`` in every row group."""
    found: list[dict[int, Any]] = []
    for group in footer.row_groups:
        for chunk in group.get(1, []):
            meta = chunk.get(3) or {}
            path = [bytes(p).decode("utf-8", errors="replace") for p in meta.get(3, [])]
            if path == [name]:
                if chunk.get(1):
                    raise Unreadable("column data in another file")
                found.append(meta)
    if len(found) != len(footer.row_groups):
        raise Unreadable(f"column {name!r} is not a leaf in every row group")
    return found


def null_count(chunks: list[dict[int, Any]]) -> int | None:
    """Nulls across row groups from the statistics, or None when a chunk has none."""
    total = 0
    for meta in chunks:
        stats = meta.get(12) or {}
        if 3 not in stats:
            return None
        total += int(stats[3])
    return total


def _page(handle: BinaryIO, offset: int, codec: int) -> tuple[dict[int, Any], bytes, int]:
    """The page header at ``offset``, its body (decompressed, except a v2 page's levels stay
    in front as written) and the offset of the next page."""
    handle.seek(offset)
    reader = _Thrift(handle.read(64 * 1024))
    header = reader.struct()
    size, full = int(header.get(3, 0)), int(header.get(2, 0))
    if size > MAX_DICTIONARY_BYTES * 16:
        raise Unreadable("page too large")
    handle.seek(offset + reader.pos)
    raw = handle.read(size)
    v2 = header.get(8)
    if header.get(1) == 3 and isinstance(v2, dict):
        levels = int(v2.get(5, 0)) + int(v2.get(6, 0))
        rest = raw[levels:]
        if v2.get(7, True):
            rest = _decompress(rest, codec, full - levels)
        return header, raw[:levels] + rest, offset + reader.pos + size
    return header, _decompress(raw, codec, full), offset + reader.pos + size


def _dictionary(handle: BinaryIO, meta: dict[int, Any]) -> list[Any]:
    offset = meta.get(11) or meta.get(9)
    if offset is None:
        raise Unreadable("no page offset")
    header, page, _ = _page(handle, int(offset), int(meta.get(4, 0)))
    if header.get(1) != 2:  # not a dictionary page: the column is not dictionary-encoded
        raise Unreadable("no dictionary page")
    if len(page) > MAX_DICTIONARY_BYTES:
        raise Unreadable("dictionary too large")
    count = int((header.get(7) or {}).get(1, 0))
    return _plain(page, PHYSICAL_TYPES[int(meta.get(1, 7))], count)


def dictionary_values(handle: BinaryIO, chunks: list[dict[int, Any]]) -> set[Any]:
    """Every value of the column's dictionary pages. Writers put each value there once; one
    that wrote an Arrow dictionary (a pandas Categorical) may also keep unused categories, so a
    caller about to object to a value count asks ``used_values``."""
    values: set[Any] = set()
    for meta in chunks:
        values |= set(_dictionary(handle, meta))
    return values


def used_values(handle: BinaryIO, chunks: list[dict[int, Any]], optional: bool) -> set[Any]:
    """The values the data pages actually use: dictionary indices decoded, page by page."""
    used: set[Any] = set()
    for meta in chunks:
        dictionary = _dictionary(handle, meta)
        everything = set(dictionary)
        physical = PHYSICAL_TYPES[int(meta.get(1, 7))]
        offset = int(meta.get(11) or meta[9])
        end = offset + int(meta[7])
        seen: set[Any] = set()
        while offset < end and not everything <= seen:  # stop once every value is seen
            header, body, offset = _page(handle, offset, int(meta.get(4, 0)))
            if header.get(1) in (0, 3):
                seen |= _page_values(header, body, dictionary, physical, optional)
        used |= seen
    return used


def _page_values(
    header: dict[int, Any], body: bytes, dictionary: list[Any], physical: str, optional: bool
) -> set[Any]:
    """One data page's values: how many are present, then their indices (or plain values)."""
    if header.get(1) == 3:
        v2 = header[8]
        present = int(v2.get(1, 0)) - int(v2.get(2, 0))
        encoding, body = int(v2.get(4, 0)), body[int(v2.get(5, 0)) + int(v2.get(6, 0)) :]
    else:
        v1 = header.get(5) or {}
        present, encoding = int(v1.get(1, 0)), int(v1.get(2, 0))
        if optional:
            (length,) = struct.unpack_from("<I", body, 0)
            present = sum(_hybrid(body[4 : 4 + length], 1, present))
            body = body[4 + length :]
    if encoding == 0:  # PLAIN: the writer gave up on the dictionary for this page
        return set(_plain(body, physical, present))
    if encoding not in (2, 8):
        raise Unreadable(f"encoding {encoding}")
    indices = set(_hybrid(body[1:], body[0], present)) if present else set()
    if any(i >= len(dictionary) for i in indices):
        raise Unreadable("dictionary index out of range")
    return {dictionary[i] for i in indices}


def _hybrid(data: bytes, width: int, count: int) -> list[int]:
    """``count`` values of the RLE / bit-packed hybrid encoding at bit ``width``."""
    values: list[int] = []
    reader = _Thrift(data)
    mask, size = (1 << width) - 1, (width + 7) // 8
    while len(values) < count and reader.pos < len(data):
        run = reader.varint()
        if run & 1:
            for _ in range(run >> 1):
                group = int.from_bytes(data[reader.pos : reader.pos + width], "little")
                reader.pos += width
                values += [(group >> (i * width)) & mask for i in range(8)]
        else:
            value = int.from_bytes(data[reader.pos : reader.pos + size], "little")
            reader.pos += size
            values += [value] * min(run >> 1, count - len(values))
    return values[:count]


def _decompress(data: bytes, codec: int, expected: int) -> bytes:
    if codec == 0:
        out = data
    elif codec == 1:
        out = snappy_decompress(data)
    elif codec == 2:
        out = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    else:
        raise Unreadable(f"codec {codec}")
    if len(out) != expected:
        raise Unreadable("page size mismatch")
    return out


def _plain(page: bytes, physical: str, count: int) -> list[Any]:
    """PLAIN-encoded values (a dictionary page's encoding)."""
    fixed = {"INT32": "<i", "INT64": "<q", "FLOAT": "<f", "DOUBLE": "<d"}
    if physical in fixed:
        width = struct.calcsize(fixed[physical])
        if len(page) < width * count:
            raise Unreadable("short dictionary page")
        return [v for (v,) in struct.iter_unpack(fixed[physical], page[: width * count])]
    if physical != "BYTE_ARRAY":
        raise Unreadable(f"dictionary of {physical}")
    values: list[Any] = []
    pos = 0
    for _ in range(count):
        (length,) = struct.unpack_from("<I", page, pos)
        chunk = page[pos + 4 : pos + 4 + length]
        values.append(chunk.decode("utf-8", errors="surrogateescape"))
        pos += 4 + length
    return values


def snappy_decompress(data: bytes) -> bytes:
    """Raw (unframed) snappy, the format parquet pages use."""
    reader = _Thrift(data)
    expected = reader.varint()
    out = bytearray()
    pos = reader.pos
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            out += data[pos : pos + length + 1]
            pos += length + 1
            continue
        if kind == 1:
            length, offset = ((tag >> 2) & 7) + 4, ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length, offset = (tag >> 2) + 1, int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if not 0 < offset <= len(out):
            raise Unreadable("bad snappy offset")
        for _ in range(length):  # byte by byte: a copy may overlap what it writes
            out.append(out[-offset])
    if len(out) != expected:
        raise Unreadable("snappy length mismatch")
    return bytes(out)


def open_parquet(path: Path) -> BinaryIO:
    return path.open("rb")
