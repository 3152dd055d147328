"""The 1 GiB floors, run as a script: the flows' work done by one plain process.

``python bench/_iofloor.py random|zeros MIB DIR`` makes the same array as the flow
(``bigarray.py``: seeded random, ``compressible.py``: zeros), writes it with pickle protocol 5
(out-of-band buffer, no copy) to a file in DIR and fsyncs it, reads it back into memory and sums it.
For ``zeros`` the buffer is compressed with zstd (level 3, the codec's default) before writing
and decompressed after reading. Prints the phase times (seconds) and the file size as JSON.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time
from pathlib import Path


def main(kind: str, mib: int, directory: Path) -> None:
    import numpy as np

    t0 = time.perf_counter()
    n = mib * 2**20 // 8
    arr = np.random.default_rng(0).random(n) if kind == "random" else np.zeros(n)
    t1 = time.perf_counter()
    buffers: list[pickle.PickleBuffer] = []
    stream = pickle.dumps(arr, protocol=5, buffer_callback=buffers.append)
    payload = buffers[0].raw()
    if kind == "zeros":
        import zstandard

        payload = memoryview(zstandard.ZstdCompressor(level=3).compress(payload))
    path = directory / "floor.bin"
    with open(path, "wb", buffering=0) as fh:
        fh.write(len(stream).to_bytes(8, "little") + stream)
        view = memoryview(payload).cast("B")
        while view:
            view = view[fh.write(view) :]
        os.fsync(fh.fileno())
    size = path.stat().st_size
    del arr, buffers, payload, view
    t2 = time.perf_counter()
    with open(path, "rb", buffering=0) as fh:
        head = int.from_bytes(fh.read(8), "little")
        stream = fh.read(head)
        body = bytearray(size - 8 - head)
        fh.readinto(body)
    if kind == "zeros":
        import zstandard

        arr = pickle.loads(stream, buffers=[zstandard.ZstdDecompressor().decompress(body)])
    else:
        arr = pickle.loads(stream, buffers=[body])
    t3 = time.perf_counter()
    total = float(arr.sum())
    t4 = time.perf_counter()
    path.unlink()
    print(
        json.dumps(
            {
                "make": t1 - t0,
                "write": t2 - t1,
                "read": t3 - t2,
                "sum": t4 - t3,
                "bytes": size,
                "total": total,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
