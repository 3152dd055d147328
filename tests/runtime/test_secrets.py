"""@secrets end to end: the task of a decorated step, and only it, sees the secrets as
environment variables; they are fetched by the task (here, or in a spawned interpreter) and
never stored. Providers: inline (as Metaflow's), env (the launching process's variables) and
aws-secrets-manager against a real moto server (JSON, plain and binary secrets, a role)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from _s3servers import ENV_TO_UNSET, S3Server
from flowrun import Project, refused

pytestmark = pytest.mark.slow

FLOW = """
import hashlib, json, os
from ketch import FlowSpec, secrets, step

NAMES = {names!r}

class SecretFlow(FlowSpec):
    @secrets(sources={sources!r})
    @step
    def start(self):
        # Only digests are stored: the values themselves must never reach the store.
        self.seen = {{n: hashlib.sha256(os.environ[n].encode()).hexdigest() for n in NAMES
                      if n in os.environ}}
        self.next(self.end)

    @step
    def end(self):
        self.after = sorted(n for n in NAMES if n in os.environ)

if __name__ == "__main__":
    SecretFlow()
"""


def _digest(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


def _write(project: Project, sources: list[object], names: list[str]) -> None:
    project.write("flow.py", FLOW.format(sources=sources, names=names))


def _seen(project: Project) -> tuple[dict[str, str], list[str]]:
    done = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("SecretFlow").latest_run
        print(json.dumps([run["start"].task["seen"].data, run["end"].task["after"].data]))
        """
    )
    assert done.returncode == 0, done.stderr
    seen, after = json.loads(done.stdout)
    return seen, after


def _not_stored(root: Path, *values: str) -> None:
    """No file of the store holds the secret values (artifacts, logs, run records)."""
    for path in (root / ".ketch").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in values:
                assert value.encode() not in data, (value, path)


@pytest.mark.parametrize("executor", ["fork", "spawn"])
def test_inline_secrets_reach_the_step_only(project: Project, executor: str) -> None:
    inline = {"type": "inline", "id": "1", "options": {"env_vars": {"TOKEN": "Pizza-vegetable"}}}
    _write(project, [inline], ["TOKEN"])
    done = project.run("flow.py", "run", "--executor", executor)
    assert done.returncode == 0, done.stderr
    assert _seen(project) == ({"TOKEN": _digest("Pizza-vegetable")}, [])
    # (an inline secret is written in the flow's code, and so is in its stored code package)


def test_env_secrets_come_from_the_launching_process(project: Project) -> None:
    renamed = {"type": "env", "id": "LAUNCH_PW", "options": {"env_var_name": "DB_PW"}}
    _write(project, ["API_KEY", renamed], ["API_KEY", "DB_PW"])
    env = {"KETCH_DEFAULT_SECRETS_BACKEND_TYPE": "env", "API_KEY": "k-123", "LAUNCH_PW": "pw-9"}
    done = project.run("flow.py", "run", "--executor", "spawn", **env)
    assert done.returncode == 0, done.stderr
    seen, after = _seen(project)
    assert seen == {"API_KEY": _digest("k-123"), "DB_PW": _digest("pw-9")}
    assert after == ["API_KEY"]  # inherited from the launcher, not injected
    _not_stored(project.root, "k-123", "pw-9")
    # Metaflow's variable names the default provider too; a missing variable stops the run.
    missing = project.run("flow.py", "run", METAFLOW_DEFAULT_SECRETS_BACKEND_TYPE="env")
    refused(missing, "Missing secret", "reads the environment variable API_KEY, which is not")


def test_a_secret_that_clashes_fails_the_task(project: Project) -> None:
    inline = {"type": "inline", "id": "a", "options": {"env_vars": {"TOKEN": "new"}}}
    _write(project, [inline], ["TOKEN"])
    done = project.run("flow.py", "run", TOKEN="old")
    assert done.returncode == 1
    assert "Secret 'a (inline)' sets TOKEN, which is already set in the task's" in done.stderr
    _write(project, [inline], ["TOKEN"])
    project.write(
        "flow.py",
        (project.root / "flow.py")
        .read_text()
        .replace("@secrets(sources=", "@secrets(allow_override=True, sources="),
    )
    assert project.run("flow.py", "run", TOKEN="old").returncode == 0
    assert _seen(project)[0] == {"TOKEN": _digest("new")}


def test_a_source_without_provider_is_refused_before_the_run(project: Project) -> None:
    _write(project, ["db-creds"], [])
    refused(
        project.run("flow.py", "run"),
        "flow.py:8) gives 'db-creds' without a provider, and no default provider is set",
        "KETCH_DEFAULT_SECRETS_BACKEND_TYPE",
    )


def test_aws_secrets_manager_on_moto(
    project: Project, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    for name in ENV_TO_UNSET:  # the run's processes inherit this process's environment
        monkeypatch.delenv(name, raising=False)
    env = moto_s3.env()
    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_s3.endpoint,
        region_name=moto_s3.region,
        aws_access_key_id=moto_s3.access_key,
        aws_secret_access_key=moto_s3.secret_key,
    )
    suffix = project.root.name[-8:].replace("-", "_")
    json_id, text_id, blob_id = (f"{kind}-{suffix}" for kind in ("json", "text", "blob"))
    client.create_secret(Name=json_id, SecretString=json.dumps({"db-user": "ada", "port": 5432}))
    client.create_secret(Name=text_id, SecretString="plain-text-secret")
    client.create_secret(Name=blob_id, SecretBinary=b"\x00\x01bin")
    arn = client.describe_secret(SecretId=json_id)["ARN"]
    sources = [
        f"aws-secrets-manager.{json_id}",
        {"id": text_id, "options": {"json": False, "env_var_name": "PLAIN"}},
        {"type": "aws-secrets-manager", "id": blob_id, "role": "arn:aws:iam::123456789012:role/r"},
    ]
    names = ["db_user", "port", "PLAIN", blob_id.replace("-", "_")]
    _write(project, sources, names)
    done = project.run(
        "flow.py", "run", KETCH_DEFAULT_SECRETS_BACKEND_TYPE="aws-secrets-manager", **env
    )
    assert done.returncode == 0, done.stderr
    seen, _ = _seen(project)
    assert seen == {
        "db_user": _digest("ada"),
        "port": _digest("5432"),
        "PLAIN": _digest("plain-text-secret"),
        blob_id.replace("-", "_"): _digest(base64.b64encode(b"\x00\x01bin").decode()),
    }
    _not_stored(project.root, "plain-text-secret")
    # An ARN names its region; a missing secret fails the task, naming it.
    _write(project, [f"aws-secrets-manager.{arn}", "aws-secrets-manager.nope"], [])
    failed = project.run("flow.py", "run", **env)
    assert failed.returncode == 1
    assert "Failed to retrieve secret 'nope'" in failed.stderr
    assert "ResourceNotFoundException" in failed.stderr
