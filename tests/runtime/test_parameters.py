"""Parameters, IncludeFile, class constants and ``current`` in real runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from flowrun import recorded_runs, refused

pytestmark = pytest.mark.slow

PARAMS = """
import json
from ketch import FlowSpec, step, Parameter, JSONType, IncludeFile, current

def default_name(ctx):
    return "made-by-" + ctx.parameter_name

class ParamFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.5, help="a float")
    count = Parameter("count", default=3)
    flag = Parameter("flag", default=False)
    config = Parameter("config", type=JSONType, default='{"k": [1, 2]}')
    label = Parameter("label", default=default_name)
    words = Parameter("words", default="a,b", separator=",")
    text = IncludeFile("text", default="data.txt")
    blob = IncludeFile("blob", is_text=False, default="data.bin")
    LIMIT = 7

    @step
    def start(self):
        self.seen = {
            "alpha": self.alpha, "count": self.count, "flag": self.flag,
            "config": self.config, "label": self.label, "words": self.words,
            "text": self.text, "blob": self.blob.hex(), "LIMIT": self.LIMIT,
            "types": [type(self.alpha).__name__, type(self.count).__name__,
                      type(self.flag).__name__],
            "current": [current.flow_name, current.step_name, current.is_running_flow,
                        current.retry_count, sorted(current.parameter_names),
                        current.pathspec.split("/")[2], current.username,
                        sorted(current.tags)],
        }
        try:
            self.alpha = 3
        except AttributeError as exc:
            self.readonly_error = str(exc)
        self.next(self.end)

    @step
    def end(self):
        print("SEEN", json.dumps(self.seen))

if __name__ == "__main__":
    ParamFlow()
"""


def _seen(stdout: str) -> dict[str, object]:
    line = next(line for line in stdout.splitlines() if " SEEN " in line)
    return json.loads(line.split(" SEEN ", 1)[1])  # type: ignore[no-any-return]


def test_parameter_defaults_types_and_current(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", PARAMS)
    (project.root / "data.txt").write_text("hello file")
    (project.root / "data.bin").write_bytes(b"\x00\x01\xff")
    proc = project.run("flow.py", "run", "--tag", "exp1")
    assert proc.returncode == 0, proc.stderr
    seen = _seen(proc.stdout)
    assert seen["alpha"] == 0.5 and seen["count"] == 3 and seen["flag"] is False
    assert seen["config"] == {"k": [1, 2]}
    assert seen["label"] == "made-by-label"
    assert seen["words"] == ["a", "b"]
    assert seen["text"] == "hello file" and seen["blob"] == "0001ff"
    assert seen["LIMIT"] == 7
    assert seen["types"] == ["float", "int", "bool"]
    assert seen["current"] == [
        "ParamFlow",
        "start",
        True,
        0,
        ["alpha", "blob", "config", "count", "flag", "label", "text", "words"],
        "start",
        "tester",
        ["exp1"],
    ]
    out = project.client(
        """
        from ketch import Flow
        run = Flow("ParamFlow").latest_run
        print(run["start"].task.data.readonly_error)
        print(run.data.alpha, run.data.LIMIT, run.data.text)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "Flow level attributes and Parameters are not modifiable",
        "0.5 7 hello file",
    ]


def test_parameter_values_from_command_line(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", PARAMS)
    (project.root / "data.txt").write_text("x")
    (project.root / "other.txt").write_text("snapshot")
    (project.root / "data.bin").write_bytes(b"")
    proc = project.run(
        "flow.py",
        "run",
        "--alpha",
        "2.5",
        "--count",
        "9",
        "--flag",
        "true",
        "--config",
        '{"a": null}',
        "--words",
        "x,y,z",
        "--text",
        "other.txt",
    )
    seen = _seen(proc.stdout)
    assert seen["alpha"] == 2.5 and seen["count"] == 9 and seen["flag"] is True
    assert seen["config"] == {"a": None} and seen["words"] == ["x", "y", "z"]
    assert seen["text"] == "snapshot"
    # IncludeFile content is a snapshot: changing the file later does not change the run.
    (project.root / "other.txt").write_text("changed")
    out = project.client("from ketch import Flow; print(Flow('ParamFlow').latest_run.data.text)")
    assert out.stdout.strip() == "snapshot"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--count", "abc"], "'--count': 'abc' is not a valid integer"),
        (["--config", "{bad"], "--config"),
        (["--text", "missing.txt"], "'--text': cannot read file 'missing.txt'"),
        (["--nope", "1"], "No such option '--nope'"),
    ],
)
def test_bad_parameter_exits_2_and_records_nothing(project, args, needle) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", PARAMS)
    (project.root / "data.txt").write_text("x")
    (project.root / "data.bin").write_bytes(b"")
    proc = project.run("flow.py", "run", *args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project.root / ".ketch").exists()


REQUIRED = """
from ketch import FlowSpec, step, Parameter

class ReqFlow(FlowSpec):
    n = Parameter("n", type=int, required=True)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        print("n is", self.n)

if __name__ == "__main__":
    ReqFlow()
"""


def test_required_parameter(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", REQUIRED)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 2
    assert "Missing option '--n'" in proc.stderr
    ok = project.run("flow.py", "run", "--n", "4")
    assert ok.returncode == 0, ok.stderr
    assert "n is 4" in ok.stdout
    env = project.run("flow.py", "run", KETCH_RUN_N="5")
    assert "n is 5" in env.stdout


NAMESPACE = """
from ketch import FlowSpec, step, current, get_namespace

class NsFlow(FlowSpec):
    @step
    def start(self):
        print("NS", current.namespace, get_namespace())
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    NsFlow()
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "NS user:tester user:tester"),
        (["--namespace", "team:x"], "NS team:x team:x"),
        (["--namespace", ""], "NS  None"),
    ],
)
def test_run_namespace_option(project, args, expected) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", NAMESPACE)
    proc = project.run("flow.py", "run", *args)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "] NS" in line)
    assert line.split("] ", 1)[1] == expected


INCLUDE = """
from ketch import FlowSpec, IncludeFile, step

class IncFlow(FlowSpec):
    data = IncludeFile("data", is_text=False, max_bytes=10)

    @step
    def start(self):
        print("LEN", len(self.data))
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    IncFlow()
"""


def test_include_file_refuses_devices_directories_and_big_files(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", INCLUDE)
    (project.root / "some_dir").mkdir()
    (project.root / "big.bin").write_bytes(b"x" * 11)
    (project.root / "small.bin").write_bytes(b"x" * 10)
    refused(
        project.run("flow.py", "run", "--data", "/dev/zero", timeout=60),
        "'--data': '/dev/zero' is a device, not a regular file",
        code=2,
    )
    refused(project.run("flow.py", "run", "--data", "some_dir"), "is a directory", code=2)
    refused(
        project.run("flow.py", "run", "--data", "big.bin"),
        "'big.bin' is larger than 10 bytes",
        "max_bytes=",
        code=2,
    )
    assert recorded_runs(project) == []
    ok = project.run("flow.py", "run", "--data", "small.bin")
    assert ok.returncode == 0 and "LEN 10" in ok.stdout, ok.stderr
    # A pipe (what `--data <(command)` gives) is read, up to the same limit.
    for data, code in (("0123456789", 0), ("0123456789+", 2)):
        piped = subprocess.run(
            [sys.executable, "flow.py", "run", "--data", "/dev/stdin"],
            cwd=project.root,
            env=project.env(),
            input=data,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert piped.returncode == code, piped.stderr
    assert "larger than 10 bytes" in piped.stderr
