"""The Runner as a user drives it from pytest: real flow runs in real subprocesses."""

from __future__ import annotations

import asyncio

import pytest
from flowrun import Project

from ketch import Runner
from ketch.exceptions import RunnerError

pytestmark = pytest.mark.slow

FLOW = """
    from ketch import FlowSpec, Parameter, JSONType, step

    class SquareFlow(FlowSpec):
        alpha = Parameter("alpha", default=1.0)
        n = Parameter("n", default=3)
        config = Parameter("config", type=JSONType, default='{"k": 1}')
        fail_in = Parameter("fail-in", default="")

        @step
        def start(self):
            print("alpha is", self.alpha)
            self.items = list(range(self.n))
            self.next(self.body, foreach="items")

        @step
        def body(self):
            if self.fail_in == "body" and self.input == 1:
                raise ValueError("body failed on purpose")
            self.value = self.input * self.alpha
            self.next(self.join)

        @step
        def join(self, inputs):
            self.total = sum(i.value for i in inputs)
            self.next(self.end)

        @step
        def end(self):
            self.k = self.config["k"]
            print("total is", self.total)

    if __name__ == "__main__":
        SquareFlow()
"""


def test_run_returns_the_client_run_with_parameters_and_options(project: Project) -> None:
    project.write("flow.py", FLOW)
    with Runner("flow.py", show_output=False) as runner:
        result = runner.run(alpha=2.0, n=4, config={"k": 7}, tags=["a", "b"], max_workers=2)
        assert result.status == "successful" and result.returncode == 0
        assert result.run.successful and result.run.finished
        assert result.run.data.total == 12.0 and result.run.data.k == 7
        assert {"a", "b"} <= result.run.tags
        assert "alpha is 2.0" in result.stdout
        assert "Done" in result.stderr or "Done" in result.stdout


def test_a_failing_flow_gives_status_failed_and_the_failed_run(project: Project) -> None:
    project.write("flow.py", FLOW)
    with Runner("flow.py", show_output=False) as runner:
        result = runner.run(fail_in="body")
        assert result.status == "failed" and result.returncode != 0
        assert not result.run.successful and not result.run.finished  # end never ran
        assert "body failed on purpose" in result.stdout + result.stderr
        # A sibling cancelled by the failure is not successful either, and has no exception.
        raised = [t for t in result.run["body"] if t.exception is not None]
        assert raised and not any(t.successful for t in raised)
        assert "body failed on purpose" in str(raised[0].exception)


def test_bad_options_raise_before_anything_runs(project: Project) -> None:
    project.write("flow.py", FLOW)
    runner = Runner("flow.py", show_output=False)
    with pytest.raises(RunnerError, match="unknown option 'beta'"):
        runner.run(beta=1)
    with pytest.raises(TypeError, match="'n' expects int"):  # RunnerError and, as Metaflow,
        runner.run(n="three")  # TypeError (an unknown option: ValueError)
    with pytest.raises(ValueError, match="unknown option 'beta'"):
        runner.run(beta=1)
    with pytest.raises(RunnerError, match="unknown option 'nope'"):
        Runner("flow.py", nope=True)
    assert not (project.root / ".ketch").exists()  # nothing ran


def test_a_command_that_stops_before_its_run_raises_with_its_message(project: Project) -> None:
    project.write("flow.py", FLOW)
    with pytest.raises(RunnerError, match="max-workers must be at least 1"):
        Runner("flow.py", show_output=False).run(max_workers=0)


def test_resume_reruns_from_the_failed_step(project: Project) -> None:
    project.write("flow.py", FLOW)
    with Runner("flow.py", show_output=False) as runner:
        failed = runner.run(fail_in="body")
        assert failed.status == "failed"
    project.write("flow.py", FLOW.replace('raise ValueError("body', 'print("fixed'))
    with Runner("flow.py", show_output=False) as runner:
        resumed = runner.resume(origin_run_id=failed.run.id)
        assert resumed.status == "successful"
        assert resumed.run.id != failed.run.id
        assert resumed.run.data.total == 3.0
        assert resumed.run["start"].task.origin_pathspec is not None  # cloned, not re-run


def test_top_level_options_and_decorators(project: Project) -> None:
    project.write("flow.py", FLOW)
    with Runner("flow.py", show_output=False, quiet=True, decospecs=["retry"]) as runner:
        result = runner.run()
        assert result.status == "successful"
        assert "Validating your flow" not in result.stderr  # --quiet


def test_async_run_returns_at_once_and_streams_the_log(project: Project) -> None:
    project.write(
        "flow.py",
        FLOW.replace("self.items = list", "import time; time.sleep(1); self.items = list"),
    )

    async def drive() -> tuple[str, list[str], str]:
        with Runner("flow.py", show_output=False) as runner:
            result = await runner.async_run(alpha=3.0)
            first = result.status
            lines = [line async for _, line in result.stream_log("stdout")]
            await result.wait()
            assert result.run.data.total == 9.0
            return first, lines, result.status

    first, lines, last = asyncio.run(drive())
    assert first == "running" and last == "successful"
    assert any("alpha is 3.0" in line for line in lines)
    assert any("total is 9.0" in line for line in lines)


def test_stream_log_resumes_from_a_position(project: Project) -> None:
    project.write("flow.py", FLOW)

    async def drive() -> tuple[list[str], list[str]]:
        with Runner("flow.py", show_output=False) as runner:
            result = await runner.async_run()
            await result.wait()
            whole = [item async for item in result.stream_log("stdout")]
            after = [line async for _, line in result.stream_log("stdout", whole[0][0])]
            return [line for _, line in whole], after

    whole, after = asyncio.run(drive())
    assert after == whole[1:]


def test_wait_with_a_timeout_kills_the_run(project: Project) -> None:
    project.write(
        "flow.py", FLOW.replace('print("alpha', 'import time; time.sleep(60); print("alpha')
    )

    async def drive() -> str:
        with Runner("flow.py", show_output=False) as runner:
            result = await runner.async_run()
            await result.wait(timeout=1)
            return result.status

    assert asyncio.run(drive()) == "timeout"


def test_kill_stops_a_running_flow(project: Project) -> None:
    project.write(
        "flow.py", FLOW.replace('print("alpha', 'import time; time.sleep(60); print("alpha')
    )

    async def drive() -> tuple[str, int | None]:
        with Runner("flow.py", show_output=False) as runner:
            result = await runner.async_run()
            result.kill()
            await result.wait()
            return result.status, result.returncode

    status, code = asyncio.run(drive())
    assert status == "failed" and code != 0


def test_runner_with_cwd_and_env(project: Project) -> None:
    sub = project.root / "elsewhere"
    sub.mkdir()
    (sub / "flow.py").write_text((project.write("flow.py", FLOW)).read_text())
    with Runner(str(sub / "flow.py"), show_output=False, cwd=str(sub), env={"X": "1"}) as runner:
        result = runner.run()
        assert result.status == "successful"
    assert (sub / ".ketch").is_dir()
    assert result.run.data.total == 3.0


def test_show_output_copies_the_run_output_as_it_comes(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("flow.py", FLOW)
    with Runner("flow.py") as runner:
        result = runner.run(alpha=5.0)
    captured = capsys.readouterr()
    assert "alpha is 5.0" in captured.out and "alpha is 5.0" in result.stdout
