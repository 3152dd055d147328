"""The Client API against real runs: lookups, tags, namespaces, code, errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, step, Parameter

class ClientFlow(FlowSpec):
    '''Flow for client tests.'''
    size = Parameter("size", default=3)

    @step
    def start(self):
        self.items = list(range(self.size))
        self._secret = "hidden"
        print("starting")
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.double = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.doubles = [i.double for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ClientFlow()
"""


@pytest.fixture
def runs(project):  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    ids = []
    for tags in (["a"], ["a", "b"]):
        args = [x for t in tags for x in ("--tag", t)]
        proc = project.run("flow.py", "run", *args, "--run-id-file", "id")
        assert proc.returncode == 0, proc.stderr
        ids.append(project.run_id("id"))
    return project, ids


def _py(project, code: str) -> list[str]:  # type: ignore[no-untyped-def]
    out = project.client(code)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_lookups_and_listing(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, second) = runs
    lines = _py(
        project,
        f"""
        from ketch import Metaflow, Flow, Run, Step, Task, DataArtifact
        print([f.id for f in Metaflow().flows])
        flow = Flow("ClientFlow")
        print([r.id for r in flow] == ["{second}", "{first}"], flow.latest_run.id == "{second}")
        print(flow.latest_successful_run.id, flow["{first}"].id)
        run = Run("ClientFlow/{first}")
        print(run.successful, run.finished, run.finished_at >= run.created_at, run.data.doubles)
        step = Step("ClientFlow/{first}/body")
        print([t.index for t in step], [t.data.double for t in step])
        task = step.task
        print(Task(task.pathspec).pathspec == task.pathspec, task.parent.id, task.parent.parent.id)
        start = run["start"].task
        print(sorted(a.id for a in start.artifacts), "_secret" in start, start["_secret"].data)
        art = DataArtifact(start.pathspec + "/items")
        print(art.data, art.size > 0, len(art.sha), repr(start.stdout), repr(start.stderr))
        print("def start" in run.code.flowspec, run.code.script_name)
        """,
    )
    assert lines[0] == "['ClientFlow']"
    assert lines[1] == "True True"
    assert lines[2] == f"{second} {first}"
    assert lines[3] == "True True True [0, 2, 4]"
    assert lines[4] == "[0, 1, 2] [0, 2, 4]"
    assert lines[5] == f"True body {first}"
    assert lines[6] == "['items', 'name', 'size'] True hidden"
    assert lines[7] == "[0, 1, 2] True 64 'starting\\n' ''"
    assert lines[8] == "True flow.py"


def test_tags_and_namespaces(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, second) = runs
    lines = _py(
        project,
        f"""
        from ketch import Flow, Run, namespace, get_namespace, default_namespace
        from ketch.exceptions import NamespaceMismatchError, NotFoundError, UserError
        flow = Flow("ClientFlow")
        print(get_namespace(), default_namespace())
        print([r.id for r in flow.runs("a")] == ["{second}", "{first}"],
              [r.id for r in flow.runs("a", "b")] == ["{second}"], flow.runs("a", "zzz"))
        run = Run("ClientFlow/{first}")
        run.add_tag("extra"); run.remove_tag("a")
        print(sorted(Run("ClientFlow/{first}").user_tags), "user:tester" in run.system_tags)
        try:
            run.remove_tag("user:tester")
        except UserError as exc:
            print("refused", exc.headline)
        namespace("user:someone-else")
        print(list(flow), flow.latest_run)
        try:
            Run("ClientFlow/{first}")
        except NamespaceMismatchError as exc:
            print("mismatch", "namespace(None)" in exc.hint)
        namespace(None)
        print(len(list(flow)))
        for bad in ("ClientFlow/1", "NoFlow", "ClientFlow/{first}/nostep"):
            try:
                Run(bad) if bad.count("/") == 1 else (Flow(bad) if "/" not in bad else
                                                      Run(bad.rsplit("/", 1)[0])["nostep"])
            except NotFoundError as exc:
                print("missing", exc.detail)
        """,
    )
    assert lines[0] == "user:tester user:tester"
    assert lines[1] == "True True []"
    assert lines[2] == "['extra'] True"
    assert lines[3] == "refused Error"
    assert lines[4] == "[] None"
    assert lines[5] == "mismatch True"
    assert lines[6] == "2"
    assert lines[7] == "missing Run 'ClientFlow/1' does not exist."
    assert lines[8].startswith("missing Flow 'NoFlow' does not exist")
    assert lines[9] == f"missing Step 'ClientFlow/{first}/nostep' does not exist."


def test_missing_children_raise_key_error_as_in_metaflow(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, _second) = runs
    lines = _py(
        project,
        f"""
        from ketch import Flow, Metaflow, Run, namespace
        from ketch.exceptions import NamespaceMismatchError, NotFoundError
        run = Run("ClientFlow/{first}")
        lookups = [lambda: run["nostep"], lambda: run["start"]["999"],
                   lambda: run["start"].task["nope"], lambda: Flow("ClientFlow")["nope"],
                   lambda: Flow("ClientFlow")["999"], lambda: Metaflow()["NoFlow"]]
        for lookup in lookups:
            try:
                lookup()
            except KeyError as exc:
                print(type(exc).__name__, isinstance(exc, NotFoundError))
        namespace("user:nobody")
        try:
            Flow("ClientFlow")["{first}"]
        except NamespaceMismatchError:
            print("mismatch")
        """,
    )
    assert lines == ["NotFoundError True"] * 6 + ["mismatch"]


def test_private_artifacts_are_items_but_not_data(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, _second) = runs
    lines = _py(
        project,
        f"""
        from ketch import Run
        start = Run("ClientFlow/{first}")["start"].task
        print(hasattr(start.data, "_secret"), "_secret" in start.data, "_secret" in dir(start.data))
        print("_secret" in start, start["_secret"].data, [a.id for a in start if a.id[0] == "_"])
        print(hasattr(start.artifacts, "_secret"), start.data)
        """,
    )
    assert lines[:2] == ["False False False", "True hidden []"]
    assert lines[2] == "False <MetaflowData: items, name, size>"


def test_dump_and_logs_commands(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, _second) = runs
    dump = project.run("flow.py", "dump", f"{first}/start")
    assert dump.returncode == 0
    assert "items: [0, 1, 2]" in dump.stdout and "_secret" not in dump.stdout
    private = project.run("flow.py", "dump", f"{first}/start", "--private")
    assert "_secret: 'hidden'" in private.stdout
    pickled = project.run("flow.py", "dump", f"{first}/body", "--file", "out.pkl")
    assert pickled.returncode == 0
    import pickle

    data = pickle.loads((project.root / "out.pkl").read_bytes())
    assert sorted(v["double"] for v in data.values()) == [0, 2, 4]
    logs = project.run("flow.py", "logs", f"{first}/start", "--stdout")
    assert logs.returncode == 0 and logs.stdout == "starting\n"
    tags = project.run("flow.py", "tag", "list", first)
    assert "user tags:   a" in tags.stdout


LISTED = """
import os
from ketch import FlowSpec, step, retry

class ListedFlow(FlowSpec):
    @step
    def start(self):
        self.x = int(os.environ["X"])
        if self.x == 2:
            raise ValueError("no end for run 2")
        self.next(self.end)

    @retry(times=1)
    @step
    def end(self):
        if self.x == 3 and not os.path.exists("retried"):
            open("retried", "w").close()
            raise RuntimeError("first attempt of end fails")
        self.y = self.x * 10

if __name__ == "__main__":
    ListedFlow()
"""


def test_listing_reads_every_runs_end_task(project) -> None:  # type: ignore[no-untyped-def]
    """`[r.data.y for r in Flow(...)]` reads the end tasks of the listing in one batch: the
    answers must be those of each run (failed runs have no data, a retried end its last try)."""
    project.write("flow.py", LISTED)
    for x in (1, 2, 3):
        proc = project.run("flow.py", "run", X=str(x))
        assert proc.returncode == (1 if x == 2 else 0), proc.stderr
    lines = _py(
        project,
        """
        from ketch import Flow
        for run in Flow("ListedFlow"):
            data, end = run.data, run.end_task
            print(run.successful, data and data.y, end and end.current_attempt)
        print([r.data.y for r in Flow("ListedFlow").runs() if r.successful])
        """,
    )
    assert lines == ["True 30 1", "False None None", "True 10 0", "[30, 10]"]


def test_loglines_as_in_metaflow(runs) -> None:  # type: ignore[no-untyped-def]
    project, (first, _second) = runs
    lines = _py(
        project,
        f"""
        from ketch import Task, Run
        from ketch.exceptions import UserError
        start = Run("ClientFlow/{first}")["start"].task
        print(list(start.loglines("stdout")), list(start.loglines("stdout", as_unicode=False)))
        print(list(start.loglines("stderr")))
        try:
            list(start.loglines("both"))
        except UserError as exc:
            print(exc)
        """,
    )
    assert lines == [
        "[(None, 'starting')] [(None, b'starting')]",
        "[]",
        "Task.loglines: no stream 'both'.",
    ]
