"""Render ``_sqlite_sql.py``: the schema, the write statements and the read queries
(``_queries.READS``) as plain SQLite SQL.

Run ``python -m ketch.metadata._sqlite_gen`` after changing ``_schema`` or ``_statements``;
``tests/metadata/test_sqlite_store.py`` fails while the module is out of date.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import ClauseElement, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from ._migrations import LATEST_VERSION
from ._queries import READS
from ._schema import metadata
from ._statements import WRITES

TARGET = Path(__file__).with_name("_sqlite_sql.py")
_DIALECT = sqlite.dialect(paramstyle="named")

HEADER = '''"""The metadata schema, write statements and read queries in SQLite's SQL, for
`SqliteStore`.

Generated from ``_schema``, ``_statements`` and ``_queries`` by
``python -m ketch.metadata._sqlite_gen``: do not edit by hand
(``tests/metadata/test_sqlite_store.py`` checks that it is up to date).
"""

# fmt: off
'''


def _sql(element: ClauseElement, column_keys: list[str] | None = None) -> str:
    if column_keys is None:
        compiled = element.compile(dialect=_DIALECT)
    else:
        compiled = element.compile(dialect=_DIALECT, column_keys=column_keys)
    return " ".join(str(compiled).split())


def _read_sql(name: str) -> str:
    """Query ``name`` in SQLite's SQL; every parameter must be one the caller gives."""
    compiled = READS[name]().compile(dialect=_DIALECT)
    constants = {k: v for k, v in compiled.params.items() if v is not None}
    if constants:
        raise ValueError(f"query {name!r} binds constants {constants}: write them as SQL text")
    return " ".join(str(compiled).split())


def statements() -> dict[str, Any]:
    """Every constant of the generated module, by name."""
    create = []
    for table in metadata.sorted_tables:
        create.append(_sql(CreateTable(table)))
        indexes = sorted(table.indexes, key=lambda i: str(i.name))
        create.extend(_sql(CreateIndex(ix)) for ix in indexes)
    return {
        "SCHEMA_VERSION": LATEST_VERSION,
        "CREATE_SCHEMA": tuple(create),
        "INSERT_VERSION": _sql(insert(metadata.tables["ketch_schema_version"])),
        "WRITES": {name: _sql(build("sqlite")) for name, build in WRITES.items()},
        "READS": {name: _read_sql(name) for name in READS},
    }


def _literal(text: str, indent: str, prefix: int = 0) -> str:
    """``text`` as a Python literal after ``prefix`` characters of its line: on that line when
    it fits ruff's 100 columns, else as a parenthesised run of pieces."""
    pieces = textwrap.wrap(text, 84, break_long_words=False, drop_whitespace=False)
    if len(pieces) == 1 and len(indent) + prefix + len(repr(text)) + 1 <= 100:
        return repr(text)
    inner = "".join(f"{indent}    {p!r}\n" for p in pieces)
    return f"(\n{inner}{indent})"


def render() -> str:
    lines = [HEADER]
    for name, value in statements().items():
        if isinstance(value, tuple):
            items = "".join(f"    {_literal(v, '    ')},\n" for v in value)
            lines.append(f"{name} = (\n{items})\n")
        elif isinstance(value, dict):
            items = "".join(
                f"    {k!r}: {_literal(v, '    ', len(repr(k)) + 2)},\n" for k, v in value.items()
            )
            lines.append(f"{name} = {{\n{items}}}\n")
        elif isinstance(value, str):
            lines.append(f"{name} = {_literal(value, '')}\n")
        else:
            lines.append(f"{name} = {value!r}\n")
    return "\n".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
