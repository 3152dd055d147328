"""``python -m ketch.cli``: the same as the ``ketch`` command."""

from ._main import main

main()
