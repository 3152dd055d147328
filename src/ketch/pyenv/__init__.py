"""Per-step Python environments (``@pypi``, ``@conda``, ``@pypi_base``, ``@conda_base``),
resolved and built with uv, cached by their lock, and the interpreter each step's tasks run in.

:func:`prepare_environments` runs before a run starts: it checks the decorators against
``--environment`` (as Metaflow, ``@pypi`` needs ``--environment=pypi`` or ``conda``), merges
each step's decorator with the flow's base one, builds (or finds) each distinct environment
once, and returns the step policies with the interpreter their tasks run in. See
``docs/environments.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import EnvironmentSetupError
from ._cache import EnvRequest, ResolvedEnv, default_cache, ensure_env, ensure_locked

if TYPE_CHECKING:
    from ..runtime import StepPolicy

ENV_KINDS = ("pypi", "conda")  # the --environment values that build environments
ENVIRONMENTS = ("local", "pypi", "conda", "uv")  # what --environment accepts

__all__ = [
    "ENVIRONMENTS",
    "EnvRequest",
    "ResolvedEnv",
    "ensure_env",
    "origin_environments",
    "prepare_environments",
    "step_requests",
]


def _own_origin(flow_cls: Any, step: str, name: str) -> str:
    for deco in getattr(getattr(flow_cls, step, None), "decorators", []):
        if getattr(deco, "name", "") == name:
            return str(deco.origin)
    return "--with"


def _step_env_specs(policy: StepPolicy) -> list[dict[str, Any]]:
    return [d for d in policy.decorators if d.get("name") in ENV_KINDS]


def step_requests(
    flow_cls: Any, policies: Mapping[str, StepPolicy], environment: str
) -> dict[str, EnvRequest | None]:
    """Each step's environment request (None: the step runs in the launching interpreter).
    Raises :class:`EnvironmentSetupError` where the decorators do not fit ``environment``."""
    from ..flow._pypi import env_base

    base = env_base(flow_cls)
    if environment not in ENV_KINDS:
        _refuse_without_environment(flow_cls, policies, base)
        return dict.fromkeys(policies)
    return {step: _request(flow_cls, step, p, base, environment) for step, p in policies.items()}


def _refuse_without_environment(
    flow_cls: Any, policies: Mapping[str, StepPolicy], base: Any
) -> None:
    """Metaflow refuses @pypi/@conda (even disabled) unless --environment builds them."""
    for step, policy in policies.items():
        for spec in _step_env_specs(policy):
            name = spec["name"]
            origin = _own_origin(flow_cls, step, name)
            _incompatible(f"@{name} on step '{step}' ({origin})", name, flow_cls)
    if base is not None:
        what = f"@{base.name} on flow {flow_cls.__name__} ({base.origin})"
        _incompatible(what, base.name, flow_cls)


def _incompatible(what: str, name: str, flow_cls: Any) -> None:
    module = sys.modules.get(flow_cls.__module__)
    script = Path(getattr(module, "__file__", None) or "flow.py").name
    kind = "conda" if "conda" in name else "pypi"
    raise EnvironmentSetupError(
        f"{what} requires --environment=pypi or --environment=conda.",
        hint=f"Run: python {script} --environment={kind} run (the option goes before the "
        f"command), or set KETCH_ENVIRONMENT={kind}.",
        headline="Incompatible environment",
    )


def _request(
    flow_cls: Any, step: str, policy: StepPolicy, base: Any, environment: str
) -> EnvRequest | None:
    specs = _step_env_specs(policy)
    if len(specs) > 1:
        raise EnvironmentSetupError(
            f"Step '{step}' has both @pypi and @conda.",
            hint="Keep one of them: a step runs in one environment.",
        )
    own = specs[0] if specs else None
    attrs: dict[str, Any] = own["attributes"] if own else {}
    base_attrs: dict[str, Any] = base.attributes if base is not None else {}
    disabled = attrs.get("disabled")
    if disabled is None:
        disabled = base_attrs.get("disabled")
    if disabled:
        return None
    packages = dict(base.packages) if base is not None else {}
    packages.update(_packages(attrs))
    kind = own["name"] if own else (base.name.removesuffix("_base") if base else environment)
    origin = _own_origin(flow_cls, step, kind) if own else (base.origin if base else "")
    return EnvRequest(
        kind=kind,
        packages=tuple(sorted(packages.items())),
        python=attrs.get("python") or base_attrs.get("python"),
        origin=origin,
    )


def _asked(request: EnvRequest) -> dict[str, Any]:
    """What a run records of a request (to tell, on resume, whether a step asks the same)."""
    return {"kind": request.kind, "packages": dict(request.packages), "python": request.python}


def _origin_lock(
    request: EnvRequest,
    requests: Mapping[str, EnvRequest | None],
    origin: Mapping[str, Mapping[str, Any]],
) -> dict[str, object] | None:
    """The lock the origin run recorded for a step that asked for the same as ``request``."""
    for step, asked in requests.items():
        recorded = origin.get(step)
        if asked == request and recorded and recorded.get("request") == _asked(request):
            return dict(recorded)
    return None


def origin_environments(metadata_url: str, datastore_url: str, run_id: int) -> dict[str, Any]:
    """The environments a run recorded with its graph, by step (for resume)."""
    from ..datastore import load_json_object, open_blobs
    from ..metadata import open_store

    with open_store(metadata_url) as store:
        record = store.get_run(run_id)
    if record is None or record.graph_key is None:
        return {}
    blobs = open_blobs(datastore_url, read_only=True)
    graph, _ = load_json_object(blobs, record.graph_key, "graph")
    steps = (graph or {}).get("steps") or {}
    return {s: n["environment"] for s, n in steps.items() if isinstance(n.get("environment"), dict)}


def _packages(attrs: Mapping[str, Any]) -> dict[str, str]:
    libraries = attrs.get("libraries") or {}
    return {**libraries, **(attrs.get("packages") or {})}


def prepare_environments(
    flow_cls: Any,
    policies: dict[str, StepPolicy],
    *,
    environment: str,
    cache: str = "",
    executor: str = "",
    datastore_url: str = "",
    origin: Mapping[str, Mapping[str, Any]] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> dict[str, StepPolicy]:
    """The policies with each step's environment built and its interpreter set. Steps whose
    tasks run on Ray (``@on_ray``, ``executor`` ``ray``) keep the Ray worker's interpreter.
    ``origin`` (resume): the environments the origin run recorded, by step; a step that asks
    for what it asked for then gets the environment of the origin's lock, not a new resolution.
    """
    if environment not in ENVIRONMENTS:
        raise EnvironmentSetupError(
            f"The environment {environment!r} is unknown.",
            hint=f"Use one of: {', '.join(ENVIRONMENTS)} (--environment or KETCH_ENVIRONMENT).",
        )
    requests = step_requests(flow_cls, policies, environment)
    on_ray = sorted(
        s
        for s, p in policies.items()
        if requests[s] is not None
        and (p.placement is not None or executor == "ray" and not p.local)
    )
    if on_ray:
        say(
            f"    Steps {', '.join(on_ray)} run on Ray, in the Ray worker's interpreter: their "
            "@pypi/@conda environment is not built (use @on_ray(runtime_env=...))."
        )
        requests.update(dict.fromkeys(on_ray))
    if datastore_url.startswith("s3://"):  # the tasks store their artifacts there
        requests = {s: r and replace(r, extras=("s3",)) for s, r in requests.items()}
    wanted = {r for r in requests.values() if r is not None}
    if not wanted:
        return policies
    root = Path(cache).expanduser() if cache else default_cache()
    built: dict[EnvRequest, ResolvedEnv] = {}
    for wanted_one in sorted(wanted, key=lambda r: (r.kind, r.packages, r.python or "")):
        steps = ", ".join(s for s, r in requests.items() if r == wanted_one)
        locked = _origin_lock(wanted_one, requests, origin or {})
        try:
            env = (locked and ensure_locked(locked, root)) or ensure_env(wanted_one, root)
        except OSError as exc:  # the cache directory cannot be made or written
            raise EnvironmentSetupError(
                f"The environment cache {root} cannot be used: {exc.strerror or exc}.",
                hint="Point KETCH_ENV_CACHE (or env_cache in [tool.ketch]) at a directory you "
                "can write to.",
            ) from None
        built[wanted_one] = env
        how = "cached" if env.cached else f"resolved and built in {env.resolve_s:.1f} s"
        if locked and locked.get("env_id") and env.pins == locked.get("pins"):
            how += ", the origin run's lock"
        say(f"    Environment {env.env_id} (Python {env.python_version}) for {steps}: {how}.")
    out = dict(policies)
    for step, asked in requests.items():
        if asked is not None:
            env = built[asked]
            described = {"type": asked.kind, "request": _asked(asked), **env.describe()}
            out[step] = replace(policies[step], python=env.python, environment=described)
    return out
