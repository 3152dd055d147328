"""A 40-digit run or task id is simply not found, through the Client and the commands, as any
other missing run (sqlite3 cannot bind an int over 2**63 - 1; the contract suite checks the
stores, ``tests/metadata/test_contract_ids.py``)."""

from __future__ import annotations

import pytest
from flowrun import Project, linear_flow

pytestmark = pytest.mark.slow

FLOW = linear_flow("StoreFlow")
HUGE = "9" * 40


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    """A project whose store holds one finished run of StoreFlow; its run id."""
    project = Project(tmp_path_factory.mktemp("huge-ids"))
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run", "--run-id-file", "id")
    assert proc.returncode == 0, proc.stderr
    return project, project.run_id("id")


def test_ids_too_large_for_the_database_are_not_found(finished: tuple[Project, str]) -> None:
    project, run_id = finished
    lookups = [
        f"Run('StoreFlow/{HUGE}')",
        f"Step('StoreFlow/{HUGE}/start')",
        f"Task('StoreFlow/{HUGE}/start/1')",
        f"Task('StoreFlow/{run_id}/start/{HUGE}')",
        f"Run('StoreFlow/{run_id}')['start']['{HUGE}']",
        f"Flow('StoreFlow')['{HUGE}']",
    ]
    code = (
        "from ketch import Flow, Run, Step, Task\n"
        "from ketch.exceptions import NotFoundError\n"
        f"for lookup in {lookups!r}:\n"
        "    try:\n"
        "        eval(lookup)\n"
        "    except NotFoundError as exc:\n"
        "        print(type(exc).__name__)\n"
    )
    client = project.run("-c", code)
    assert client.returncode == 0, client.stderr
    assert client.stdout.split() == ["NotFoundError"] * len(lookups)

    missing = project.run("flow.py", "logs", "1/start")  # an ordinary missing run
    assert missing.returncode == 1 and "Run 'StoreFlow/1' does not exist." in missing.stderr
    for args in (
        ["flow.py", "logs", f"{HUGE}/start"],
        ["flow.py", "dump", f"{HUGE}/start"],
        ["flow.py", "logs", f"{run_id}/start/{HUGE}"],
        ["flow.py", "tag", "list", HUGE],
        ["-m", "ketch.cli", "logs", "flow.py", f"{HUGE}/start"],
    ):
        proc = project.run(*args)
        assert proc.returncode == missing.returncode, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "Overflow" not in proc.stderr
        assert "does not exist" in proc.stderr, (args, proc.stderr)
