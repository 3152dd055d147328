"""``torch.cuda`` of the stand-in: initialised state, poisoned forks, visible devices."""

import os

_initialized = False
_poisoned = False  # this process initialised the driver: its forks cannot use it
_in_bad_fork = False


def _after_fork_in_child():
    global _in_bad_fork, _initialized
    if _poisoned:
        _in_bad_fork = True
    _initialized = False


os.register_at_fork(after_in_child=_after_fork_in_child)


def _visible():
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return ["0", "1", "2", "3"]
    return [v for v in value.split(",") if v.strip()]


def _init_driver():
    global _poisoned
    if _in_bad_fork:
        raise RuntimeError(
            "Cannot re-initialize CUDA in forked subprocess. To use CUDA with "
            "multiprocessing, you must use the 'spawn' start method"
        )
    _poisoned = True


def _lazy_init():
    global _initialized
    if _initialized:
        return
    _init_driver()
    if not _visible():
        raise RuntimeError("No CUDA GPUs are available")
    _initialized = True


def is_available():
    if os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK") == "1":
        return bool(_visible())
    _init_driver()
    return bool(_visible())


def is_initialized():
    return _initialized


def device_count():
    return len(_visible()) if is_available() else 0
