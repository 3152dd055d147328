"""The metadata schema, as SQLAlchemy Core tables.

Portable across SQLite and PostgreSQL: plain types only, times as float POSIX seconds, JSON as
text. This module describes the *current* schema; ``_migrations`` creates and evolves databases
toward it. ``docs/schema.md`` documents every column for users who query it with SQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Child rows may be written in any order inside one batch: constraints are checked at commit.
_DEFERRED = {"deferrable": True, "initially": "DEFERRED"}


def _run_fk() -> ForeignKey:
    return ForeignKey("runs.run_id", ondelete="CASCADE", **_DEFERRED)  # type: ignore[arg-type]


def _task_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["run_id", "task_id"],
        ["tasks.run_id", "tasks.task_id"],
        ondelete="CASCADE",
        **_DEFERRED,  # type: ignore[arg-type]
    )


flows = Table(
    "flows",
    metadata,
    Column("flow_name", String, primary_key=True),
    Column("created_at", Double, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", BigInteger, primary_key=True, autoincrement=False),
    Column("flow_name", String, ForeignKey("flows.flow_name"), nullable=False),
    Column("user_name", String, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("finished_at", Double),
    Column("heartbeat_at", Double),
    Column("origin_run_id", BigInteger),
    Column("code_key", String),
    Column("graph_key", String),
    Column("scheduler_pid", Integer),
    Column("hostname", String),
    # Where the run's bytes are (artifacts, logs, code): its datastore's URL or directory.
    Column("datastore_url", String),
    Index("ix_runs_flow", "flow_name", "run_id"),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", BigInteger, _run_fk(), nullable=False),
    Column("tag", String, nullable=False),
    Column("is_system", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("run_id", "tag"),
    Index("ix_run_tags_tag", "tag", "run_id"),
)

parameters = Table(
    "parameters",
    metadata,
    Column("run_id", BigInteger, _run_fk(), nullable=False),
    Column("name", String, nullable=False),
    Column("position", Integer, nullable=False, default=0),
    Column("value_json", Text, nullable=False),
    Column("blob_key", String, nullable=False),
    PrimaryKeyConstraint("run_id", "name"),
)

steps = Table(
    "steps",
    metadata,
    Column("run_id", BigInteger, _run_fk(), nullable=False),
    Column("step_name", String, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("run_id", "step_name"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("run_id", BigInteger, _run_fk(), nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("step_name", String, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("finished_at", Double),
    Column("attempt", Integer, nullable=False, default=0),
    Column("foreach_stack", Text, nullable=False, default="[]"),
    Column("foreach_order", String, nullable=False, default=""),
    Column("origin_run_id", BigInteger),
    Column("origin_task_id", Integer),
    Column("input_task_ids", Text, nullable=False, default="[]"),
    PrimaryKeyConstraint("run_id", "task_id"),
    Index("ix_tasks_run_step", "run_id", "step_name", "foreach_order", "task_id"),
)
# Added in schema version 5, for the UI's run page: a run's per-step counts and times read from
# an index alone, and a step's tasks by duration (its slowest and its median without a sort).
TASK_STATUS = Index(
    "ix_tasks_run_step_status",
    tasks.c.run_id,
    tasks.c.step_name,
    tasks.c.status,
    tasks.c.created_at,
    tasks.c.finished_at,
)
TASK_DURATION = Index(
    "ix_tasks_run_step_duration",
    tasks.c.run_id,
    tasks.c.step_name,
    tasks.c.finished_at - tasks.c.created_at,
)

attempts = Table(
    "attempts",
    metadata,
    Column("run_id", BigInteger, nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", Double, nullable=False),
    Column("finished_at", Double),
    Column("exit_code", Integer),
    Column("exception", Text),
    Column("traceback", Text),
    Column("stdout_key", String),
    Column("stderr_key", String),
    Column("pid", Integer),
    Column("node", String),
    PrimaryKeyConstraint("run_id", "task_id", "attempt"),
    _task_fk(),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", BigInteger, nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("blob_key", String, nullable=False),
    Column("type_name", String, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("encoding", String, nullable=False),
    PrimaryKeyConstraint("run_id", "task_id", "attempt", "name"),
    _task_fk(),
    Index("ix_artifacts_blob_key", "blob_key"),
)

# Numbers a task logged with log_metric (docs/metrics.md), in the order logged (``seq``).
# ``value`` is NULL for a NaN; ``metric_step`` NULL when the task gave no step.
metrics = Table(
    "metrics",
    metadata,
    Column("run_id", BigInteger, nullable=False),
    Column("task_id", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("step_name", String, nullable=False),
    Column("name", String, nullable=False),
    Column("metric_step", BigInteger),
    Column("value", Double),
    Column("logged_at", Double, nullable=False),
    PrimaryKeyConstraint("run_id", "task_id", "attempt", "seq"),
    _task_fk(),
)

# Where experiment trackers (docs/trackers.md) keep each run: one row per run and tracker.
run_links = Table(
    "run_links",
    metadata,
    Column("run_id", BigInteger, _run_fk(), nullable=False),
    Column("tracker", String, nullable=False),
    Column("external_id", String, nullable=False),
    Column("url", String, nullable=False),
    Column("created_at", Double, nullable=False),
    PrimaryKeyConstraint("run_id", "tracker"),
)

schema_version = Table(
    "ketch_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)
