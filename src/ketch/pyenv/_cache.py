"""Environments resolved once, locked, built once and shared by every run that asks for the
same thing.

Layout of the cache directory (``env_cache`` setting; default ``~/.cache/ketch/envs``)::

    resolved/<request id>.json   what a request resolved to: exact pins, interpreter, env id
    envs/<env id>/               a virtual environment built from those pins (read-only use)
    locks/<id>.lock              flock files: one process resolves or builds an id at a time

A request id hashes what was asked (packages, python, ketch's own requirements, the package
index); an env id hashes what was resolved (the pins, the interpreter's exact version, where
ketch is). A run that finds ``resolved/<request id>.json`` and its env starts no uv at all.
An environment is built under a temporary name and renamed into place, so a crash or a
concurrent run never leaves a half-built one under its final name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path

from ..exceptions import EnvironmentSetupError
from ._python import find_interpreter
from ._uv import index_args, missing_versions, run_uv, unknown_packages

_FORMAT = 1  # bump when the layout of an environment changes


@dataclass(frozen=True)
class EnvRequest:
    """What a step asks for: packages (name -> version spec), python, and which decorator."""

    kind: str  # "pypi" or "conda"
    packages: tuple[tuple[str, str], ...]
    python: str | None
    origin: str = ""  # the decorator's file:line, for messages
    extras: tuple[str, ...] = ()  # ketch extras the tasks need too ("s3" for an S3 datastore)

    def requirements(self) -> list[str]:
        return [requirement(name, version) for name, version in self.packages]


@dataclass(frozen=True)
class ResolvedEnv:
    """A built environment: its id (the lock's hash), interpreter and exact pins."""

    env_id: str
    interpreter: str  # the installed interpreter the environment is built on
    python_version: str
    pins: str  # requirements.txt of exact versions: the lock
    path: str = ""  # the environment's directory in the cache
    resolve_s: float = 0.0  # seconds spent resolving and building in this process
    cached: bool = True  # found whole in the cache (no uv ran)

    @property
    def python(self) -> str:
        """The environment's interpreter, which runs the tasks."""
        return str(Path(self.path) / "bin" / "python")

    def describe(self) -> dict[str, object]:
        """What the run records about the environment (its lock included)."""
        return {k: v for k, v in asdict(self).items() if k not in ("resolve_s", "cached")}


def requirement(name: str, version: str) -> str:
    """``pandas`` + ``2.2.2`` -> ``pandas==2.2.2``; a version with an operator stays as is."""
    version = version.strip()
    if not version:
        return name
    if version[0] in "<>=!~":
        return f"{name}{version}"
    return f"{name}=={version}"


def default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "ketch" / "envs"


def ketch_source() -> str:
    """The directory of the ``ketch`` package that tasks import inside an environment."""
    return str(Path(__file__).resolve().parent.parent)


def ketch_requirements(extras: tuple[str, ...] = ()) -> list[str]:
    """ketch's own runtime requirements (installed into every environment), with those of
    ``extras``."""
    try:
        reqs = metadata.requires("ketch") or []
    except metadata.PackageNotFoundError:  # pragma: no cover - ketch run from a checkout
        reqs = []
    out = []
    for req in reqs:
        spec, _, marker = req.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra is None or extra.group(1) in extras:
            out.append(spec.strip() if extra else req)
    return sorted(out)


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:20]


def request_id(request: EnvRequest) -> str:
    python = request.python or ".".join(str(v) for v in sys.version_info[:3])
    return _hash(
        [
            _FORMAT,
            request.kind,
            request.requirements(),
            python,
            ketch_requirements(request.extras),
            index_args(),
            ketch_source(),
            sys.executable if request.python is None else "",
        ]
    )


@contextlib.contextmanager
def _locked(cache: Path, name: str) -> Iterator[None]:
    locks = cache / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def ensure_env(request: EnvRequest, cache: Path) -> ResolvedEnv:
    """The environment of ``request``: from the cache, or resolved, built and cached now."""
    started = time.perf_counter()
    rid = request_id(request)
    record = cache / "resolved" / f"{rid}.json"
    env = _load(record, cache)
    if env is not None and Path(env.python).exists():
        return env
    with _locked(cache, rid):
        env = _load(record, cache)
        if env is None:
            env = replace(resolve(request), path="")
            record.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(record, json.dumps(asdict(env)))
            env = replace(env, path=str(cache / "envs" / env.env_id))
        if not Path(env.python).exists():
            with _locked(cache, env.env_id):
                if not Path(env.python).exists():
                    _build(env)
    return replace(env, resolve_s=time.perf_counter() - started, cached=False)


def _load(record: Path, cache: Path) -> ResolvedEnv | None:
    try:
        env = ResolvedEnv(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return replace(env, path=str(cache / "envs" / env.env_id))


def resolve(request: EnvRequest) -> ResolvedEnv:
    """Resolve the request with uv to exact pins (with ketch's own requirements)."""
    interpreter = find_interpreter(request.python)
    reqs = "\n".join([*request.requirements(), *ketch_requirements(request.extras)]) + "\n"
    args = ["pip", "compile", "-", "--python", interpreter.path, "--no-header", "--quiet"]
    args += ["--no-annotate", *index_args()]
    try:
        pins = run_uv(args, what="Resolving the environment", stdin=reqs)
    except EnvironmentSetupError as exc:
        raise _resolution_error(request, exc) from None
    env_id = _env_id(pins, interpreter.version, interpreter.path)
    return ResolvedEnv(env_id, interpreter.path, interpreter.version, pins)


def _env_id(pins: str, version: str, interpreter: str) -> str:
    return _hash([_FORMAT, pins, version, interpreter, ketch_source()])


def ensure_locked(lock: dict[str, object], cache: Path) -> ResolvedEnv | None:
    """The environment of a lock a run recorded (``ResolvedEnv.describe()``), built from its
    pins without resolving again; None where it cannot be (its interpreter is gone)."""
    pins, interpreter, version = (
        lock.get("pins"),
        lock.get("interpreter"),
        lock.get("python_version"),
    )
    if not (isinstance(pins, str) and isinstance(interpreter, str) and isinstance(version, str)):
        return None
    if not Path(interpreter).exists():
        return None
    env_id = _env_id(pins, version, interpreter)
    env = ResolvedEnv(env_id, interpreter, version, pins, path=str(cache / "envs" / env_id))
    if Path(env.python).exists():
        return env
    started = time.perf_counter()
    with _locked(cache, env_id):
        if not Path(env.python).exists():
            _build(env)
    return replace(env, resolve_s=time.perf_counter() - started, cached=False)


def _resolution_error(request: EnvRequest, exc: EnvironmentSetupError) -> EnvironmentSetupError:
    """Name the packages the index does not have (for @conda: ones only conda has)."""
    where = f" ({request.origin})" if request.origin else ""
    unknown = unknown_packages(exc.detail)
    if unknown:
        names = ", ".join(unknown)
        if request.kind == "conda":
            return EnvironmentSetupError(
                f"@conda{where} asks for {names}, which the package index does not have.",
                hint="ketch builds @conda environments from PyPI with uv: a package that only "
                "conda has cannot be installed. Use its PyPI name (e.g. torch for pytorch) or "
                "drop it.",
            )
        return EnvironmentSetupError(
            f"@pypi{where} asks for {names}, which the package index does not have.",
            hint="Check the spelling of the package name (pip index versions NAME).",
        )
    missing = missing_versions(exc.detail)
    if missing:
        return EnvironmentSetupError(
            f"@{request.kind}{where}: no release matches {', '.join(missing)}.",
            hint="Ask for a version the index has (pip index versions NAME).",
        )
    return EnvironmentSetupError(f"@{request.kind}{where}: {exc.detail}", hint=exc.hint)


def _build(env: ResolvedEnv) -> None:
    """Make the virtual environment under a temporary name, then rename it into place."""
    final = Path(env.path)
    tmp = final.with_name(f".build-{final.name}-{os.getpid()}")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    for stale in tmp.parent.glob(f".build-{final.name}-*"):  # a crashed build's (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    try:
        run_uv(
            ["venv", "--quiet", "--relocatable", "--python", env.interpreter, str(tmp)],
            what="Creating the environment",
        )
        run_uv(
            [
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--python",
                str(tmp / "bin" / "python"),
                "-r",
                "-",
                *index_args(),
            ],
            what="Installing the environment's packages",
            stdin=env.pins,
        )
        _link_ketch(tmp)
        if final.exists():  # a broken one (its interpreter is gone): replaced, under the lock
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _link_ketch(env_dir: Path) -> None:
    """Make ``import ketch`` work inside the environment without installing it: a link to the
    ketch package in its site-packages (ketch is pure Python; its requirements are pinned)."""
    site = next(env_dir.glob("lib/python*/site-packages"))
    (site / "ketch").symlink_to(ketch_source(), target_is_directory=True)
