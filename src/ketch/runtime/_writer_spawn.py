"""``python -m ketch.runtime._writer_spawn URL INBOX OUTBOX``: the writer in a fresh process."""

from ._writer import spawn_main

if __name__ == "__main__":
    spawn_main()
