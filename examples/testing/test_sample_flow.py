from pathlib import Path

import pytest

from ketch import Runner

FLOW = Path(__file__).with_name("sample_flow.py")


@pytest.fixture
def run(tmp_path):
    """One small run of the flow, in a store of its own under tmp_path."""
    env = {"KETCH_HOME": str(tmp_path / ".ketch")}
    with Runner(str(FLOW), show_output=False, env=env) as runner:
        yield runner.run(sample_size=200, seed=1).run


def test_the_run_succeeds(run):
    assert run.successful
    assert [step.id for step in run] == ["end", "fit", "start"]


def test_the_fit_finds_the_line(run):
    assert run.data.slope == pytest.approx(2, abs=0.05)
    assert run.data.intercept == pytest.approx(1, abs=0.2)


def test_the_sample_size_is_used(run):
    assert len(run["start"].task.data.points) == 200
