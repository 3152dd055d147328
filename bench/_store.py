"""What a run leaves on disk: files and bytes under .ketch or .metaflow."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

STORE_DIRS = {"ketch": ".ketch", "metaflow": ".metaflow"}
KETCH_DB = "ketch.db"


@dataclass(frozen=True)
class StoreStats:
    files: int  # every regular file under the store directory
    bytes: int  # their apparent sizes, summed
    db_files: int  # ketch's SQLite files (ketch.db, -wal, -shm); 0 for Metaflow
    db_bytes: int  # their apparent sizes
    db_used_bytes: int  # pages in use in ketch.db (WAL included): the logical size


def store_stats(project: Path, framework: str) -> StoreStats:
    root = project / STORE_DIRS[framework]
    files = size = db_files = db_size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            files += 1
            size += st.st_size
            if dirpath == str(root) and name.startswith(KETCH_DB):
                db_files += 1
                db_size += st.st_size
    used = _db_used_bytes(root / KETCH_DB) if framework == "ketch" else 0
    return StoreStats(files, size, db_files, db_size, used)


def _db_used_bytes(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        page_size = conn.execute("pragma page_size").fetchone()[0]
        pages = conn.execute("pragma page_count").fetchone()[0]
        free = conn.execute("pragma freelist_count").fetchone()[0]
    finally:
        conn.close()
    return int((pages - free) * page_size)
