"""Settings, declared once; resolved from CLI flags, ``KETCH_*`` variables and pyproject.toml.

Precedence: an explicit value (a CLI flag) beats the environment, which beats
``[tool.ketch]`` in the nearest ``pyproject.toml``, which beats the declared default.
Nothing is read at import time: call :func:`resolve`.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .exceptions import StoreAccessError, StoreFullError, StoreNotFoundError, UserError

HOME_DIRNAME = ".ketch"
DB_FILENAME = "ketch.db"  # the SQLite run database inside a store directory


@dataclass(frozen=True)
class Settings:
    """Every setting of ketch. The field's metadata holds its help text."""

    home: str = ""  # the .ketch directory; empty: found upward from the working directory
    metadata_url: str = ""  # empty: SQLite at <home>/ketch.db
    datastore_url: str = ""  # empty: the home directory itself
    max_workers: int = 16
    max_num_splits: int = 100
    executor: str = "auto"  # auto, or a registered executor (checked by ketch.runtime)
    ray_address: str = ""  # empty: Ray's own RAY_ADDRESS, else a local Ray
    user: str = ""  # empty: from KETCH_USER, METAFLOW_USER, SUDO_USER, USERNAME, USER
    default_secrets_backend_type: str = ""  # the @secrets provider of a source without one
    environment: str = "local"  # local, pypi, conda or uv (Metaflow's --environment)
    env_cache: str = ""  # empty: $XDG_CACHE_HOME/ketch/envs (~/.cache/ketch/envs)
    trackers: str = ""  # comma-separated tracker names (ketch.trackers); empty: none

    @property
    def home_path(self) -> Path:
        return Path(self.home)

    @property
    def resolved_metadata_url(self) -> str:
        return metadata_url_of(Path(self.home), self.metadata_url)

    @property
    def resolved_datastore_url(self) -> str:
        return self.datastore_url or self.home


HELP: dict[str, str] = {
    "home": "The .ketch directory holding the run database and the datastore.",
    "metadata_url": "SQLAlchemy URL of the metadata database (postgresql://... for teams).",
    "datastore_url": "Where artifacts, logs, cards and code packages are stored: a directory "
    "path or file:// URL (default: the .ketch directory), s3://BUCKET/PREFIX (an S3 or "
    "S3-compatible object store: pip install 'ketch[s3]'), or memory://NAME (in-process, "
    "for tests).",
    "max_workers": "The most tasks that run at once.",
    "max_num_splits": "The most tasks a single foreach may start.",
    "executor": "How tasks start: 'fork' (from a pre-warmed process), 'spawn' (a fresh "
    "interpreter each), 'auto' (fork unless importing the flow made forking unsafe), or 'ray' "
    "(every task on a Ray cluster: pip install 'ketch[ray]').",
    "ray_address": "The Ray cluster that runs tasks placed on Ray (--executor ray, @on_ray), "
    "e.g. 127.0.0.1:6379 or ray://HOST:10001 (default: Ray's RAY_ADDRESS, else a local Ray).",
    "user": "The user name recorded on runs (the namespace is user:<name>).",
    "default_secrets_backend_type": "The @secrets provider of a source that names none: "
    "inline, env or aws-secrets-manager (also read from METAFLOW_DEFAULT_SECRETS_BACKEND_TYPE).",
    "environment": "Where steps run: 'local' (the interpreter that runs the flow), 'pypi' or "
    "'conda' (each step in an environment built with uv from its @pypi/@conda and the flow's "
    "@pypi_base/@conda_base: pip install 'ketch[pypi]'), or 'uv' (as local). Metaflow's "
    "--environment flag sets it.",
    "env_cache": "The directory that caches @pypi/@conda environments, shared by every run "
    "and project (default: ~/.cache/ketch/envs).",
    "trackers": "Experiment trackers that receive every run as it goes (parameters, metrics, "
    "status), comma-separated: 'mlflow' (pip install 'ketch[mlflow]'), 'comet' (pip install "
    "'ketch[comet]'), or 'package.module:Class' for your own (see docs/trackers.md).",
}

# Settings that also read Metaflow's variable when ketch's is not set.
_METAFLOW_NAMES = {"default_secrets_backend_type": "METAFLOW_DEFAULT_SECRETS_BACKEND_TYPE"}


def metadata_url_of(home: Path, metadata_url: str) -> str:
    """The run database of a store: ``metadata_url``, or else the SQLite file in ``home``."""
    return metadata_url or f"sqlite:///{home / DB_FILENAME}"


def env_name(setting: str) -> str:
    return f"KETCH_{setting.upper()}"


def find_home(start: Path) -> Path | None:
    """The nearest ``.ketch`` directory at or above ``start``."""
    for directory in [start, *start.parents]:
        candidate = directory / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return None


def _pyproject_table(start: Path) -> Mapping[str, Any]:
    for directory in [start, *start.parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            try:
                data = tomllib.loads(candidate.read_text())
            except (OSError, ValueError) as exc:
                raise UserError(
                    f"{candidate} could not be read: {exc}",
                    hint="Fix the TOML syntax or remove the [tool.ketch] table.",
                ) from None
            table = data.get("tool", {}).get("ketch", {})
            return table if isinstance(table, dict) else {}
    return {}


def _convert(name: str, value: object, default: object) -> object:
    if isinstance(default, str) and isinstance(value, list):  # [tool.ketch] trackers = [...]
        return ",".join(str(item) for item in value)
    if isinstance(default, int) and not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            raise UserError(
                f"Setting '{name}' must be an integer, got {value!r}.",
                hint=f"Fix {env_name(name)} or [tool.ketch] {name} in pyproject.toml.",
            ) from None
    return value


def resolve(
    explicit: Mapping[str, object] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    create_home: bool = False,
) -> Settings:
    """Resolve every setting once. With ``create_home``, make ``./.ketch`` if none is found."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
    table = _pyproject_table(cwd)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}  # where a value came from, for messages
    for field in fields(Settings):
        default = field.default
        if field.name in explicit:
            value: object = explicit[field.name]
            sources[field.name] = f"the {field.name} setting"
        elif env_name(field.name) in environ:
            value = environ[env_name(field.name)]
            sources[field.name] = env_name(field.name)
        elif _METAFLOW_NAMES.get(field.name, "") in environ:
            value = environ[_METAFLOW_NAMES[field.name]]
            sources[field.name] = _METAFLOW_NAMES[field.name]
        elif field.name in table:
            value = table[field.name]
            sources[field.name] = f"[tool.ketch] {field.name} in pyproject.toml"
        else:
            value = default
        values[field.name] = _convert(field.name, value, default)
    home = _resolve_home(str(values["home"]), cwd, create_home, sources.get("home", ""))
    values["home"] = str(home)
    values["datastore_url"] = _absolute_path(str(values["datastore_url"]), cwd)
    values["user"] = str(values["user"]) or current_user(environ)
    return Settings(**values)  # type: ignore[arg-type]


def _absolute_path(url: str, cwd: Path) -> str:
    """A plain path made absolute (tasks may run elsewhere); a URL as given."""
    if not url or "://" in url:
        return url
    return str((cwd / Path(url).expanduser()).resolve())


def _resolve_home(home: str, cwd: Path, create: bool, source: str) -> Path:
    """The store directory: ``home`` as given (by ``source``, e.g. ``KETCH_HOME``), else the
    nearest ``.ketch`` at or above ``cwd``, else ``cwd/.ketch``; with ``create``, made."""
    if home:
        path = Path(home).expanduser().resolve()
        given = f"{source}={home}"
    else:
        found = find_home(cwd)
        if found is not None:
            return found.resolve()
        path = (cwd / HOME_DIRNAME).resolve()
        given = ""
    if path.exists() and not path.is_dir():
        raise StoreAccessError(
            f"{given or path} is a file, not a directory: the ketch store is a directory.",
            hint=f"Point {source or 'KETCH_HOME'} at a .ketch directory, or at a path where one "
            "can be made." + (" Or unset it to use ./.ketch." if given else ""),
        )
    if create:
        _make_home(path, given)
    return path


def _make_home(path: Path, given: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = f"{given}: cannot" if given else "Cannot"
        detail = f"{where} create directory {path}: {exc.strerror}."
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFullError(
                detail, hint="Free space on that disk, or set KETCH_HOME to another disk."
            ) from None
        raise StoreAccessError(
            detail,
            hint="Set KETCH_HOME to a directory you can write to. Commands that only read "
            "(ketch runs, dump, logs, the Client) work on an existing read-only store.",
        ) from None
    if given:  # say which setting points at a place that cannot be written (/proc, read-only)
        from .datastore import check_writable

        try:
            check_writable(path)
        except (StoreAccessError, StoreFullError) as exc:
            detail = exc.detail[:1].lower() + exc.detail[1:]
            raise type(exc)(f"{given}: {detail}", hint=exc.hint) from None


def require_home(settings: Settings) -> Path:
    """The store directory, or a clear error saying how to create one."""
    path = settings.home_path
    if not (path / DB_FILENAME).exists() and not settings.metadata_url:
        raise StoreNotFoundError(
            f"There is no ketch store at {path}"
            + ("." if path.name != HOME_DIRNAME else " or in any parent directory."),
            hint="Run a flow here first (python flow.py run), or point KETCH_HOME at an "
            "existing .ketch directory.",
        )
    return path


def current_user(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    for var in ("KETCH_USER", "METAFLOW_USER", "SUDO_USER", "USERNAME", "USER"):
        value = environ.get(var)
        if value and value != "root":
            return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# Config values from the environment (see ketch.flow.Config): JSON objects mapping a config's
# name to a file (``..._CONFIG``) or to its value (``..._CONFIG_VALUE``), read when a flow's
# command starts; the ``--config`` / ``--config-value`` options replace them. The KETCH_ name
# wins over Metaflow's.
FLOW_CONFIG_ENV = ("KETCH_FLOW_CONFIG", "METAFLOW_FLOW_CONFIG")
FLOW_CONFIG_VALUE_ENV = ("KETCH_FLOW_CONFIG_VALUE", "METAFLOW_FLOW_CONFIG_VALUE")
CONFIG_ENV_HELP = {
    FLOW_CONFIG_ENV[0]: "JSON object: config name -> file to read its value from.",
    FLOW_CONFIG_VALUE_ENV[0]: "JSON object: config name -> its value.",
}


def flow_config_env(environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], ...]:
    """(files, values) given for configs by the environment; empty dicts when unset."""
    environ = os.environ if environ is None else environ
    found: list[dict[str, Any]] = []
    for names in (FLOW_CONFIG_ENV, FLOW_CONFIG_VALUE_ENV):
        name = next((n for n in names if environ.get(n)), None)
        if name is None:
            found.append({})
            continue
        try:
            value = json.loads(environ[name])
        except ValueError as exc:
            raise UserError(
                f"{name} is not valid JSON ({exc}).",
                hint=f'{name} is a JSON object, e.g. {{"cfg": ...}}.',
            ) from None
        if not isinstance(value, dict):
            raise UserError(
                f"{name} is not a JSON object.", hint=f"e.g. {name}='{{\"cfg\": ...}}'."
            )
        found.append(value)
    return tuple(found)
