"""Which installed interpreter an environment is built on (``@pypi(python="3.10")``).

uv could download a missing Python, but ketch only uses interpreters that are on this machine
(where only a package index is reachable, a download fails late and obscurely): the launching
interpreter, ``pythonX.Y`` on ``PATH`` and pyenv's versions. A missing version is a clear error
that lists the versions found.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import EnvironmentSetupError


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.11.7"


def base_interpreter() -> Interpreter:
    """The interpreter that runs ketch, outside any virtual environment it runs in."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    version = ".".join(str(v) for v in sys.version_info[:3])
    return Interpreter(base, version)


def matches(version: str, wanted: str) -> bool:
    """``3.10.13`` matches ``3.10`` and ``3.10.13``, not ``3.1`` nor ``3.10.1``."""
    return version == wanted or version.startswith(wanted + ".")


def find_interpreter(wanted: str | None) -> Interpreter:
    """An installed interpreter whose version is ``wanted`` (``"3.10"``, ``"3.10.13"``); None:
    the launching one. Raises :class:`EnvironmentSetupError` naming the version otherwise."""
    base = base_interpreter()
    if wanted is not None:  # "==3.10" and "3.10.*" (conda's spelling) mean "3.10"
        wanted = wanted.strip().removeprefix("==").removesuffix(".*")
    if wanted is None or matches(base.version, wanted):
        return base
    parts = wanted.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise EnvironmentSetupError(
            f"python={wanted!r} is not a Python version.",
            hint='Give a version such as "3.11" or "3.11.7".',
        )
    seen: dict[str, Interpreter] = {}
    for path in _candidates(f"{parts[0]}.{parts[1]}"):
        found = _probe(path)
        if found is not None:
            seen.setdefault(found.version, found)
            if matches(found.version, wanted):
                return found
    installed = ", ".join(sorted({base.version, *seen}, key=_key)) or "none"
    raise EnvironmentSetupError(
        f"Python {wanted} is not installed on this machine (found: {installed}).",
        hint=f"Install Python {wanted} (e.g. 'pyenv install {wanted}', or your system's "
        f"python{parts[0]}.{parts[1]} package) so that python{parts[0]}.{parts[1]} is on PATH, "
        "or ask for an installed version with python=.",
    )


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _candidates(minor: str) -> list[str]:
    names = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if "shims" in Path(directory).parts:  # pyenv's shims answer for one version only
            continue
        found = shutil.which(f"python{minor}", path=directory)
        if found:
            names.append(found)
    roots = [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for root in filter(None, roots):
        pattern = os.path.join(root, "versions", f"{minor}*", "bin", f"python{minor}")
        names.extend(sorted(glob.glob(pattern), reverse=True))
    return list(dict.fromkeys(names))


def _probe(path: str) -> Interpreter | None:
    try:
        out = subprocess.run(
            [path, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Interpreter(path, out) if out else None
