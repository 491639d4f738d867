"""
SQLite work on files, with the sqlite3 module only (never the Django ORM), so
it is safe in a worker thread and outside the server.

`online_copy()` is the consistent online backup: a separate connection opens
a read transaction on the live database (a WAL snapshot, so the server keeps
writing while the copy runs and nothing waits on it) and copies it page by
page with SQLite's backup API. Because the read transaction is held across
every step, the copy is exactly that snapshot and never restarts however busy
the writer is. The row count of every table is taken inside the same snapshot,
and the copy is converted to a self-contained rollback-journal file (no -wal
beside it) and checked against those counts.
"""

import os
import sqlite3
from urllib.parse import quote

from world.backup.errors import BackupError
from world.backup.fsutil import fsync_file

BUSY_TIMEOUT = 20.0


def _uri(path, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"file:{quote(os.path.abspath(path))}?{query}"


def open_live(path):
    """Connect to an existing database read-write but query-only (never creates it)."""
    if not os.path.isfile(path):
        raise BackupError(f"The database {path} does not exist.")
    conn = sqlite3.connect(_uri(path, mode="rw"), uri=True, timeout=BUSY_TIMEOUT,
                           isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn


def open_frozen(path):
    """Open a database file that nothing may change (a backup copy): read-only, immutable."""
    if not os.path.isfile(path):
        raise BackupError(f"The database copy {os.path.basename(path)} is missing.")
    return sqlite3.connect(_uri(path, mode="ro", immutable=1), uri=True, isolation_level=None)


def quote_identifier(name):
    """A table name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def table_row_counts(conn):
    """Rows in every table of the database, by table name."""
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
            for name in names}


def integrity_problems(path):
    """Run PRAGMA integrity_check on a database file.

    Returns:
        list: Problem lines; empty when SQLite answers "ok".
    """
    try:
        conn = open_frozen(path)
        try:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        return [f"the database cannot be read: {err}"]
    return [] if rows == ["ok"] else rows[:20]


def online_copy(source_path, target_path, step_pages=1024, progress=None):
    """Copy a live database to a new private file as one consistent snapshot.

    Args:
        source_path (str): The live database (WAL mode or not).
        target_path (str): New file to write (must not exist); left 0600.
        step_pages (int): Pages per backup step (progress granularity).
        progress (callable, optional): Called as progress(pages_done, pages_total).

    Returns:
        dict: {"tables": {name: rows}, "page_size": int, "page_count": int}.

    Raises:
        BackupError: The copy disagrees with the snapshot it was taken from.
        sqlite3.Error, OSError: Reading or writing failed (disk full, ...).
    """
    os.close(os.open(target_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = open_live(source_path)
    target = sqlite3.connect(target_path, isolation_level=None, check_same_thread=False)
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot

        def step(_status, remaining, total):
            if progress:
                progress(total - remaining, total)

        source.backup(target, pages=max(1, int(step_pages)), progress=step)
        counts = table_row_counts(source)
        source.execute("COMMIT")
        target.execute("PRAGMA journal_mode=DELETE").fetchone()
        info = {
            "tables": counts,
            "page_size": target.execute("PRAGMA page_size").fetchone()[0],
            "page_count": target.execute("PRAGMA page_count").fetchone()[0],
        }
        if table_row_counts(target) != counts:
            raise BackupError("The database copy does not match the snapshot it was taken from.")
    finally:
        target.close()
        source.close()
    fsync_file(target_path)
    return info
