"""A stand-in for PyTorch's CUDA fork handling (see ../README.md)."""

import os

from . import cuda


class Tensor:
    def __init__(self, values, device):
        self.values = list(values)
        self.device = device

    def sum(self):
        return sum(self.values)


def zeros(n, device="cpu"):
    if str(device).startswith("cuda"):
        cuda._lazy_init()
    return Tensor([0.0] * n, str(device))


def ones(n, device="cpu"):
    t = zeros(n, device)
    t.values = [1.0] * n
    return t


__all__ = ["Tensor", "cuda", "ones", "zeros", "os"]
