"""SQLAlchemy builders for the write statements that both the SQL store and the SQLite writer use.

`SqlMetadataStore` executes them through SQLAlchemy; ``_sqlite_gen`` renders them once into
plain SQL for `SqliteStore`, so both write the same rows with the same statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Integer, Table, bindparam, delete, func, literal_column, select

from ._schema import run_tags, steps


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
