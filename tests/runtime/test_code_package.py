"""A task runs where only the datastore is: it loads the flow from the run's code package.

Real runs and real task processes: a run whose flow file is moved away while it runs, and a
task started from its ``TaskSpec`` alone in another directory, with a copy of the datastore
and no metadata database.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from flowrun import Project

from ketch.datastore import load_artifact, open_blobs
from ketch.exceptions import FlowDefinitionError
from ketch.runtime._executor import LocalExecutor
from ketch.runtime._package import unpack_package, uses_package
from ketch.runtime._spec import Resources, TaskSpec
from ketch.runtime._task import save_value

pytestmark = pytest.mark.slow

FLOW = """
import os
from pathlib import Path

import helper
from ketch import FlowSpec, Parameter, current, environment, step


def where():
    here = Path(__file__).resolve().parent
    return {
        "dir": str(here),
        "cwd": os.getcwd(),
        "helper": (here / "helper.py").read_text(),
        "data": (here / "data.txt").exists(),
    }


class PkgFlow(FlowSpec):
    greeting = Parameter("greeting", default="hello")

    @step
    def start(self):
        self.start_where = where()
        self.loud = helper.loud(self.greeting)
        self.seen = [current.flow_name, current.run_id, current.task_id]
        if os.environ.get("MOVE_FLOW"):  # the next task cannot find the flow file
            for name in ("flow.py", "helper.py"):
                os.rename(name, name + ".moved")
        self.next(self.end)

    # Its own environment: no spare interpreter imports the flow for it before it is moved.
    @environment(vars={"STEP": "end"})
    @step
    def end(self):
        self.end_where = where()
        self.end_loud = helper.loud(self.greeting)


if __name__ == "__main__":
    PkgFlow()
"""
HELPER = "def loud(text):\n    return text.upper()\n"


def _project(root: Path) -> Project:
    root.mkdir()
    project = Project(root)
    project.write("flow.py", FLOW)
    project.write("helper.py", HELPER)
    project.write("data.txt", "not python: not in the code package\n")
    return project


def _client(project: Project, expr: str) -> Any:
    done = project.client(
        f"import json; from ketch import Flow\nrun = Flow('PkgFlow').latest_run\n"
        f"print(json.dumps({expr}))"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_task_whose_flow_file_is_gone_loads_the_code_package(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    cache = tmp_path / "tmp"
    cache.mkdir()
    done = project.run(
        "flow.py", "run", "--executor", "spawn", "--greeting", "hi",
        MOVE_FLOW="1", TMPDIR=str(cache),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not (project.root / "flow.py").exists()
    key = _client(project, "run.code.key")
    start = _client(project, "run['start'].task['start_where'].data")
    end = _client(project, "run['end'].task.data.end_where")
    assert start["dir"] == str(project.root.resolve())
    assert start["data"] is True
    # The end step ran the stored code: its __file__ is in the unpacked package, its sibling
    # modules import from there, and it still works in the directory the run started in.
    assert end["dir"] == str((cache / f"ketch-code-{os.getuid()}" / str(key)).resolve())
    assert end["helper"] == HELPER
    assert end["cwd"] == str(project.root.resolve())
    assert end["data"] is False  # only .py files are packaged (Metaflow's default too)
    assert _client(project, "run['end'].task.data.end_loud") == "HI"


def test_a_task_runs_from_its_spec_with_only_the_datastore(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    done = project.run("flow.py", "run")
    assert done.returncode == 0, done.stderr
    key: str = _client(project, "run.code.key")
    run_id = int(_client(project, "run.id"))
    flow_file = project.root.resolve() / "flow.py"
    # Another machine: a copy of the datastore without the run database, no flow file, and
    # another working directory.
    store = tmp_path / "store"
    shutil.copytree(project.root / ".ketch", store, ignore=shutil.ignore_patterns("*.db*"))
    shutil.rmtree(project.root)
    elsewhere, cache = tmp_path / "elsewhere", tmp_path / "tmp"
    elsewhere.mkdir()
    cache.mkdir()
    blobs = open_blobs(str(store))
    values = {"name": "PkgFlow", "greeting": "ho"}  # what the run's _parameters task holds
    spec = TaskSpec(
        flow_name="PkgFlow",
        flow_file=str(flow_file),
        flow_class="PkgFlow",
        run_id=run_id,
        step_name="start",
        task_id=1000,
        attempt=0,
        inputs=(),
        parameters={name: save_value(blobs, name, value) for name, value in values.items()},
        frames=(),
        var_keys=(),
        datastore_url=str(store),
        username="tester",
        out_funcs=("end",),
        cwd=str(elsewhere),
        env={"TMPDIR": str(cache)},
        code_package=key,
    )
    assert uses_package(spec)
    executor = LocalExecutor(None, mode="spawn")
    try:
        result = executor.submit(spec).result(timeout=120)
    finally:
        executor.close()
    assert result.ok, result.stderr.decode()
    assert result.transition == ("end",)
    where = load_artifact(blobs, result.artifacts["start_where"].key)
    assert where["dir"] == str((cache / f"ketch-code-{os.getuid()}" / key).resolve())
    assert where["cwd"] == str(elsewhere)
    assert where["helper"] == HELPER
    assert load_artifact(blobs, result.artifacts["loud"].key) == "HO"
    assert load_artifact(blobs, result.artifacts["seen"].key) == ["PkgFlow", str(run_id), "1000"]


def test_the_package_is_unpacked_once_per_key(tmp_path: Path) -> None:
    from ketch.datastore import build_code_package

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "flow.py").write_text("x = 1\n")
    (tmp_path / "src" / "lib").mkdir()
    (tmp_path / "src" / "lib" / "util.py").write_text("y = 2\n")
    blobs = open_blobs(str(tmp_path / "store"))
    key = blobs.put_bytes(build_code_package(tmp_path / "src" / "flow.py"), pack=False)
    first = unpack_package(blobs, key, tmp_path)
    assert first == tmp_path / key
    assert (first / "lib" / "util.py").read_text() == "y = 2\n"
    (first / "flow.py").write_text("x = 'kept'\n")  # a second unpack reuses the directory
    assert unpack_package(blobs, key, tmp_path) == first
    assert (first / "flow.py").read_text() == "x = 'kept'\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([key, "src", "store"])


def test_a_package_member_outside_its_directory_is_refused(tmp_path: Path) -> None:
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    blobs = open_blobs(str(tmp_path / "store"))
    key = blobs.put_bytes(out.getvalue(), pack=False)
    (tmp_path / "cache").mkdir()
    with pytest.raises(FlowDefinitionError, match="outside its directory"):
        unpack_package(blobs, key, tmp_path / "cache")
    assert not (tmp_path / "evil.py").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_resources_record_what_the_decorator_asks() -> None:
    assert Resources.of({"cpu": 2, "gpu": None, "memory": 1000, "disk": None}) == Resources(
        cpu=2.0, gpu=0, memory=1000
    )
    spec = TaskSpec(
        "F", "f.py", "F", 1, "start", 1, 0, (), {}, (), (), "", "u",
        resources=Resources.of({"gpu": 2, "shared_memory": 512.0}),
    )  # fmt: skip
    assert spec.gpus == 2
    assert spec.resources is not None and spec.resources.shared_memory == 512
    assert not uses_package(spec)  # no code package: the flow file or nothing
