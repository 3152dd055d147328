"""Point the harness's Metaflow imports at ketch.

Only ``from metaflow[.module] import name`` statements change. Each name goes where ketch
provides it (``RENAMES`` for the few that ketch names differently, else the same name in the
matching ketch module); a name ketch lacks is bound to a placeholder from
``ketch_core_shim.missing``, which raises ``NotImplementedError("ketch has no metaflow.X")``
when the flow uses it, so a test that needs it fails with that reason instead of an
``ImportError`` that would hide every other result of the file.
"""

from __future__ import annotations

import ast
import json
import subprocess
from collections.abc import Mapping

SHIM_MODULE = "ketch_core_shim"

# Metaflow module -> the ketch module that holds its public names.
MODULES: dict[str, str] = {
    "metaflow": "ketch",
    "metaflow.client": "ketch.client",
    "metaflow.cards": "ketch.cards",
    "metaflow.metaflow_current": "ketch",
    "metaflow.plugins.cards.card_client": "ketch.cards",
    "metaflow.exception": "ketch.exceptions",
}

# (Metaflow module, name) -> (ketch module, name): the same concept under another name.
RENAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("metaflow.exception", "MetaflowException"): ("ketch.exceptions", "KetchException"),
    ("metaflow.exception", "MetaflowNamespaceMismatch"): (
        "ketch.exceptions",
        "NamespaceMismatchError",
    ),
    ("metaflow.exception", "MissingInMergeArtifactsException"): (
        "ketch.exceptions",
        "MergeArtifactsError",
    ),
    ("metaflow.exception", "UnhandledInMergeArtifactsException"): (
        "ketch.exceptions",
        "MergeArtifactsError",
    ),
    # A three-line helper of the checkers, not part of Metaflow's API; the shim has its own.
    ("metaflow.util", "is_stringish"): (SHIM_MODULE, "is_stringish"),
}


def ketch_names(python: str) -> dict[str, set[str]]:
    """The public names of each ketch module in ``MODULES``, as ``python`` sees them."""
    modules = sorted(set(MODULES.values()))
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for m in {modules!r}:\n"
        "    mod = importlib.import_module(m)\n"
        "    out[m] = sorted(set(getattr(mod, '__all__', [])) | set(dir(mod)))\n"
        "json.dump(out, sys.stdout)\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return {module: set(names) for module, names in json.loads(done.stdout).items()}


def _target(module: str, name: str, available: Mapping[str, set[str]]) -> tuple[str, str] | None:
    if (module, name) in RENAMES:
        target = RENAMES[(module, name)]
    elif module in MODULES:
        target = (MODULES[module], name)
    else:
        return None
    if target[0] == SHIM_MODULE or target[1] in available.get(target[0], set()):
        return target
    return None


def _rewrite_import(node: ast.ImportFrom, available: Mapping[str, set[str]]) -> str:
    """One line of statements that binds the same names as ``node``, from ketch."""
    module = node.module or ""
    by_module: dict[str, list[str]] = {}
    placeholders = []
    for alias in node.names:
        bound = alias.asname or alias.name
        target = _target(module, alias.name, available)
        if target is None:
            placeholders.append(f"{bound} = missing({module + '.' + alias.name!r})")
            continue
        text = target[1] if target[1] == bound else f"{target[1]} as {bound}"
        by_module.setdefault(target[0], []).append(text)
    statements = [f"from {mod} import {', '.join(names)}" for mod, names in by_module.items()]
    if placeholders:
        statements.append(f"from {SHIM_MODULE} import missing")
        statements.extend(placeholders)
    return "; ".join(statements)


def _is_metaflow(node: ast.ImportFrom) -> bool:
    if node.level or not node.module:
        return False
    return node.module == "metaflow" or node.module.startswith("metaflow.")


def rewrite_source(source: str, available: Mapping[str, set[str]]) -> str:
    """``source`` with each ``from metaflow... import`` statement pointed at ketch."""
    nodes = [
        n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and _is_metaflow(n)
    ]
    if not nodes:
        return source
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    data = source.encode("utf-8")
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        assert node.end_lineno is not None
        start = offsets[node.lineno - 1] + node.col_offset
        end = offsets[node.end_lineno - 1] + (node.end_col_offset or 0)
        new = _rewrite_import(node, available).encode("utf-8")
        data = data[:start] + new + data[end:]
    return data.decode("utf-8")
