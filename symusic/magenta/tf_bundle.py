"""TensorFlow's checkpoint format (V2, the "tensor bundle"), read with numpy and bounded.

A checkpoint ``PREFIX`` is ``PREFIX.index`` and ``PREFIX.data-00000-of-0000N``
(``tensorflow/core/util/tensor_bundle/tensor_bundle.cc``). The index is an SSTable
(``tensorflow/core/lib/io/format.cc``, ``block.cc``): a 48-byte footer (the metaindex and
index block handles, varints, then the magic number), blocks each followed by a compression
byte and a masked CRC-32C, entries with prefix-compressed keys and a restart array at the end.
The key ``""`` holds a ``BundleHeaderProto`` (shards, endianness, version); every other key
is a tensor's name and holds a ``BundleEntryProto`` (dtype, shape, shard, offset, size,
masked CRC-32C of the bytes; ``tensor_bundle.proto``). A tensor's bytes are its values in
little-endian row-major order. Protobuf is read by a small varint decoder for these fields.

Nothing in the files runs: every size is checked against the files before anything is read,
every block's and every tensor's CRC is checked, and every problem is one
:class:`TFCheckpointError` line. TensorFlow writes bundles uncompressed (``BundleWriter``
sets ``kNoCompression``); a Snappy-compressed block is refused, naming it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from symusic.magenta.crc32c import masked_crc32c
from symusic.musicvae.model.vae import CheckpointError

MAX_INDEX_BYTES = 64 << 20
MAX_ENTRIES = 1 << 16
MAX_SHARDS = 1024
MAX_RANK = 8
MAX_TENSOR_BYTES = 4 << 30
FOOTER_BYTES = 48  # two block handles padded to 40 bytes, and the 8-byte magic number
TABLE_MAGIC = 0xDB4775248B80FB57
BLOCK_TRAILER = 5  # compression type and masked CRC-32C
NO_COMPRESSION, SNAPPY = 0, 1
BUNDLE_VERSION = 1  # tensor_bundle.h kTensorBundleVersion
# tensorflow/core/framework/types.proto: the numeric dtypes a checkpoint of numbers holds
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
          17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}
DTYPE_NAMES = {7: "string", 14: "bfloat16", 8: "complex64", 18: "complex128", 20: "resource",
               21: "variant"}


class TFCheckpointError(CheckpointError):
    """Files that are not a usable TensorFlow checkpoint (one line, naming what is wrong)."""


class Files(Protocol):
    """Where a checkpoint's files are (a folder, a tar file): sizes and byte ranges by name."""

    where: str

    def size(self, name: str) -> int | None:
        """The file's size in bytes; None when there is no such file."""

    def read(self, name: str, offset: int, length: int) -> bytearray:
        """``length`` bytes of the file from ``offset`` (the caller checked the range)."""


def _varint(buffer: memoryview, pos: int, where: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buffer) or shift > 63:
            raise TFCheckpointError(f"{where}: a truncated or overlong varint")
        byte = buffer[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buffer: memoryview, where: str) -> Iterator[tuple[int, int | memoryview]]:
    """A protobuf message's ``(field number, value)``: ints for varint and fixed fields,
    bytes for length-delimited ones."""
    pos = 0
    while pos < len(buffer):
        key, pos = _varint(buffer, pos, where)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buffer, pos, where)
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(buffer):
                raise TFCheckpointError(f"{where}: a truncated protobuf field")
            value = int.from_bytes(buffer[pos:pos + width], "little")
            pos += width
        elif wire == 2:
            length, pos = _varint(buffer, pos, where)
            if pos + length > len(buffer):
                raise TFCheckpointError(f"{where}: a protobuf field runs past its message")
            value, pos = buffer[pos:pos + length], pos + length
        else:
            raise TFCheckpointError(f"{where}: protobuf wire type {wire} is not one TensorFlow "
                                    "writes here")
        yield field, value


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the index (``BundleEntryProto``)."""

    name: str
    dtype: int  # TensorFlow's DataType number
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc: int  # masked CRC-32C of the bytes
    sliced: bool  # a partitioned variable: its values are under other keys

    @property
    def numpy_dtype(self) -> np.dtype | None:
        """The dtype of the stored values (None for a kind that is not plain numbers)."""
        return np.dtype(DTYPES[self.dtype]) if self.dtype in DTYPES else None


def _shape(buffer: memoryview, where: str) -> tuple[int, ...]:
    dims = []
    for field, value in _fields(buffer, where):
        if field == 3 and value:
            raise TFCheckpointError(f"{where}: a tensor of unknown rank")
        if field == 2:
            size = next((v for f, v in _fields(value, where) if f == 1), 0)
            if size >= 1 << 63:  # -1 (unknown), stored as a two's-complement varint
                raise TFCheckpointError(f"{where}: a tensor with a dimension of unknown size")
            dims.append(size)
    if len(dims) > MAX_RANK:
        raise TFCheckpointError(f"{where}: a tensor of rank {len(dims)} (at most {MAX_RANK})")
    return tuple(dims)


def _entry(name: str, buffer: memoryview, where: str) -> TensorEntry:
    fields = {"dtype": 0, "shape": (), "shard": 0, "offset": 0, "size": 0, "crc": 0}
    sliced = False
    for field, value in _fields(buffer, f"{where}: {name}"):
        if field == 2:
            fields["shape"] = _shape(value, f"{where}: {name}")
        elif field == 7:
            sliced = True
        elif field in (1, 3, 4, 5, 6) and isinstance(value, int):
            fields[{1: "dtype", 3: "shard", 4: "offset", 5: "size", 6: "crc"}[field]] = value
    entry = TensorEntry(name, sliced=sliced, **fields)
    dtype = entry.numpy_dtype
    if not sliced and dtype is not None:
        count = math.prod(entry.shape)
        if entry.size != count * dtype.itemsize or entry.size > MAX_TENSOR_BYTES:
            raise TFCheckpointError(f"{where}: tensor {name[:100]!r} declares {entry.size} "
                                    f"bytes; its shape {list(entry.shape)} of {dtype} needs "
                                    f"{count * dtype.itemsize}")
    return entry


def _block(index: memoryview, handle: memoryview, where: str) -> memoryview:
    """The contents of the block at ``handle`` (offset and size varints), CRC checked."""
    offset, pos = _varint(handle, 0, where)
    size, _ = _varint(handle, pos, where)
    if offset + size + BLOCK_TRAILER > len(index) - FOOTER_BYTES:
        raise TFCheckpointError(f"{where}: a block at {offset} of {size} bytes runs past the "
                                "index (truncated?)")
    kind = index[offset + size]
    stored = int.from_bytes(index[offset + size + 1:offset + size + 5], "little")
    if masked_crc32c(index[offset:offset + size + 1]) != stored:
        raise TFCheckpointError(f"{where}: a block's CRC does not match its bytes (damaged)")
    if kind == SNAPPY:
        raise TFCheckpointError(f"{where}: Snappy-compressed index blocks; symusic reads "
                                "uncompressed ones (what TensorFlow's checkpoint writer makes)")
    if kind != NO_COMPRESSION:
        raise TFCheckpointError(f"{where}: unknown block compression {kind}")
    return index[offset:offset + size]


def _block_entries(block: memoryview, where: str) -> Iterator[tuple[bytes, memoryview]]:
    """A block's ``(key, value)`` pairs in order (keys restored from their shared prefix)."""
    if len(block) < 4:
        raise TFCheckpointError(f"{where}: a block too short for its restart count")
    restarts = int.from_bytes(block[-4:], "little")
    end = len(block) - 4 * (restarts + 1)
    if restarts == 0 or end < 0:
        raise TFCheckpointError(f"{where}: a block with {restarts} restart points")
    key, pos = b"", 0
    while pos < end:
        shared, pos = _varint(block, pos, where)
        unshared, pos = _varint(block, pos, where)
        length, pos = _varint(block, pos, where)
        if shared > len(key) or pos + unshared + length > end:
            raise TFCheckpointError(f"{where}: a damaged block entry")
        key = key[:shared] + bytes(block[pos:pos + unshared])
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _table(index: memoryview, where: str) -> Iterator[tuple[bytes, memoryview]]:
    """Every ``(key, value)`` of the SSTable, keys strictly increasing."""
    if len(index) < FOOTER_BYTES:
        raise TFCheckpointError(f"{where}: {len(index)} bytes, too short for an index")
    footer = index[len(index) - FOOTER_BYTES:]
    if int.from_bytes(footer[40:], "little") != TABLE_MAGIC:
        raise TFCheckpointError(f"{where}: not a TensorFlow checkpoint index (no table magic "
                                "number at its end; truncated?)")
    _, pos = _varint(footer, 0, where)  # the metaindex handle: TensorFlow leaves it empty
    _, pos = _varint(footer, pos, where)
    last = None
    for _, handle in _block_entries(_block(index, footer[pos:40], where), where):
        for key, value in _block_entries(_block(index, handle, where), where):
            if last is not None and key <= last:
                raise TFCheckpointError(f"{where}: index keys out of order (damaged)")
            last = key
            yield key, value


def _header(value: memoryview, where: str) -> int:
    """The number of data shards, after checking endianness and version."""
    shards, endianness, min_consumer = 0, 0, 0
    for field, item in _fields(value, where):
        if field == 1 and isinstance(item, int):
            shards = item
        elif field == 2 and isinstance(item, int):
            endianness = item
        elif field == 3 and not isinstance(item, int):
            min_consumer = next((v for f, v in _fields(item, where) if f == 2), 0)
    if endianness != 0:
        raise TFCheckpointError(f"{where}: a big-endian checkpoint; symusic reads "
                                "little-endian ones")
    if min_consumer > BUNDLE_VERSION:
        raise TFCheckpointError(f"{where}: a checkpoint format version {min_consumer}, newer "
                                f"than the version {BUNDLE_VERSION} symusic reads")
    if not 1 <= shards <= MAX_SHARDS:
        raise TFCheckpointError(f"{where}: {shards} data shards (1 to {MAX_SHARDS} expected)")
    return shards


class TensorBundle:
    """The tensors of the checkpoint ``prefix`` among ``files``: ``entries`` by name, and
    :meth:`read` to get one's values."""

    def __init__(self, files: Files, prefix: str):
        self.files, self.prefix = files, prefix
        self.where = f"{files.where}: {prefix}"
        index_size = files.size(prefix + ".index")
        if index_size is None:
            raise TFCheckpointError(f"{self.where}: no {prefix}.index")
        if index_size > MAX_INDEX_BYTES:
            raise TFCheckpointError(f"{self.where}.index: larger than {MAX_INDEX_BYTES:,} "
                                    "bytes")
        index = memoryview(files.read(prefix + ".index", 0, index_size))
        where = self.where + ".index"
        shards, entries = None, {}
        for key, value in _table(index, where):
            if key == b"":
                shards = _header(value, where)
                continue
            if len(entries) >= MAX_ENTRIES:
                raise TFCheckpointError(f"{where}: more than {MAX_ENTRIES} tensors")
            name = key.decode("utf-8", "replace")
            entries[name] = _entry(name, value, where)
        if shards is None:
            raise TFCheckpointError(f"{where}: no bundle header (not a V2 checkpoint)")
        self.shard_names = [f"{prefix}.data-{i:05d}-of-{shards:05d}" for i in range(shards)]
        sizes = [files.size(name) for name in self.shard_names]
        for entry in entries.values():
            if entry.sliced or entry.numpy_dtype is None:
                continue  # refused if asked for; nothing of it is read
            if not 0 <= entry.shard < shards:
                raise TFCheckpointError(f"{where}: tensor {entry.name[:100]!r} is in shard "
                                        f"{entry.shard} of {shards}")
            size = sizes[entry.shard]
            if size is None:
                raise TFCheckpointError(f"{self.where}: no data file "
                                        f"{self.shard_names[entry.shard]}")
            if entry.offset + entry.size > size:
                raise TFCheckpointError(f"{where}: tensor {entry.name[:100]!r} runs past the "
                                        f"end of {self.shard_names[entry.shard]} ({size} "
                                        "bytes; truncated?)")
        self.entries: dict[str, TensorEntry] = entries

    def read(self, name: str) -> np.ndarray:
        """The values of tensor ``name`` (a writable array of its dtype and shape), CRC
        checked."""
        entry = self.entries[name]
        if entry.sliced:
            raise TFCheckpointError(f"{self.where}: {name[:100]!r} is a partitioned variable; "
                                    "symusic reads whole tensors")
        dtype = entry.numpy_dtype
        if dtype is None:
            kind = DTYPE_NAMES.get(entry.dtype, f"dtype {entry.dtype}")
            raise TFCheckpointError(f"{self.where}: {name[:100]!r} holds {kind} values, not "
                                    "numbers symusic reads")
        raw = self.files.read(self.shard_names[entry.shard], entry.offset, entry.size)
        if masked_crc32c(raw) != entry.crc:
            raise TFCheckpointError(f"{self.where}: the bytes of {name[:100]!r} do not match "
                                    "their CRC (damaged)")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape)

