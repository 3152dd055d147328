"""Backends started on first use, as in JAX: a thread, and "cuda" unless JAX_PLATFORMS=cpu."""

import os
import threading
import time

_backends = {}


class Device:
    def __init__(self, platform):
        self.platform = platform


def _runtime():
    while True:
        time.sleep(3600)


def devices():
    if not _backends:
        threading.Thread(target=_runtime, name="jax-runtime", daemon=True).start()
        _backends["cpu"] = object()
        if os.environ.get("JAX_PLATFORMS", "") != "cpu":
            _backends["cuda"] = object()
    platform = "cuda" if "cuda" in _backends else "cpu"
    return [Device(platform)]
