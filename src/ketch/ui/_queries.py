"""The UI's batch reads, on the metadata reader's public API.

A listing page must cost a fixed number of queries, not one per run or per task (a foreach of
1,000 tasks would otherwise mean 1,000 round trips): the reader has one call for each (written
once in ``ketch.metadata._queries`` for SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..metadata import MetadataReader, ParameterRecord, RunProgress, TaskFailure
from ..metadata._records import PARAMETERS_STEP

Failure = TaskFailure
Progress = RunProgress


def parameters_for_runs(
    store: MetadataReader, run_ids: Iterable[int]
) -> dict[int, list[ParameterRecord]]:
    """The parameters of many runs at once, each run's in the order it recorded them."""
    return store.parameters_for_runs(run_ids)


def progress(store: MetadataReader, run_id: int) -> Progress:
    """Task counts and the latest task start or finish of a run (not counting parameters)."""
    return store.progress(run_id, except_step=PARAMETERS_STEP)
