"""uv, the tool that resolves and installs environments: where its binary is, which package
index it uses (pip's, when uv has none of its own configured), and its errors made readable."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
from pathlib import Path

from ..exceptions import EnvironmentSetupError

_UV_INDEX_VARS = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX")


def uv_binary() -> str:
    """The uv executable of the installed ``uv`` package (``pip install 'ketch[pypi]'``)."""
    try:
        from uv import find_uv_bin
    except ImportError:
        raise EnvironmentSetupError(
            "@pypi and @conda environments are built with uv, which is not installed.",
            hint="pip install 'ketch[pypi]' (or pip install uv) in the environment that runs "
            "the flow.",
        ) from None
    try:
        return str(find_uv_bin())
    except FileNotFoundError as exc:
        raise EnvironmentSetupError(
            f"The uv package is installed but its binary was not found: {exc}",
            hint="Reinstall it: pip install --force-reinstall uv.",
        ) from None


def _pip_config() -> dict[str, str]:
    """pip's ``index-url``, ``extra-index-url`` and ``find-links`` from its config files and
    ``PIP_*`` variables (the later source wins, as in pip)."""
    files = [
        Path(d) / "pip" / "pip.conf"
        for d in os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    ]
    files += [Path("/etc/pip.conf"), Path.home() / ".pip" / "pip.conf"]
    files.append(
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "pip" / "pip.conf"
    )
    if os.environ.get("PIP_CONFIG_FILE"):
        files.append(Path(os.environ["PIP_CONFIG_FILE"]))
    parser = configparser.RawConfigParser()
    parser.read([f for f in files if f.is_file()])
    found: dict[str, str] = {}
    for key in ("index-url", "extra-index-url", "find-links"):
        for section in ("global", "install"):
            if parser.has_option(section, key):
                found[key] = parser.get(section, key)
        env = os.environ.get("PIP_" + key.upper().replace("-", "_"))
        if env:
            found[key] = env
    return found


def _usable(location: str) -> bool:
    """A ``file://`` index or a links directory that does not exist is left out (pip only
    warns about one; uv fails)."""
    if location.startswith("file://"):
        return Path(location.removeprefix("file://")).exists()
    if "://" not in location:
        return Path(location).exists()
    return True


def index_args() -> list[str]:
    """uv's index options, taken from pip's configuration unless uv has its own (``UV_*``)."""
    if any(os.environ.get(v) for v in _UV_INDEX_VARS):
        return []
    config = _pip_config()
    args: list[str] = []
    if config.get("index-url"):
        args += ["--index-url", config["index-url"].strip()]
    extras = [u for u in config.get("extra-index-url", "").split() if _usable(u)]
    for url in extras:
        args += ["--extra-index-url", url]
    for link in config.get("find-links", "").split():
        if _usable(link):
            args += ["--find-links", link]
    if extras:  # pip takes the best version over every index; uv's default is the first one
        args += ["--index-strategy", "unsafe-best-match"]
    return args


def run_uv(args: list[str], *, what: str, stdin: str | None = None) -> str:
    """Run uv; its stdout, or an :class:`EnvironmentSetupError` saying ``what`` failed."""
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)  # uv must act on the environment it is given only
    try:
        proc = subprocess.run(
            [uv_binary(), *args], input=stdin, capture_output=True, text=True, env=env
        )
    except OSError as exc:
        raise EnvironmentSetupError(f"uv could not be started: {exc}") from None
    if proc.returncode != 0:
        raise EnvironmentSetupError(f"{what} failed: {_summary(proc.stderr)}")
    return proc.stdout


def _summary(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " ".join(lines[-6:]) or "uv gave no reason"


_NOT_FOUND = re.compile(r"Because ([A-Za-z0-9_.\-\[\]]+) was not found in the package registry")
_NO_VERSION = re.compile(r"there is no version of ([A-Za-z0-9_.\-]+)(\S*)")


def unknown_packages(message: str) -> list[str]:
    """The packages that uv's resolution error says the index does not have."""
    return list(dict.fromkeys(_NOT_FOUND.findall(message)))


def missing_versions(message: str) -> list[str]:
    """``name==version`` requirements that uv's resolution error says no release matches."""
    return list(dict.fromkeys(name + spec for name, spec in _NO_VERSION.findall(message)))
