"""``@secrets``: fetch a step's secrets where its task runs and put them in its environment.

A source names a provider and a secret: ``"aws-secrets-manager.db-creds"``, ``"db-creds"``
(the default provider, ``KETCH_DEFAULT_SECRETS_BACKEND_TYPE``) or a dict ``{"type": ...,
"id": ..., "options": {...}, "role": ...}``. Providers:

``inline``
    The secret's variables are written in the source: ``options={"env_vars": {...}}`` (for
    tests, as Metaflow's).
``env``
    Variables of the process that launched the run: ``id`` names one (``options={"env_var_name":
    NAME}`` renames it in the task). Read when the run starts and carried to the task, so a task
    on another machine (Ray) gets it too.
``aws-secrets-manager``
    AWS Secrets Manager through boto3, read by the task: a JSON object becomes one variable per
    key, any other string one variable named after the secret (or ``env_var_name``); ``role``
    is assumed through STS first.

The values become environment variables of the task process only: they are never stored as
artifacts, in the run's records or in its logs.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..exceptions import DecoratorError, KetchException, UserError
from ..flow._secrets import SecretSource
from ..settings import Settings
from ._policy import StepPolicy

INLINE, ENV, AWS = "inline", "env", "aws-secrets-manager"
PROVIDERS = (INLINE, ENV, AWS)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_PREFIXES = ("METAFLOW_", "KETCH_")


class SecretsError(KetchException):
    """A secret could not be fetched or injected (raised in the task: the task fails)."""

    headline = "@secrets failed"


def resolve_sources(
    step: str, sources: Iterable[SecretSource], default_type: str, environ: Mapping[str, str]
) -> tuple[SecretSource, ...]:
    """Name each source's provider and read ``env`` sources, in the launching process."""
    resolved = []
    for source in sources:
        kind = source.type or default_type
        if not kind:
            raise DecoratorError(
                f"@secrets on step '{step}'{_at(source)} gives {source.id!r} without a "
                "provider, and no default provider is set.",
                hint=f"Write '<provider>.{source.id}' (providers: {', '.join(PROVIDERS)}) or set "
                "KETCH_DEFAULT_SECRETS_BACKEND_TYPE.",
            )
        if kind not in PROVIDERS:
            raise DecoratorError(
                f"@secrets on step '{step}'{_at(source)} names the unknown provider {kind!r}.",
                hint=f"Known providers: {', '.join(PROVIDERS)}.",
            )
        source = replace(source, type=kind)
        if kind == ENV:
            source = replace(source, values=_read_env(step, source, environ))
        resolved.append(source)
    return tuple(resolved)


def _at(source: SecretSource) -> str:
    return f" ({source.origin})" if source.origin else ""


def with_secrets(policies: dict[str, StepPolicy], settings: Settings) -> dict[str, StepPolicy]:
    """The run's step policies with their @secrets sources resolved (see resolve_sources).

    Called before the task processes are forked: where a step reads AWS Secrets Manager, boto3
    is imported here once, so that each forked task does not import it again (about 0.1 s of
    CPU each)."""
    resolved = {
        step: replace(
            policy,
            secrets=resolve_sources(
                step, policy.secrets, settings.default_secrets_backend_type, os.environ
            ),
        )
        if policy.secrets
        else policy
        for step, policy in policies.items()
    }
    if any(s.type == AWS for p in resolved.values() for s in p.secrets):
        _preload_boto3()
    return resolved


def _preload_boto3() -> None:
    try:
        import boto3  # noqa: F401  (imported for the forked tasks)
    except ImportError:  # the task says so, where it runs
        pass


def _read_env(step: str, source: SecretSource, environ: Mapping[str, str]) -> dict[str, str]:
    if source.id not in environ:
        raise UserError(
            f"@secrets on step '{step}'{_at(source)} reads the environment variable "
            f"{source.id}, which is not set.",
            hint=f"Set {source.id} where you start the run, or remove the source.",
            headline="Missing secret",
        )
    name = source.options.get("env_var_name") or source.id
    return {str(name): environ[source.id]}


def inject_secrets(
    sources: Iterable[SecretSource], allow_override: bool, environ: Any = None
) -> list[str]:
    """Fetch every source and set its variables in ``environ`` (``os.environ``); returns the
    names set. Raises :class:`SecretsError` naming the source at fault."""
    environ = os.environ if environ is None else environ
    fetched: list[tuple[SecretSource, dict[str, str]]] = []
    for source in sources:
        try:
            values = fetch(source)
        except SecretsError:
            raise
        except Exception as exc:  # a provider's own error (boto3's, ...): name the secret
            raise SecretsError(
                f"Failed to retrieve secret '{source.id}': {exc}",
                hint="Check the secret's id, the provider's credentials and the role.",
            ) from None
        _check_values(source, values)
        fetched.append((source, values))
    _check_clashes(fetched, allow_override, environ)
    names: list[str] = []
    for _, values in fetched:
        environ.update(values)
        names.extend(values)
    return names


def fetch(source: SecretSource) -> dict[str, str]:
    """The variables one source gives."""
    if source.type == INLINE:
        return dict(source.options.get("env_vars", {}))
    if source.type == ENV:
        return dict(source.values or {})
    if source.type == AWS:
        from ._secrets_aws import fetch_aws

        return fetch_aws(source.id, source.options, source.role)
    raise SecretsError(f"Unknown secrets provider {source.type!r} for secret '{source.id}'.")


def _check_values(source: SecretSource, values: Mapping[Any, Any]) -> None:
    for key, value in values.items():
        problem = ""
        if not isinstance(key, str):
            problem = f"a name that is not a string ({key!r})"
        elif not isinstance(value, str):
            problem = f"a value of {key} that is not a string ({type(value).__name__})"
        elif not _VAR_NAME.fullmatch(key):
            problem = f"the invalid variable name {key!r}"
        elif key.startswith(_RESERVED_PREFIXES):
            problem = f"the variable {key}, whose prefix is reserved"
        if problem:
            raise SecretsError(
                f"Secret '{source}' gives {problem}.",
                hint="A secret's variables are names of letters, digits and '_' (not starting "
                "with METAFLOW_ or KETCH_) with string values.",
            )


def _check_clashes(
    fetched: list[tuple[SecretSource, dict[str, str]]], allow_override: bool, environ: Any
) -> None:
    seen: dict[str, SecretSource] = {}
    for source, values in fetched:
        for key in values:
            if key in seen:
                raise SecretsError(
                    f"Secret '{source}' sets {key}, which secret '{seen[key]}' sets too.",
                    hint="Rename one of them (options env_var_name) or drop one source.",
                )
            seen[key] = source
            inherited = source.type == ENV and environ.get(key) == values[key]
            if key in environ and not allow_override and not inherited:
                raise SecretsError(
                    f"Secret '{source}' sets {key}, which is already set in the task's "
                    "environment.",
                    hint="Pass @secrets(..., allow_override=True) to replace it, or rename it.",
                )


def binary_value(data: bytes) -> str:
    """A binary secret as text (base64), as an environment variable holds it."""
    return base64.b64encode(data).decode()


def json_object(text: str) -> dict[str, Any]:
    """A secret string parsed as a JSON object (raises SecretsError otherwise)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise SecretsError(
            "The secret's string is not valid JSON.",
            hint="Store a JSON object, or pass options={'json': False}.",
        ) from None
    if not isinstance(value, dict):
        raise SecretsError(
            f"The secret's string is JSON but not an object ({type(value).__name__}).",
            hint="Store a JSON object, or pass options={'json': False}.",
        )
    return value
