"""@pypi, @pypi_base and @conda in real runs: environments built with uv, cached, isolated."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import sys
from ketch import FlowSpec, step, pypi, pypi_base, conda, conda_base, current

{base}
class EnvFlow(FlowSpec):
    {decorators}
    @step
    def start(self):
        import importlib.metadata as md
        self.python = sys.executable
        self.version = ".".join(map(str, sys.version_info[:3]))
        self.dists = sorted(d.metadata["Name"].lower() for d in md.distributions())
        self.six = md.version("six") if "six" in self.dists else None
        try:
            import numpy  # in the launching venv, never asked for here
            self.numpy = True
        except ImportError:
            self.numpy = False
        self.next(self.end)

    @step
    def end(self):
        self.end_python = sys.executable

if __name__ == "__main__":
    EnvFlow()
"""


@pytest.fixture(scope="module")
def env_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One environment cache for the module's runs (as a user's is shared by every run)."""
    return str(tmp_path_factory.mktemp("envcache"))


def _flow(project, decorators: str = "", base: str = "") -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW.format(decorators=decorators, base=base))


def _data(project) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("EnvFlow").latest_run
        t = run["start"].task
        keys = ("python", "version", "dists", "six", "numpy")
        data = {k: getattr(t.data, k) for k in keys}
        data["end_python"] = run["end"].task.data.end_python
        data["meta"] = {k: v for k, v in t.metadata_dict.items() if k.startswith(("env", "conda"))}
        print(json.dumps(data))
        """
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_pypi_step_sees_its_pins_and_nothing_else(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"six": "1.16.0"})')
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 0, done.stderr
    data = _data(project)
    assert data["six"] == "1.16.0"
    assert data["numpy"] is False  # the launching venv's packages are not visible
    assert "numpy" not in data["dists"] and "pytest" not in data["dists"]
    assert str(data["python"]).startswith(env_cache)
    # the step without @pypi runs in an environment of its own too (as in Metaflow)
    assert str(data["end_python"]).startswith(env_cache)
    assert data["end_python"] != data["python"]
    meta = data["meta"]
    assert isinstance(meta, dict)
    assert re.fullmatch(r"[0-9a-f]{20}", meta["env-id"])
    assert meta["conda_env_prefix"] == str(Path(str(data["python"])).parent.parent)
    # the run holds the lock: the exact pins of the environment
    graph = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("EnvFlow").latest_run
        info = run["start"].task.environment_info
        assert info == run["start"].environment_info
        assert run._graph_info()["steps"]["start"]["environment"] == info
        print(json.dumps(info))
        """
    )
    env = json.loads(graph.stdout.strip().splitlines()[-1])
    assert "six==1.16.0" in env["pins"].splitlines()
    assert env["env_id"] == meta["env-id"] and env["type"] == "pypi"


def test_second_run_reuses_the_cached_environment(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cache = str(tmp_path / "fresh-cache")
    _flow(project, '@pypi(packages={"six": "1.16.0", "tomli": "2.0.1"})')
    cold_started = time.perf_counter()
    first = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=cache)
    cold = time.perf_counter() - cold_started
    assert first.returncode == 0, first.stderr
    assert "resolved and built" in first.stderr
    envs = sorted(os.listdir(Path(cache) / "envs"))
    warm_started = time.perf_counter()
    second = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=cache)
    warm = time.perf_counter() - warm_started
    assert second.returncode == 0, second.stderr
    assert "resolved and built" not in second.stderr
    assert second.stderr.count(": cached.") == 2
    assert sorted(os.listdir(Path(cache) / "envs")) == envs  # nothing rebuilt
    assert warm < cold
    print(f"cold run {cold:.2f} s, warm run {warm:.2f} s")


def test_pypi_base_merges_with_the_step(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(
        project,
        decorators='@pypi(packages={"six": "1.16.0"})',
        base='@pypi_base(packages={"six": "1.15.0", "tomli": "2.0.1"})',
    )
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 0, done.stderr
    data = _data(project)
    assert data["six"] == "1.16.0"  # the step's version wins
    assert "tomli" in data["dists"]  # the base's package is there too
    assert data["numpy"] is False


def test_disabled_step_runs_in_the_launching_interpreter(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    import sys

    _flow(project, '@pypi(packages={"six": "1.16.0"}, disabled=True)')
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 0, done.stderr
    data = _data(project)
    assert data["python"] == sys.executable
    assert data["numpy"] is True
    info = project.client(
        "from ketch import Flow; print(Flow('EnvFlow').latest_run['start'].task.environment_info)"
    )
    assert info.stdout.strip() == "{}"


def test_pypi_without_environment_pypi_is_refused(project) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"six": "1.16.0"}, disabled=True)')
    done = project.run("flow.py", "run")
    assert done.returncode == 1
    assert "Incompatible environment" in done.stderr
    assert "@pypi on step 'start'" in done.stderr and "flow.py:" in done.stderr
    assert "--environment=pypi" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Workflow starting" not in done.stdout + done.stderr  # no run was started


def test_unknown_package_names_it(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"ketch-no-such-package-xyz": "1.0"})')
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 1
    assert "ketch-no-such-package-xyz" in done.stderr
    assert "package index does not have" in done.stderr
    assert "flow.py:" in done.stderr and "Traceback" not in done.stderr


def test_conda_only_package_names_it(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@conda(packages={"cudatoolkit": "11.8.0", "six": "1.16.0"})')
    done = project.run("flow.py", "--environment=conda", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 1
    assert "@conda" in done.stderr and "cudatoolkit" in done.stderr
    assert "only conda has" in done.stderr
    assert "Traceback" not in done.stderr


def test_conda_package_on_pypi_builds(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, base='@conda_base(libraries={"six": "1.16.0"})')
    done = project.run("flow.py", "--environment=conda", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 0, done.stderr
    assert _data(project)["six"] == "1.16.0"


def test_missing_python_version_names_it(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"six": "1.16.0"}, python="3.4")')
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 1
    assert "Python 3.4 is not installed on this machine" in done.stderr
    assert "Traceback" not in done.stderr


PYENV_310 = Path(os.path.expanduser("~/.pyenv/versions/3.10.13/bin/python3.10"))


@pytest.mark.skipif(not PYENV_310.exists(), reason="needs an installed Python 3.10 (pyenv)")
def test_other_python_version(project, env_cache: str) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"six": "1.16.0"}, python="3.10")')
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache)
    assert done.returncode == 0, done.stderr
    data = _data(project)
    assert str(data["version"]).startswith("3.10.")
    assert data["six"] == "1.16.0"
    assert data["meta"]["env-python-version"] == data["version"]  # type: ignore[index]


def test_pypi_step_on_an_s3_datastore(project, env_cache: str, s3_bucket, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With an S3 datastore the environment also holds ketch's S3 client requirements."""
    pytest.importorskip("obstore")
    server, bucket = s3_bucket
    _flow(project, '@pypi(packages={"six": "1.16.0"})')
    env = {**server.env(), "KETCH_DATASTORE_URL": f"s3://{bucket}/runs"}
    env["KETCH_CACHE_DIR"] = str(project.root / "s3cache")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    done = project.run(
        "flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=env_cache, timeout=300, **env
    )
    assert done.returncode == 0, done.stderr
    out = project.run(
        "-c",
        "from ketch import Flow; t = Flow('EnvFlow').latest_run['start'].task; "
        "print(t.data.six, t.data.numpy, 'obstore' in t.data.dists)",
        **env,
    )
    assert out.stdout.split() == ["1.16.0", "False", "True"], out.stderr


def test_an_unusable_cache_is_a_clear_error(project) -> None:  # type: ignore[no-untyped-def]
    _flow(project, '@pypi(packages={"six": "1.16.0"})')
    blocker = project.root / "not-a-dir"
    blocker.write_text("a file where the cache should be")
    done = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=str(blocker))
    assert done.returncode == 1
    assert f"The environment cache {blocker} cannot be used" in done.stderr
    assert "KETCH_ENV_CACHE" in done.stderr and "Traceback" not in done.stderr


RESUME_FLOW = """
import os
from ketch import FlowSpec, step, pypi_base

@pypi_base(packages={"six": ">=1.15"})
class ResumeEnvFlow(FlowSpec):
    @step
    def start(self):
        import six
        self.first = six.__version__
        self.next(self.later)

    @step
    def later(self):
        import six
        if not os.path.exists("ok"):
            raise RuntimeError("fails until ok exists")
        self.second = six.__version__
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ResumeEnvFlow()
"""


def test_resume_uses_the_origin_runs_lock(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A resumed step that asks for what it asked for runs on the origin run's pins, even when
    a new resolution would give other versions (here: a tampered cache)."""
    cache = tmp_path / "resume-cache"
    project.write("flow.py", RESUME_FLOW)
    first = project.run("flow.py", "--environment=pypi", "run", KETCH_ENV_CACHE=str(cache))
    assert first.returncode == 1 and "fails until ok exists" in first.stderr
    for record in (cache / "resolved").iterdir():  # what a new resolution would now give
        data = json.loads(record.read_text())
        data["pins"] = re.sub(r"six==\S+", "six==1.15.0", data["pins"])
        data["env_id"] = "tampered0000000000000"
        record.write_text(json.dumps(data))
    (project.root / "ok").write_text("")
    resumed = project.run("flow.py", "--environment=pypi", "resume", KETCH_ENV_CACHE=str(cache))
    assert resumed.returncode == 0, resumed.stderr
    assert "the origin run's lock" in resumed.stderr
    out = project.client(
        """
        from ketch import Flow
        run = Flow("ResumeEnvFlow").latest_run
        print(run["start"].task.data.first, run["later"].task.data.second)
        """
    )
    first_version, second_version = out.stdout.split()
    assert first_version == second_version != "1.15.0", out.stderr
    assert not (cache / "envs" / "tampered0000000000000").exists()
