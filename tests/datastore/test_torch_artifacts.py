"""PyTorch tensors as artifacts, including tensors stored from a GPU and read on a CPU machine.

A CPU machine cannot make a CUDA tensor, but it can make the very bytes a GPU machine stores:
PyTorch records each storage's device through its location taggers, and a tagger registered
for the test names ``cuda:0``, as PyTorch's own tagger does for a tensor on the first GPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ketch.datastore._serialize import decode, encode

torch = pytest.importorskip("torch")


@pytest.fixture
def stored_as_if_on_gpu() -> Iterator[None]:
    from torch import serialization

    def tag(storage: Any) -> str | None:
        return "cuda:0" if storage.device.type == "cpu" else None

    def never_restore(obj: Any, location: str) -> None:
        return None  # leave restoring to PyTorch's own deserializers

    serialization.register_package(0, tag, never_restore)
    entry = serialization._package_registry[0]
    try:
        yield
    finally:
        serialization._package_registry.remove(entry)


def _roundtrip(value: object) -> Any:
    encoded = encode(value)
    data = b"".join(bytes(memoryview(p)) for p in encoded.parts)
    return decode(memoryview(data))


def test_a_cpu_tensor_round_trips() -> None:
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    back = _roundtrip(t)
    assert torch.equal(back, t) and back.device.type == "cpu"


def test_a_gpu_tensor_reads_back_on_a_machine_without_gpu_as_a_cpu_copy(
    stored_as_if_on_gpu: None,
) -> None:
    t = torch.arange(6, dtype=torch.float64)
    model = torch.nn.Linear(3, 2)
    encoded = encode({"t": t, "model": model})
    data = b"".join(bytes(memoryview(p)) for p in encoded.parts)
    assert b"cuda:0" in data  # stored as a GPU machine stores it
    assert not torch.cuda.is_available()
    back = decode(memoryview(data))
    assert back["t"].device.type == "cpu" and torch.equal(back["t"], t)
    assert torch.equal(back["model"].weight, model.weight)


def test_other_runtime_errors_are_not_swallowed() -> None:
    class Broken:
        def __reduce__(self) -> tuple[Any, ...]:
            return (_raise, ())

    with pytest.raises(RuntimeError, match="boom"):
        _roundtrip(Broken())


def _raise() -> None:
    raise RuntimeError("boom")
