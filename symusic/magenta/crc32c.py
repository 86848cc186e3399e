"""CRC-32C (Castagnoli), as TensorFlow checks its checkpoint files, with numpy.

TensorFlow stores ``masked_crc32c(data)`` (``tensorflow/core/lib/hash/crc32c.h``: the CRC
rotated right by 15 bits plus ``0xa282ead8``) in each table block's trailer and in each
tensor's ``BundleEntryProto``. A byte-at-a-time loop in Python would take minutes for a large
checkpoint, so the data is cut into many chunks whose CRCs run side by side in numpy, then
joined pairwise: CRC is linear, ``raw(A + B) = shift(raw(A), len(B)) ^ raw(B)`` for the
register with no initial value, ``shift`` being the register fed that many zero bytes.
"""

from __future__ import annotations

import numpy as np

POLYNOMIAL = 0x82F63B78  # CRC-32C, reflected
MASK_DELTA = 0xA282EAD8
MAX_CHUNKS = 1 << 16  # registers run side by side


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(POLYNOMIAL), table >> 1)
    return table.astype(np.uint32)


TABLE = _byte_table()


def _feed_zeros(registers: np.ndarray, count: int) -> np.ndarray:
    for _ in range(count):
        registers = TABLE[registers & 0xFF] ^ (registers >> 8)
    return registers


class _Shift:
    """The linear map "feed n zero bytes" on the 32-bit register, as four byte tables."""

    def __init__(self, images: np.ndarray):  # images[i]: the map of the register 1 << i
        self.images = images
        self.tables = []
        for part in range(4):
            table = np.zeros(256, dtype=np.uint32)
            for bit in range(8):
                step = 1 << bit
                table[step:2 * step] = table[:step] ^ images[8 * part + bit]
            self.tables.append(table)

    @classmethod
    def of_zeros(cls, count: int) -> _Shift:
        return cls(_feed_zeros(np.uint32(1) << np.arange(32, dtype=np.uint32), count))

    def __call__(self, registers: np.ndarray) -> np.ndarray:
        t = self.tables
        return (t[0][registers & 0xFF] ^ t[1][(registers >> 8) & 0xFF]
                ^ t[2][(registers >> 16) & 0xFF] ^ t[3][registers >> 24])

    def doubled(self) -> _Shift:
        return _Shift(self(self.images))


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """The CRC-32C of ``data`` (``crc32c(b"123456789") == 0xE3069283``)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < 4:
        register = np.uint32(0xFFFFFFFF)
        for byte in buffer:
            register = TABLE[(register ^ byte) & 0xFF] ^ (register >> 8)
        return int(register ^ np.uint32(0xFFFFFFFF))
    length = max(16, -(-buffer.size // MAX_CHUNKS))
    chunks = -(-buffer.size // length)
    # leading zero bytes leave a zero register at zero, so pad in front; the initial value
    # 0xFFFFFFFF is the same as inverting the first four bytes
    padded = np.zeros(chunks * length, dtype=np.uint8)
    padded[padded.size - buffer.size:] = buffer
    padded[padded.size - buffer.size:][:4] ^= 0xFF
    rows = padded.reshape(chunks, length)
    registers = np.zeros(chunks, dtype=np.uint32)
    for column in range(length):
        registers = TABLE[(registers ^ rows[:, column]) & 0xFF] ^ (registers >> 8)
    shift = _Shift.of_zeros(length)
    while registers.size > 1:
        if registers.size % 2:
            registers = np.concatenate([np.zeros(1, dtype=np.uint32), registers])
        registers = shift(registers[0::2]) ^ registers[1::2]
        shift = shift.doubled()
    return int(registers[0] ^ np.uint32(0xFFFFFFFF))


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """TensorFlow's stored form of the CRC (``crc32c::Mask``)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF
