"""The metadata writer process: records reach the database in batches, and all of them do."""

from __future__ import annotations

import time
from pathlib import Path

from ketch.metadata import new_run_id, open_store, sqlite_url
from ketch.runtime._writer import RecordWriter


def _create_run(writer: RecordWriter, run_id: int) -> None:
    writer.create_run(
        "WriterFlow",
        run_id=run_id,
        user="tester",
        tags=(),
        system_tags=(),
        origin_run_id=None,
        scheduler_pid=1,
        hostname="here",
        created_at=time.time(),
    )


def test_records_are_sent_at_most_every_interval_and_all_arrive(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ketch.db")
    with RecordWriter(url) as writer:
        assert writer.send(every=60) is None  # nothing queued
        first, second = new_run_id(), new_run_id() + 1
        _create_run(writer, first)
        assert writer.send(every=60) is None  # the first sending is never held back
        _create_run(writer, second)
        due = writer.send(every=60)
        assert due is not None and 59 < due <= 60  # held: sent within the minute
        writer.flush()  # ... or at once by a flush, as at the end of a run
        with open_store(url) as store:
            assert store.get_run(first) is not None and store.get_run(second) is not None
        writer.finish_run(second, "completed", time.time())
    with open_store(url) as store:  # closing the writer commits what was queued
        record = store.get_run(second)
        assert record is not None and record.status == "completed"
