"""Metaflow's own core tests on ketch: each test in ``expected.EXPECTED_PASS`` must pass.

Skipped unless ``KETCH_METAFLOW_CHECKOUT`` names a Metaflow checkout (a folder holding
``test/core``); see docs/compat.md.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from . import expected
from ._context import DISABLED_TESTS
from ._run import CHECKOUT_ENV, Prepared, Target, prepare, run_case

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(CHECKOUT_ENV), reason=f"{CHECKOUT_ENV} is not set"),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    work = tmp_path_factory.mktemp("metaflow-core")
    return prepare(os.environ[CHECKOUT_ENV], Target("ketch", sys.executable), work)


def test_every_test_is_classified(prepared: Prepared) -> None:
    """A test that Metaflow adds (or renames) must be put in one of the lists."""
    classified = [expected.EXPECTED_PASS, set(expected.EXCLUDED), set(expected.KNOWN_FAILURES)]
    for i, one in enumerate(classified):
        for other in classified[i + 1 :]:
            assert not one & other, f"in two lists: {sorted(one & other)}"
    known = set().union(*classified)
    assert set(prepared.cases) == known, (
        f"not classified: {sorted(set(prepared.cases) - known)}; "
        f"gone from the harness: {sorted(known - set(prepared.cases))}"
    )
    assert not {t for t in prepared.no_case if t not in DISABLED_TESTS}, prepared.no_case


@pytest.mark.parametrize("test", sorted(expected.EXPECTED_PASS))
def test_passes_on_ketch(prepared: Prepared, test: str, tmp_path: Path) -> None:
    case = prepared.cases[test]
    log = tmp_path / f"{test}.log"
    outcome = run_case(prepared, case, tmp_path / "case", log, timeout=240)
    assert outcome.passed, (
        f"{test} on graph {case.graph} failed at {outcome.stage}: {outcome.reason}\n"
        f"--- commands and output ---\n{log.read_text('utf-8')[-6000:]}"
    )


# The api executor (each run and resume through ketch.Runner): a run, a failure and a resume.
API_TESTS = ("BasicParameterTest", "ResumeStartStepTest", "TaskExceptionTest")


@pytest.mark.parametrize("test", API_TESTS)
def test_passes_on_ketch_through_the_runner(prepared: Prepared, test: str, tmp_path: Path) -> None:
    case = prepared.cases[test]
    log = tmp_path / f"{test}.log"
    outcome = run_case(prepared, case, tmp_path / "case", log, timeout=240, executor="api")
    assert outcome.passed, (
        f"{test} (api executor) on graph {case.graph} failed at {outcome.stage}: "
        f"{outcome.reason}\n--- commands and output ---\n{log.read_text('utf-8')[-6000:]}"
    )
