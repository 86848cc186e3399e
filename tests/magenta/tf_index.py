"""A minimal writer of TensorFlow checkpoint indexes, for the damaged and hostile cases.

The real files come from TensorFlow (``make_tf_fixtures.py``); this rewrites one's entries
after a change, as TensorFlow's ``TableBuilder`` lays them out (``table/format.cc``): one data
block (no shared key prefixes, one restart point), the index block naming it, an empty
metaindex block, each block followed by its compression byte and masked CRC-32C, and the
48-byte footer with the magic number.
"""

from __future__ import annotations

from symusic.magenta.crc32c import masked_crc32c
from symusic.magenta.tf_bundle import TABLE_MAGIC, _table, _varint


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: int | bytes) -> bytes:
    """A protobuf field: varint for an int, length-delimited for bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def _block_bytes(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    return body + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")


def write_index(entries: list[tuple[bytes, bytes]], compression: int = 0) -> bytes:
    """An SSTable holding ``entries`` (sorted by key by the caller)."""
    out = bytearray()

    def add_block(contents: bytes, kind: int = 0) -> bytes:
        handle = varint(len(out)) + varint(len(contents))
        trailer = bytes([kind])
        out.extend(contents + trailer
                   + masked_crc32c(contents + trailer).to_bytes(4, "little"))
        return handle

    data = add_block(_block_bytes(entries), compression)
    metaindex = add_block(_block_bytes([]))
    index = add_block(_block_bytes([(entries[-1][0] + b"\xff", data)]))
    handles = (metaindex + index).ljust(40, b"\0")
    return bytes(out) + handles + TABLE_MAGIC.to_bytes(8, "little")


def read_index(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The entries of a real index, to change and write back."""
    return [(k, bytes(v)) for k, v in _table(memoryview(raw), "index")]


def entry_fields(value: bytes) -> dict[int, int | bytes]:
    """A BundleEntryProto's fields by number (each appears once in what TensorFlow writes)."""
    found, pos, buffer = {}, 0, memoryview(value)
    while pos < len(buffer):
        key, pos = _varint(buffer, pos, "entry")
        if key & 7 == 2:
            length, pos = _varint(buffer, pos, "entry")
            found[key >> 3], pos = bytes(buffer[pos:pos + length]), pos + length
        elif key & 7 == 5:
            found[key >> 3], pos = int.from_bytes(buffer[pos:pos + 4], "little"), pos + 4
        else:
            found[key >> 3], pos = _varint(buffer, pos, "entry")
    return found


def entry_bytes(fields: dict[int, int | bytes]) -> bytes:
    """The fields back as a BundleEntryProto (crc32c, field 6, as fixed32)."""
    out = b""
    for number in sorted(fields):
        value = fields[number]
        if number == 6:
            out += varint(6 << 3 | 5) + int(value).to_bytes(4, "little")
        else:
            out += field(number, value)
    return out

