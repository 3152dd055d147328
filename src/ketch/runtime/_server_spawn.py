"""``python -m ketch.runtime._server_spawn PARENT SOCKET SPEC``: a fork server in a fresh
interpreter (see ``_forkserver.ForkServer.spawn``)."""

from ._forkserver import spawned_main

if __name__ == "__main__":
    spawned_main()
