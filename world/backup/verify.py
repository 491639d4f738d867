"""
Verifying a backup: is it exactly what was written, and is the database sound?

`verify_backup(config, id)` re-hashes every file against the manifest
(missing, resized, changed and unexpected files are all problems), runs
`PRAGMA integrity_check` on the database copy (opened read-only and
immutable, so checking never changes it) and compares every table's row
count with the counts recorded in the manifest at backup time. The result is
recorded in the backup's `verify.json` (see world/backup/records.py) and
returned; a failed verification is a result, not an exception.
"""

import os
import sqlite3
import time
from dataclasses import dataclass, field

from world.backup import store
from world.backup.fsutil import sha256_file
from world.backup.manifest import DATABASE_NAME, MANIFEST_NAME
from world.backup.records import SIDECARS, VERIFY_NAME, write_record
from world.backup.sqlitecopy import integrity_problems, open_frozen, table_row_counts

MAX_PROBLEMS = 20


@dataclass
class VerifyResult:
    """What one verification found."""

    backup_id: str
    ok: bool
    problems: list = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0
    tables_checked: int = 0
    seconds: float = 0.0


def verify_backup(config, backup_id, progress=None, record=True):
    """Check a backup against its manifest and check its database.

    Args:
        config (BackupConfig): Where the backups are.
        backup_id (str): A backup id or "latest".
        progress (callable, optional): progress("verify", files_done, files_total).
        record (bool): Write the result to the backup's verify.json.

    Returns:
        VerifyResult: ok is True only if nothing at all was wrong.

    Raises:
        BackupInputError: The id is malformed.
        BackupNotFound: There is no such backup.
    """
    started = time.monotonic()
    entry = store.find(config, backup_id)
    result = VerifyResult(entry.id, ok=False)
    if not entry.valid:
        result.problems.append(entry.problem)
    else:
        _check_files(entry, result, progress)
        _check_database(entry, result)
    result.problems = result.problems[:MAX_PROBLEMS]
    result.ok = not result.problems
    result.seconds = round(time.monotonic() - started, 3)
    if record:
        write_record(entry.path, VERIFY_NAME, result.ok, problems=result.problems,
                     files=result.files_checked, bytes=result.bytes_checked)
    return result


def _check_files(entry, result, progress):
    """Every manifest file present with its size and hash; nothing extra."""
    files = entry.manifest["files"]
    for number, item in enumerate(files, 1):
        path = os.path.join(entry.path, *item["path"].split("/"))
        if not os.path.isfile(path):
            result.problems.append(f"{item['path']}: missing")
        elif os.path.getsize(path) != item["size"]:
            result.problems.append(
                f"{item['path']}: size {os.path.getsize(path)}, manifest says {item['size']}")
        elif sha256_file(path) != item["sha256"]:
            result.problems.append(f"{item['path']}: SHA-256 does not match the manifest")
        else:
            result.files_checked += 1
            result.bytes_checked += item["size"]
        if progress:
            progress("verify", number, len(files))
    listed = {item["path"] for item in files} | {MANIFEST_NAME, *SIDECARS}
    for extra in sorted(_present_files(entry.path) - listed):
        if any(extra.startswith(f"{name}.tmp-") for name in SIDECARS):
            continue  # a record being written right now
        result.problems.append(f"{extra}: not in the manifest")


def _present_files(folder):
    present = set()
    for root, _dirs, names in os.walk(folder):
        for name in names:
            present.add(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    return present


def _check_database(entry, result):
    """integrity_check, then row counts against the manifest."""
    path = os.path.join(entry.path, DATABASE_NAME)
    if not os.path.isfile(path):
        return
    problems = integrity_problems(path)
    if problems:
        result.problems.extend(f"integrity_check: {line}" for line in problems)
        return
    expected = entry.manifest["database"].get("tables", {})
    try:
        conn = open_frozen(path)
        try:
            actual = table_row_counts(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        result.problems.append(f"the database cannot be read: {err}")
        return
    for table in sorted(set(expected) | set(actual)):
        if expected.get(table) != actual.get(table):
            result.problems.append(f"table {table}: {actual.get(table, 'missing')} rows, "
                                   f"manifest says {expected.get(table, 'none')}")
    result.tables_checked = len(actual)
