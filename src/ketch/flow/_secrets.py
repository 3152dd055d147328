"""The ``@secrets`` step decorator: which secrets a step's task gets as environment variables.

The decorator records and checks the sources; ``ketch.runtime._secrets`` fetches them where
the task runs (see docs/secrets.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from ._decorators import DECORATORS, StepDecorator, _factory


@dataclass(frozen=True)
class SecretSource:
    """One secret of a step: the provider (``type``; empty: the default), its id and options."""

    type: str
    id: str
    options: Mapping[str, Any] = field(default_factory=dict)
    role: str | None = None
    # The ``env`` provider's values, read in the launching process.
    values: Mapping[str, str] | None = field(default=None, repr=False)
    # "file:line" of the @secrets that gave it, for messages.
    origin: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.id} ({self.type or 'default provider'})"


def parse_source(source: object, role: str | None) -> SecretSource:
    """A source of ``@secrets(sources=[...])``; raises ``ValueError`` saying what is wrong."""
    if isinstance(source, str):
        head, dot, tail = source.partition(".")
        return SecretSource(head, tail, {}, role) if dot else SecretSource("", head, {}, role)
    if not isinstance(source, dict):
        raise ValueError(f"a source is a string or a dict, not {type(source).__name__}")
    kind: object = source.get("type", "")
    if not isinstance(kind, str):
        raise ValueError(f"'type' must be a string, not {type(kind).__name__}")
    secret_id: object = source.get("id")
    if not isinstance(secret_id, str):
        raise ValueError(f"'id' must be a string, not {type(secret_id).__name__}")
    options = source.get("options", {})
    if not isinstance(options, dict):
        raise ValueError(f"'options' must be a dict, not {type(options).__name__}")
    own_role = source.get("role")
    if own_role is not None and not isinstance(own_role, str):
        raise ValueError(f"'role' must be a string, not {type(own_role).__name__}")
    return SecretSource(kind, secret_id, options, own_role or role)


class SecretsDecorator(StepDecorator):
    """``@secrets(sources=[...], role=None, allow_override=False)``: fetch the sources before
    the step runs and set their variables in the task's environment."""

    name = "secrets"
    defaults: ClassVar[dict[str, Any]] = {"sources": [], "role": None, "allow_override": False}

    def check(self, step_name: str) -> None:
        self.sources(step_name)  # each source is checked here, before the run starts
        role = self.attributes["role"]
        if role is not None and not isinstance(role, str):
            self.fail(step_name, f"has role={role!r}", "role is the name (ARN) of a role.")
        if not isinstance(self.attributes["allow_override"], bool):
            self.fail(step_name, "has a non-bool allow_override", "Pass True or False.")

    def sources(self, step_name: str = "") -> tuple[SecretSource, ...]:
        """The parsed sources (raises DecoratorError naming the bad one)."""
        sources = self.attributes["sources"]
        if not isinstance(sources, (list, tuple)):
            self.fail(step_name, f"has sources={sources!r}", "sources is a list.")
        parsed = []
        for source in sources:
            try:
                found = parse_source(source, self.attributes["role"])
                parsed.append(replace(found, origin=self.origin))
            except ValueError as exc:
                self.fail(
                    step_name,
                    f"has a bad source {source!r}: {exc}",
                    "A source is 'provider.id', 'id', or {'type': ..., 'id': ..., "
                    "'options': {...}, 'role': ...}.",
                )
        return tuple(parsed)


DECORATORS[SecretsDecorator.name] = SecretsDecorator
secrets = _factory(SecretsDecorator)
