"""Parsers for ``Config(parser=...)``: YAML, and the dependency files that package managers
read (``requirements.txt``, ``pyproject.toml``, conda's ``environment.yml``).

The dependency parsers return ``{"packages": {name: version}, "python": version or None}``,
the shape Metaflow's ``@pypi``/``@conda`` take: ``"=="`` pins give the bare version, other
specifiers are kept as written (``">=2"``), and a package without one maps to ``""``.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ..exceptions import UserError

_REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*((?:[<>=!~]=?|===)\s*[^;#\s]+"
    r"(?:\s*,\s*(?:[<>=!~]=?|===)\s*[^;#,\s]+)*)?\s*(;.*)?$"
)


class ParserValueError(UserError):
    """A config file that a dependency parser cannot read."""

    headline = "Bad config file"


def yaml_parser(content: str) -> Any:
    """Parse YAML text (needs PyYAML: ``pip install pyyaml``)."""
    try:
        import yaml  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise UserError(
            "yaml_parser needs the PyYAML package.", hint="pip install pyyaml"
        ) from None
    return yaml.safe_load(content)


def _version(spec: str) -> str:
    spec = spec.replace(" ", "")
    return spec[2:] if spec.startswith("==") and "," not in spec else spec


def _add(packages: dict[str, str], line: str, where: str) -> str | None:
    """Add one PEP 508 requirement; returns the Python version when it names python."""
    found = _REQUIREMENT.match(line)
    if found is None:
        raise ParserValueError(f"{where}: '{line}' is not a package requirement.")
    name, spec = found.group(1), _version(found.group(3) or "")
    if name.lower() == "python":
        return spec
    packages[name] = spec
    return None


def requirements_txt_parser(content: str) -> dict[str, Any]:
    """Parse ``requirements.txt`` text: one requirement a line; comments and blank lines are
    skipped; a ``python==X`` line sets the Python version; options (``-r``, ``--index-url``)
    are refused."""
    packages: dict[str, str] = {}
    python = None
    for raw in content.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise ParserValueError(f"requirements.txt: option lines are not supported: '{line}'.")
        python = _add(packages, line, "requirements.txt") or python
    return {"packages": packages, "python": python}


def pyproject_toml_parser(content: str) -> dict[str, Any]:
    """Parse ``pyproject.toml`` text: ``[project] dependencies`` and ``requires-python``."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise ParserValueError(f"pyproject.toml is not valid TOML ({exc}).") from None
    project = data.get("project", {})
    packages: dict[str, str] = {}
    for line in project.get("dependencies", []):
        _add(packages, line, "pyproject.toml")
    return {"packages": packages, "python": project.get("requires-python")}


def conda_environment_yml_parser(content: str) -> dict[str, Any]:
    """Parse a simple conda ``environment.yml``: the ``dependencies:`` list of ``name`` or
    ``name=version`` entries (a ``pip:`` subsection is refused)."""
    packages: dict[str, str] = {}
    python = None
    inside = False
    for raw in content.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.lower().startswith("dependencies:"):
            inside = True
            continue
        if not inside or not line.startswith("-"):
            inside = inside and line.startswith("-")
            continue
        entry = line[1:].strip()
        if entry.endswith(":"):
            raise ParserValueError(f"environment.yml: the '{entry}' subsection is not supported.")
        found = re.match(r"^([A-Za-z0-9_.\-]+)\s*([=<>!~].*)?$", entry)
        if found is None:
            raise ParserValueError(f"environment.yml: '{entry}' is not a package.")
        name, version = found.group(1), (found.group(2) or "").strip()
        if version.startswith("=") and not version.startswith("=="):
            version = version[1:]  # conda's name=1.2 pins like name==1.2
        version = _version(version)
        if name.lower() == "python":
            python = version
        else:
            packages[name] = version
    return {"packages": packages, "python": python}
