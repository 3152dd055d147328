"""The parts of ketch.pyenv that need no run: requirements, interpreters, uv's index options,
merging @pypi_base with @pypi, and the cache under concurrent builders."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ketch import FlowSpec, conda, pypi, pypi_base, step
from ketch.exceptions import EnvironmentSetupError
from ketch.graph import build_graph
from ketch.pyenv import step_requests
from ketch.pyenv._cache import requirement
from ketch.pyenv._python import find_interpreter, matches
from ketch.pyenv._uv import index_args, missing_versions, unknown_packages
from ketch.runtime import build_policies


def test_requirement_pins_a_bare_version() -> None:
    assert requirement("six", "1.16.0") == "six==1.16.0"
    assert requirement("six", ">=1.15,<2") == "six>=1.15,<2"
    assert requirement("six", "") == "six"


def test_version_matching() -> None:
    assert matches("3.10.13", "3.10") and matches("3.10.13", "3.10.13")
    assert not matches("3.10.13", "3.1") and not matches("3.10.13", "3.10.1")


def test_launching_python_needs_no_search() -> None:
    version = ".".join(map(str, sys.version_info[:2]))
    assert find_interpreter(version).version.startswith(version)
    assert find_interpreter(None).version.startswith(version)
    assert find_interpreter(f"{version}.*").version.startswith(version)
    assert find_interpreter(f"=={version}").version.startswith(version)


def test_missing_python_is_a_clear_error() -> None:
    with pytest.raises(EnvironmentSetupError, match=r"Python 3\.4 is not installed") as info:
        find_interpreter("3.4")
    assert "pyenv install 3.4" in info.value.hint
    with pytest.raises(EnvironmentSetupError, match="is not a Python version"):
        find_interpreter("three")


def test_index_follows_pip_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    links = tmp_path / "wheels"
    links.mkdir()
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = https://mirror.example/simple\n"
        f"extra-index-url = file://{tmp_path} file:///no/such/dir\nfind-links = {links}\n"
    )
    for var in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        monkeypatch.delenv(var, raising=False)
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    args = index_args()
    assert args[:2] == ["--index-url", "https://mirror.example/simple"]
    assert ["--extra-index-url", f"file://{tmp_path}"] == args[2:4]
    assert "file:///no/such/dir" not in args  # a missing local index is left out
    assert ["--find-links", str(links)] == args[4:6]
    assert args[-2:] == ["--index-strategy", "unsafe-best-match"]
    monkeypatch.setenv("UV_INDEX_URL", "https://uv.example/simple")
    assert index_args() == []  # uv's own configuration wins


def test_uv_errors_name_the_package() -> None:
    text = (
        "cause: Because nonexistentpkgxyz was not found in the package registry and you "
        "require nonexistentpkgxyz==1.0, we can conclude"
    )
    assert unknown_packages(text) == ["nonexistentpkgxyz"]
    assert missing_versions("Because there is no version of six==99.0 and") == ["six==99.0"]


@pypi_base(packages={"six": "1.15.0", "tomli": "2.0.1"}, python="3.11")
class MergeFlow(FlowSpec):
    @pypi(packages={"six": "1.16.0"}, python="3.10")
    @step
    def start(self):  # type: ignore[no-untyped-def]
        self.next(self.middle)

    @pypi(disabled=True)
    @step
    def middle(self):  # type: ignore[no-untyped-def]
        self.next(self.end)

    @step
    def end(self):  # type: ignore[no-untyped-def]
        pass


def _policies(flow_cls: type) -> dict[str, object]:
    return build_policies(flow_cls, build_graph(flow_cls), [])  # type: ignore[return-value]


def test_base_merges_with_step() -> None:
    requests = step_requests(MergeFlow, _policies(MergeFlow), "pypi")  # type: ignore[arg-type]
    start, middle, end = requests["start"], requests["middle"], requests["end"]
    assert start is not None and end is not None
    assert dict(start.packages) == {"six": "1.16.0", "tomli": "2.0.1"}
    assert start.python == "3.10"
    assert middle is None  # disabled: the launching interpreter
    assert dict(end.packages) == {"six": "1.15.0", "tomli": "2.0.1"} and end.python == "3.11"
    assert "test_pyenv_units.py:" in start.origin


def test_decorators_need_environment_pypi() -> None:
    with pytest.raises(EnvironmentSetupError, match="requires --environment=pypi") as info:
        step_requests(MergeFlow, _policies(MergeFlow), "local")  # type: ignore[arg-type]
    assert info.value.headline == "Incompatible environment"


class BothFlow(FlowSpec):
    @conda(packages={"six": "1.16.0"})
    @pypi(packages={"six": "1.16.0"})
    @step
    def start(self):  # type: ignore[no-untyped-def]
        self.next(self.end)

    @step
    def end(self):  # type: ignore[no-untyped-def]
        pass


def test_pypi_and_conda_on_one_step_are_refused() -> None:
    with pytest.raises(EnvironmentSetupError, match="both @pypi and @conda"):
        step_requests(BothFlow, _policies(BothFlow), "pypi")  # type: ignore[arg-type]


@pytest.mark.slow
def test_concurrent_builders_make_one_environment(tmp_path: Path) -> None:
    """Two processes that build the same environment at once: one builds, the other waits
    and uses it; the cache holds one whole environment and no leftovers."""
    code = textwrap.dedent(
        f"""
        import json
        from pathlib import Path
        from ketch.pyenv import EnvRequest, ensure_env
        env = ensure_env(EnvRequest("pypi", (("six", "1.16.0"),), None), Path({str(tmp_path)!r}))
        print(json.dumps([env.env_id, env.python]))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]
    assert [p.name for p in (tmp_path / "envs").iterdir()] == [outs[0][0]]
    check = subprocess.run(
        [outs[0][1], "-c", "import six, ketch; print(six.__version__)"],
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "1.16.0", check.stderr


def test_missing_uv_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketch.pyenv._uv import uv_binary

    monkeypatch.setitem(sys.modules, "uv", None)  # as if the uv package were not installed
    with pytest.raises(EnvironmentSetupError, match="built with uv") as info:
        uv_binary()
    assert "pip install 'ketch[pypi]'" in info.value.hint


class BadPackagesFlow(FlowSpec):
    @pypi(packages=["six"])
    @step
    def start(self):  # type: ignore[no-untyped-def]
        self.next(self.end)

    @step
    def end(self):  # type: ignore[no-untyped-def]
        pass


def test_bad_packages_argument_names_the_decorator() -> None:
    from ketch.exceptions import DecoratorError

    with pytest.raises(
        DecoratorError, match=r"@pypi on step 'start' \(.*test_pyenv_units.py:\d+\)"
    ):
        _policies(BadPackagesFlow)


@pytest.mark.slow
def test_a_broken_environment_is_rebuilt(tmp_path: Path) -> None:
    from ketch.pyenv import EnvRequest, ensure_env

    request = EnvRequest("pypi", (("six", "1.16.0"),), None)
    env = ensure_env(request, tmp_path)
    Path(env.python).unlink()  # e.g. its base interpreter was uninstalled
    again = ensure_env(request, tmp_path)
    assert again.env_id == env.env_id and not again.cached
    assert Path(again.python).exists()
    assert ensure_env(request, tmp_path).cached
