"""The write statements of the metadata store, written once in SQLAlchemy Core (`WRITES`).

`SqlMetadataStore` executes them through SQLAlchemy; ``_sqlite_gen`` renders them once into
plain SQL for `SqliteStore`, so both write the same rows with the same statements (the methods
that run them are `ketch.metadata._writing.StoreWrites`'). An UPDATE names its WHERE parameter
``b_run_id``: SQLAlchemy reserves a column's name for the SET clause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Delete,
    Integer,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)

from ._schema import (
    artifacts,
    attempts,
    flows,
    metrics,
    parameters,
    run_links,
    run_tags,
    runs,
    steps,
    tasks,
)


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, which has ``on_conflict_do_nothing/update``."""
    # Import only the dialect in use: each costs tens of milliseconds at start-up.
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def _keys(table: Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def upsert(dialect: str, table: Table) -> Any:
    """Insert rows, replacing the non-key columns of rows whose primary key exists."""
    keys = _keys(table)
    insert_ = dialect_insert(dialect, table)
    changed = {c.name: insert_.excluded[c.name] for c in table.columns if c.name not in keys}
    return insert_.on_conflict_do_update(index_elements=keys, set_=changed)


def insert_ignore(dialect: str, table: Table) -> Any:
    """Insert rows unless a row with the same primary key exists."""
    return dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=_keys(table))


def insert_step(dialect: str) -> Any:
    """Add step ``:step_name`` of run ``:run_id`` at the next position, unless it exists."""
    next_position = select(
        bindparam("run_id", type_=steps.c.run_id.type),
        bindparam("step_name", type_=steps.c.step_name.type),
        bindparam("created_at", type_=steps.c.created_at.type),
        # Constants as SQL text, so the statement has no parameters but the three above.
        func.coalesce(func.max(steps.c.position), literal_column("-1", Integer))
        + literal_column("1", Integer),
    ).where(steps.c.run_id == bindparam("run_id"))
    return (
        dialect_insert(dialect, steps)
        .from_select(["run_id", "step_name", "created_at", "position"], next_position)
        .on_conflict_do_nothing(index_elements=_keys(steps))
    )


def delete_user_tag() -> Delete:
    """Remove user tag ``:tag`` of run ``:run_id``; a system tag of that name stays."""
    return delete(run_tags).where(
        run_tags.c.run_id == bindparam("run_id"),
        run_tags.c.tag == bindparam("tag"),
        run_tags.c.is_system.is_(False),
    )


def _update_run(*columns: str) -> Update:
    """Set ``columns`` (parameters of the same names) of run ``:b_run_id``."""
    values = {c: bindparam(c, type_=runs.c[c].type) for c in columns}
    return update(runs).where(runs.c.run_id == bindparam("b_run_id")).values(values)


# name -> the statement, for a dialect ("sqlite", "postgresql")
WRITES: dict[str, Callable[[str], Any]] = {
    "insert_flow": lambda d: insert_ignore(d, flows),
    "insert_run": lambda d: insert(runs),
    "insert_tag": lambda d: insert_ignore(d, run_tags),
    "delete_user_tag": lambda d: delete_user_tag(),
    "delete_parameters": lambda d: delete(parameters).where(
        parameters.c.run_id == bindparam("run_id")
    ),
    "insert_parameter": lambda d: insert(parameters),
    "set_code_key": lambda d: _update_run("code_key"),
    "set_graph_key": lambda d: _update_run("graph_key"),
    "set_heartbeat": lambda d: _update_run("heartbeat_at"),
    "finish_run": lambda d: _update_run("status", "finished_at"),
    "insert_step": insert_step,
    "upsert_task": lambda d: upsert(d, tasks),
    "upsert_attempt": lambda d: upsert(d, attempts),
    "upsert_artifact": lambda d: upsert(d, artifacts),
    "upsert_metric": lambda d: upsert(d, metrics),
    "upsert_run_link": lambda d: upsert(d, run_links),
}
