"""@secrets in process: the sources it accepts, and what injecting them into an environment
checks (Metaflow 2.19's rules: no variable set twice, none already in the environment unless
allow_override, valid names, no METAFLOW_ prefix)."""

from __future__ import annotations

import pytest

from ketch import FlowSpec, secrets, step
from ketch.exceptions import DecoratorError, UserError
from ketch.flow._secrets import SecretSource, parse_source
from ketch.runtime import build_policies
from ketch.runtime._secrets import SecretsError, inject_secrets, resolve_sources

INLINE = {"type": "inline", "id": "a", "options": {"env_vars": {"TOKEN": "t1", "OTHER": "o"}}}


def test_sources_are_strings_or_dicts() -> None:
    assert parse_source("aws-secrets-manager.db/creds", None) == SecretSource(
        "aws-secrets-manager", "db/creds", {}, None
    )
    assert parse_source("plain", "r1") == SecretSource("", "plain", {}, "r1")
    own_role = parse_source({"id": "x", "role": "r2", "options": {"json": False}}, "r1")
    assert (own_role.type, own_role.role, dict(own_role.options)) == ("", "r2", {"json": False})
    for bad, needle in [
        (5, "a string or a dict, not int"),
        ({"type": 1, "id": "x"}, "'type' must be a string"),
        ({"type": "inline"}, "'id' must be a string, not NoneType"),
        ({"id": "x", "options": []}, "'options' must be a dict"),
        ({"id": "x", "role": 3}, "'role' must be a string"),
    ]:
        with pytest.raises(ValueError, match=needle):
            parse_source(bad, None)


def _policies(**attributes: object) -> dict[str, object]:
    class SecretFlow(FlowSpec):
        @secrets(**attributes)
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    from ketch.graph import build_graph

    return build_policies(SecretFlow, build_graph(SecretFlow), [])  # type: ignore[return-value]


def test_the_step_policy_holds_the_sources() -> None:
    policy = _policies(sources=[INLINE, "env.HOME"], allow_override=True)["start"]
    assert [s.type for s in policy.secrets] == ["inline", "env"]  # type: ignore[attr-defined]
    assert policy.allow_secret_override is True  # type: ignore[attr-defined]
    with pytest.raises(DecoratorError, match="has a bad source 5: a source is a string or a"):
        _policies(sources=[5])
    with pytest.raises(DecoratorError, match="has sources='x'"):
        _policies(sources="x")
    with pytest.raises(DecoratorError, match="has role=3"):
        _policies(sources=[], role=3)


def test_the_launcher_names_providers_and_reads_env_sources() -> None:
    sources = [parse_source("DB_PASS", None), parse_source("inline.x", None)]
    resolved = resolve_sources("start", sources, "env", {"DB_PASS": "pw"})
    assert [(s.type, s.values) for s in resolved] == [("env", {"DB_PASS": "pw"}), ("inline", None)]
    renamed = parse_source({"type": "env", "id": "A", "options": {"env_var_name": "B"}}, None)
    assert resolve_sources("s", [renamed], "", {"A": "1"})[0].values == {"B": "1"}
    with pytest.raises(DecoratorError, match="without a provider, and no default provider"):
        resolve_sources("start", sources, "", {})
    with pytest.raises(DecoratorError, match="unknown provider 'vault'"):
        resolve_sources("start", [parse_source("vault.x", None)], "", {})
    with pytest.raises(UserError, match="reads the environment variable DB_PASS, which is not"):
        resolve_sources("start", sources, "env", {})


def test_injecting_sets_the_variables_and_checks_clashes() -> None:
    inline = parse_source(INLINE, None)
    environ: dict[str, str] = {}
    assert sorted(inject_secrets([inline], False, environ)) == ["OTHER", "TOKEN"]
    assert environ == {"TOKEN": "t1", "OTHER": "o"}
    with pytest.raises(SecretsError, match="sets TOKEN, which is already set in the task's"):
        inject_secrets([inline], False, {"TOKEN": "old"})
    replaced = {"TOKEN": "old"}
    inject_secrets([inline], True, replaced)
    assert replaced["TOKEN"] == "t1"
    twice = parse_source({**INLINE, "id": "b"}, None)
    with pytest.raises(SecretsError, match=r"Secret 'b \(inline\)' sets TOKEN, which secret 'a"):
        inject_secrets([inline, twice], True, {})


def test_an_env_source_may_meet_its_own_variable() -> None:
    """A task started here inherits the launcher's variable: the same value is no clash."""
    (source,) = resolve_sources("s", [parse_source("env.PW", None)], "", {"PW": "x"})
    environ = {"PW": "x"}
    inject_secrets([source], False, environ)
    with pytest.raises(SecretsError, match="already set"):
        inject_secrets([source], False, {"PW": "changed"})


@pytest.mark.parametrize(
    ("env_vars", "needle"),
    [
        ({"METAFLOW_X": "v"}, "the variable METAFLOW_X, whose prefix is reserved"),
        ({"1ABC": "v"}, "the invalid variable name '1ABC'"),
        ({"A": 1}, "a value of A that is not a string (int)"),
    ],
)
def test_bad_variables_are_refused(env_vars: dict[str, object], needle: str) -> None:
    source = parse_source({"type": "inline", "id": "s", "options": {"env_vars": env_vars}}, None)
    with pytest.raises(SecretsError) as caught:
        inject_secrets([source], False, {})
    assert needle in str(caught.value)
