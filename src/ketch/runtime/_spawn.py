"""``python -m ketch.runtime._spawn SPEC OUT ERR RESULT``: a task in a fresh interpreter."""

from ._child import spawn_main

if __name__ == "__main__":
    spawn_main()
