"""A module that starts a thread when imported (see README.md)."""

import threading
import time


def _work():
    while True:
        time.sleep(3600)


threading.Thread(target=_work, name="loader-pool", daemon=True).start()
