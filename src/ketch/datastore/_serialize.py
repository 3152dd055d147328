"""Artifact encoding: pickle protocol 5 with out-of-band buffers, compressed only where it pays.

Layout of an encoded artifact (all integers little-endian)::

    b"KTA1" | u32 n | n x (u8 codec, u64 stored_len, u64 raw_len) | padding to 64
    segment 0 (the pickle stream) | padding to 64 | segment 1 (buffer 0) | ...

Segments are 64-byte aligned so that arrays read back from a memory map stay aligned.
Large buffers are written straight from the objects' memory: no copy is made to encode them.
A PyTorch tensor stored from a GPU reads back on a machine without one as a CPU copy.
"""

from __future__ import annotations

import io
import pickle
import struct
from dataclasses import dataclass
from typing import Any

from ._storage import Buffer

MAGIC = b"KTA1"
ENCODING = "ketch-pickle5"
_ALIGN = 64
_RAW, _ZSTD = 0, 1
_SEG = struct.Struct("<BQQ")
_SAMPLE = 1 << 17  # bytes tried before deciding whether a segment is worth compressing
_MIN_COMPRESS = 4096
_GAIN = 0.75  # compress only when the sample shrinks to this fraction or less


@dataclass(frozen=True)
class Encoded:
    parts: list[Buffer]
    size: int  # total stored bytes
    type_name: str


def type_name(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _compressor() -> Any:
    import zstandard

    return zstandard.ZstdCompressor(level=1, threads=-1)


def _worth_compressing(view: memoryview) -> bool:
    if view.nbytes < _MIN_COMPRESS:
        return False
    sample = view[:_SAMPLE]
    return len(_compressor().compress(sample)) <= _GAIN * sample.nbytes


def encode(obj: object) -> Encoded:
    """Serialize ``obj``; raises whatever pickle raises for an unpicklable value."""
    buffers: list[pickle.PickleBuffer] = []
    stream = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [memoryview(stream)] + [b.raw() for b in buffers]
    segments: list[tuple[int, Buffer, int]] = []
    for raw in raws:
        if _worth_compressing(raw):
            segments.append((_ZSTD, _compressor().compress(raw), raw.nbytes))
        else:
            segments.append((_RAW, raw, raw.nbytes))
    header = bytearray(MAGIC + struct.pack("<I", len(segments)))
    for codec, data, raw_len in segments:
        header += _SEG.pack(codec, memoryview(data).nbytes, raw_len)
    parts: list[Buffer] = [bytes(header), _padding(len(header))]
    size = len(header) + len(parts[1])
    for _codec, data, _raw_len in segments:
        n = memoryview(data).nbytes
        parts.append(data)
        pad = _padding(n)
        parts.append(pad)
        size += n + len(pad)
    parts = [p for p in parts if memoryview(p).nbytes]
    return Encoded(parts=parts, size=size, type_name=type_name(obj))


def _padding(n: int) -> bytes:
    return b"\0" * (-n % _ALIGN)


def _decompress(data: memoryview, raw_len: int) -> memoryview:
    """Decompress into a writable buffer of the known size (no intermediate copy)."""
    import zstandard

    out = bytearray(raw_len)
    view = memoryview(out)
    with zstandard.ZstdDecompressor().stream_reader(data) as reader:
        done = 0
        while done < raw_len:
            n = reader.readinto(view[done:])
            if not n:
                raise ValueError("compressed segment is shorter than its recorded size")
            done += n
    return view


def decode(view: memoryview) -> Any:
    """Rebuild the object from an encoded artifact; buffers alias ``view`` where uncompressed."""
    if bytes(view[:4]) != MAGIC:
        raise ValueError("not a ketch artifact (bad magic)")
    (count,) = struct.unpack_from("<I", view, 4)
    offset = 8
    table = []
    for _ in range(count):
        table.append(_SEG.unpack_from(view, offset))
        offset += _SEG.size
    offset += -offset % _ALIGN
    segments: list[Buffer] = []
    for codec, stored_len, raw_len in table:
        data = view[offset : offset + stored_len]
        if codec == _ZSTD:
            segments.append(_decompress(data, raw_len))
        else:
            segments.append(data)
        offset += stored_len + (-stored_len % _ALIGN)
    try:
        return pickle.loads(segments[0], buffers=segments[1:])
    except RuntimeError as exc:
        if _CUDA_ON_CPU not in str(exc):
            raise
    return _CpuUnpickler(io.BytesIO(segments[0]), buffers=segments[1:]).load()


# What PyTorch says when a pickled tensor names a CUDA device and this machine has none.
_CUDA_ON_CPU = "Attempting to deserialize object on a CUDA device"


class _CpuUnpickler(pickle.Unpickler):
    """Reads PyTorch tensors stored from a GPU back into CPU memory, on a machine without one
    (as ``torch.load(..., map_location="cpu")`` would): an artifact saved by a GPU task stays
    readable from a laptop. Used only after the plain load failed for that reason."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _load_storage_on_cpu
        return super().find_class(module, name)


def _load_storage_on_cpu(data: bytes) -> Any:
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
