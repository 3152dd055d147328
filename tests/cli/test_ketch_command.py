"""The ``ketch`` command through click's CliRunner and a real project."""

from __future__ import annotations

from click.testing import CliRunner

from ketch.cli._main import cli

FLOW = """
from ketch import FlowSpec, step

class TinyFlow(FlowSpec):
    '''A tiny flow.'''

    @step
    def start(self):
        '''Begin.'''
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def test_help_lists_every_verb() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for verb in ("run", "resume", "check", "show", "dump", "logs", "tag", "runs"):
        assert verb in result.output


def test_show_check_run_and_runs(project) -> None:  # type: ignore[no-untyped-def]
    project.write("tiny.py", FLOW)
    shown = project.ketch("show", "tiny.py")
    assert shown.returncode == 0 and "Step start" in shown.stdout and "=> end" in shown.stdout
    assert project.ketch("check", "tiny.py").returncode == 0
    ran = project.ketch("run", "tiny.py", "--tag", "demo")
    assert ran.returncode == 0, ran.stderr
    listing = project.ketch("runs", "--flow", "TinyFlow")
    assert listing.returncode == 0
    assert "TinyFlow/" in listing.stdout and "completed" in listing.stdout
    assert "demo" in listing.stdout


def test_runs_without_a_store(project) -> None:  # type: ignore[no-untyped-def]
    proc = project.ketch("runs")
    assert proc.returncode == 1
    assert "No ketch store" in proc.stderr and "Traceback" not in proc.stderr
