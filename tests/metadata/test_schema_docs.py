"""``docs/schema.md`` documents every table and column, and its example queries run."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, text

from ketch.metadata import ArtifactRecord, AttemptRecord, TaskRecord, open_store
from ketch.metadata._engine import normalize_url
from ketch.metadata._schema import metadata

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def _sections() -> dict[str, str]:
    """Table name -> the text of its ``### `name` `` section."""
    parts = re.split(r"^### `(\w+)`\s*$", DOC.read_text(), flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_table_and_column_is_documented() -> None:
    sections = _sections()
    assert set(sections) == set(metadata.tables)
    for name, table in metadata.tables.items():
        for column in table.columns:
            if name == "ketch_schema_version":
                assert f"`{column.name}`" in sections[name]
            else:
                assert f"| `{column.name}` |" in sections[name], f"{name}.{column.name}"
        for index in table.indexes:
            assert f"`{index.name}" in sections[name], f"index {index.name}"


def test_example_queries_run(shared_url: str) -> None:
    queries = re.findall(r"```sql\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(queries) >= 4
    with open_store(shared_url) as store:
        run_id = store.create_run(
            "TrainFlow", user="ada", tags=["prod"], system_tags=["user:ada"]
        ).run_id
        with store.batch():
            store.upsert_task(TaskRecord(run_id, "train", 1, "failed", 1.0, 3.0))
            store.upsert_attempt(AttemptRecord(run_id, 1, 0, "failed", 1.0, 3.0, 1, "E: x"))
            store.add_artifacts(run_id, 1, 0, [ArtifactRecord("model", "k", "builtins.dict", 9)])
            loss = [("loss", i, 1.0 / (i + 1), 2.0 + i) for i in range(3)]
            store.add_metrics(run_id, 1, 0, "train", loss)
    engine = create_engine(normalize_url(shared_url))
    try:
        with engine.connect() as conn:
            for query in queries:
                sql = query.replace("= 42", f"= {run_id}").strip().rstrip(";")
                rows = conn.execute(text(sql)).all()
                if "1700000000" not in sql:  # the heartbeat example finds nothing here
                    assert rows, f"no rows from:\n{sql}"
    finally:
        engine.dispose()
