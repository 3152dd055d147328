"""The web dependencies (in the base install), imported only when the UI starts."""

from __future__ import annotations

import importlib

from ..exceptions import UserError

UI_MODULES = ("starlette", "uvicorn", "jinja2")
# They are dependencies of ketch: one is missing only from an environment that was changed by
# hand (``pip uninstall``) or installed without dependencies (``pip install --no-deps``).
INSTALL_HINT = "pip install starlette uvicorn jinja2 (ketch's own dependencies)"


def require_ui_deps() -> None:
    """Import the UI's web stack, or raise a `UserError` saying how to install it."""
    missing = []
    for name in UI_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UserError(
            f"The web UI needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed.",
            headline="Missing dependency",
            hint=INSTALL_HINT,
        )
