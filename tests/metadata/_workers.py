"""Process entry points for the concurrency tests (imported by spawned children)."""

from __future__ import annotations

import time
import traceback
from typing import Any

from ketch.metadata import ArtifactRecord, AttemptRecord, ForeachFrame, TaskRecord, open_store

FLOW = "ConcurrentFlow"


def _task(run_id: int, task_id: int, status: str, now: float) -> TaskRecord:
    frame = ForeachFrame(step="start", var="items", num_splits=10_000, index=task_id, value="x")
    return TaskRecord(
        run_id=run_id,
        step_name="work",
        task_id=task_id,
        status=status,  # type: ignore[arg-type]
        created_at=now,
        finished_at=None if status == "running" else now,
        foreach_stack=(frame,),
        input_task_ids=(0,),
    )


def write_run(url: str, n_tasks: int, batch_size: int, barrier: Any, results: Any) -> None:
    """Write one run of ``n_tasks`` tasks, each with an attempt and 3 artifacts."""
    try:
        barrier.wait(timeout=120)
        store = open_store(url)
        run = store.create_run(FLOW, user="w", tags=["concurrency"], system_tags=[])
        for start in range(1, n_tasks + 1, batch_size):
            now = time.time()
            with store.batch():
                for task_id in range(start, min(start + batch_size, n_tasks + 1)):
                    store.upsert_task(_task(run.run_id, task_id, "running", now))
                    store.upsert_attempt(
                        AttemptRecord(run.run_id, task_id, 0, "completed", now, now, 0, pid=1)
                    )
                    prefix = f"key-{run.run_id}-{task_id}"
                    artifacts = [
                        ArtifactRecord(f"a{i}", f"{prefix}-{i}", "int", 8) for i in range(3)
                    ]
                    store.add_artifacts(run.run_id, task_id, 0, artifacts)
                    store.upsert_task(_task(run.run_id, task_id, "completed", now))
                store.heartbeat(run.run_id, now)
        store.finish_run(run.run_id, "completed", time.time())
        store.close()
        results.put(("ok", run.run_id))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def read_loop(url: str, n_runs: int, barrier: Any, results: Any) -> None:
    """Read everything in a loop until ``n_runs`` runs are completed; report the loop count."""
    try:
        barrier.wait(timeout=120)
        store = open_store(url)
        loops, deadline = 0, time.monotonic() + 240
        while time.monotonic() < deadline:
            loops += 1
            runs = store.list_runs(FLOW, tags=["concurrency"])
            for run in runs:
                tasks = store.list_tasks(run.run_id, "work")
                indices = [t.foreach_stack[0].index for t in tasks]
                assert indices == sorted(indices), "tasks out of foreach order"
                for _task_id, artifact in store.iter_run_artifacts(run.run_id):
                    assert artifact.key.startswith(f"key-{run.run_id}-")
                if tasks:
                    store.list_attempts(run.run_id, tasks[-1].task_id)
                store.list_run_summaries(FLOW, limit=10)
            if len(runs) == n_runs and all(r.status == "completed" for r in runs):
                break
        store.close()
        results.put(("reader", loops))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def open_and_create(url: str, barrier: Any, results: Any) -> None:
    """Open a (fresh) store at the same moment as the other processes, then create a run."""
    try:
        barrier.wait(timeout=120)
        store = open_store(url)
        run = store.create_run("OpenFlow", user="o", tags=[], system_tags=[])
        store.close()
        results.put(("ok", run.run_id))
    except BaseException:
        results.put(("error", traceback.format_exc()))
