"""The optional web dependencies, imported only when the UI starts."""

from __future__ import annotations

import importlib

from ..exceptions import UserError

UI_MODULES = ("starlette", "uvicorn", "jinja2")
INSTALL_HINT = "pip install 'ketch[ui]'"


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
            headline="Missing optional dependency",
            hint=INSTALL_HINT,
        )
