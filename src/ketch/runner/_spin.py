"""``inspect_spin``: point the Client at the spin store, where ``spin`` records its tasks."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import StoreNotFoundError
from ..runtime._spin import spin_store_exists


def inspect_spin(datastore_root: str = ".") -> str:
    """Make the Client read the tasks that ``python flow.py spin`` ran (until
    ``default_metadata()``); returns :func:`ketch.get_metadata`.

    Parameters
    ----------
    datastore_root
        The project directory the spins ran in (or its ``.ketch`` directory).

    Examples
    --------
    >>> from ketch import Flow, inspect_spin
    >>> inspect_spin(".")  # doctest: +SKIP
    >>> Flow("HelloFlow").latest_run["body"].task.data.value  # doctest: +SKIP
    """
    from ..client._context import Provider, _open, _provider, get_metadata

    root = Path(datastore_root).expanduser().resolve()
    home = spin_store_exists(root)
    if home is None:
        raise StoreNotFoundError(
            f"There is no spin store in {root}.",
            hint="Spin a step first (python flow.py spin STEP), or give the directory it ran in.",
        )
    provider = Provider(home, "", str(home.parent))  # the spun tasks' blobs are the project's
    _open(provider)
    _provider.set(provider)
    return get_metadata()
