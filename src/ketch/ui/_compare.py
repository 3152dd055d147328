"""The data of the compare page: two or more runs side by side."""

from __future__ import annotations

import time
from typing import Any

from ..datastore import BlobStore, content_hash
from ..exceptions import UserError
from ..metadata import ArtifactRecord, RunRecord
from ..metadata._records import PARAMETERS_STEP
from ._common import find_run, parameter_list, parse_pathspec_list, run_dict
from ._paging import group_stats
from ._preview import artifact_entry
from ._source import Source

END_STEP = "end"


def compare_page(src: Source, pathspecs: list[str]) -> dict[str, Any]:
    """Runs side by side: parameters, step durations, and the ``end`` step's artifacts that
    differ between them (artifacts are compared by blob key, so equal values are equal keys).

    ``pathspecs`` holds ``Flow/run_id`` items, each possibly a comma-separated list of them.
    """
    specs = [spec for text in pathspecs for spec in parse_pathspec_list(text)]
    if len(specs) < 2:
        raise UserError(
            "Comparing needs two or more runs.",
            hint="Pass them as /compare?runs=Flow/1,Flow/2 (or tick runs on a flow's page).",
        )
    now = time.time()
    records = [find_run(src, flow, run_id) for flow, run_id in specs]
    runs = [run_dict(r, now) for r in records]
    params = [parameter_list(src.store.get_parameters(r.run_id)) for r in records]
    durations = [_step_durations(src, r) for r in records]
    ends = [_end_artifacts(src, r) for r in records]
    return {
        "runs": runs,
        "parameters": _rows([{p["name"]: p["text"] for p in run_params} for run_params in params]),
        "durations": _rows(durations),
        "artifacts": _artifact_diff([src.blobs_for(r) for r in records], ends),
    }


def _rows(per_run: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Names in first-seen order, each with its value in every run (None where absent)."""
    names: list[str] = []
    for values in per_run:
        names.extend(n for n in values if n not in names)
    rows = []
    for name in names:
        found = [run_values.get(name) for run_values in per_run]
        rows.append({"name": name, "values": found, "differs": len(set(map(repr, found))) > 1})
    return rows


def _step_durations(src: Source, run: RunRecord) -> dict[str, float | None]:
    """Wall time of each step, in the order the steps started: from its first task's start to
    its last task's end (None while one has not ended); one query, whatever the task count."""
    rows = [s for s in src.store.step_stats(run.run_id) if s.step_name != PARAMETERS_STEP]
    stats = group_stats(rows, "completed")
    started = [s.step_name for s in src.store.list_steps(run.run_id)]
    names = [n for n in started if n in stats] + sorted(set(stats) - set(started))
    return {
        n: None
        if stats[n]["last_finish"] is None
        else stats[n]["last_finish"] - stats[n]["first_start"]
        for n in names
    }


def _end_artifacts(src: Source, run: RunRecord) -> dict[str, ArtifactRecord]:
    tasks = src.store.list_tasks(run.run_id, END_STEP)
    if not tasks:
        return {}
    records = src.store.list_artifacts(run.run_id, tasks[0].task_id)
    return {a.name: a for a in records if not a.name.startswith("_")}


def _artifact_diff(
    stores: list[BlobStore], ends: list[dict[str, ArtifactRecord]]
) -> dict[str, Any]:
    names = sorted({name for end in ends for name in end})
    differ, same = [], []
    for name in names:
        keys = {None if name not in end else content_hash(end[name].key) for end in ends}
        if len(keys) == 1:
            same.append(name)
            continue
        values = [
            None if name not in end else artifact_entry(blobs, end[name])
            for blobs, end in zip(stores, ends, strict=True)
        ]
        differ.append({"name": name, "values": values})
    return {"differ": differ, "same": same}
