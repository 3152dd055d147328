"""Ids no database column can hold (a 40-digit run id typed by a user) are simply not found.

Part of the contract suite: every backend of ``conftest.py`` (SQLite on sqlite3 and on
SQLAlchemy, in memory, PostgreSQL). sqlite3 cannot bind an int over 2**63 - 1 and PostgreSQL's
``bigint`` and ``integer`` overflow; the store answers as it does for any id it does not hold.
"""

from __future__ import annotations

import pytest

from ketch.exceptions import NotFoundError
from ketch.metadata import MetadataStore, TaskRecord

HUGE = [10**40 - 1, 2**63, -(2**63) - 1, 2**31]  # 2**31: over PostgreSQL's integer task_id


def _run_with_a_task(store: MetadataStore) -> int:
    run_id = store.create_run("F", user="ada", tags=[], system_tags=[]).run_id
    store.upsert_task(TaskRecord(run_id, "start", 1, "completed", 1.0))
    return run_id


@pytest.mark.parametrize("huge", HUGE)
def test_reads_of_an_id_out_of_range_find_nothing(store: MetadataStore, huge: int) -> None:
    run_id = _run_with_a_task(store)
    if huge != 2**31:  # a valid run id on every backend
        assert store.get_run(huge) is None
        assert store.get_parameters(huge) == []
        assert store.list_steps(huge) == []
        assert store.list_tasks(huge) == []
        assert store.list_tasks(huge, "start") == []
        assert store.list_attempts(huge) == []
        assert list(store.iter_run_artifacts(huge)) == []
        assert store.snapshot_step([huge, run_id], "start").keys() == {run_id}
    assert store.get_task(run_id, huge) is None
    assert store.get_task(huge, huge) is None
    assert store.list_attempts(run_id, huge) == []
    assert store.list_artifacts(run_id, huge) == []
    assert store.list_artifacts(run_id, 1, huge) == []


@pytest.mark.parametrize("huge", [10**40, 2**63])
def test_writes_to_a_run_id_out_of_range_are_not_found(store: MetadataStore, huge: int) -> None:
    _run_with_a_task(store)
    for write in (
        lambda: store.add_tags(huge, ["x"]),
        lambda: store.remove_tags(huge, ["x"]),
        lambda: store.set_parameters(huge, []),
        lambda: store.finish_run(huge, "completed", 1.0),
        lambda: store.heartbeat(huge, 1.0),
    ):
        with pytest.raises(NotFoundError):
            write()
