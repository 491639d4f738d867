"""
The DR drill: prove a backup can actually bring the world back.

`drill_backup(config, id)` verifies the backup, then restores it the way a
real restore does (restore.install_database / restore_files) into a fresh
scratch folder laid out like a game directory, opens that database as the
server would (read-write, WAL), and checks that it passes integrity_check,
that every table has the rows the manifest recorded, that every region of
the region data file saved in the backup is there, and that there are
accounts. The result goes to the backup's `drill.json`; the scratch folder is
always removed.
"""

import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field

from world.backup import store
from world.backup.fsutil import remove_tree
from world.backup.records import DRILL_NAME, write_record
from world.backup.restore import install_database, restore_files
from world.backup.sqlitecopy import table_row_counts
from world.backup.verify import verify_backup

REGIONS_IN_BACKUP = os.path.join("world", "regions.toml")
REGION_QUERY = (
    "SELECT DISTINCT t.db_key FROM typeclasses_tag t "
    "JOIN objects_objectdb_db_tags link ON link.tag_id = t.id WHERE t.db_category = ?"
)


@dataclass
class DrillResult:
    """What one drill found."""

    backup_id: str
    ok: bool
    problems: list = field(default_factory=list)
    regions: list = field(default_factory=list)
    accounts: int = 0
    tables: int = 0
    seconds: float = 0.0


def drill_backup(config, backup_id, progress=None):
    """Restore a backup into a scratch folder, check the world is there, clean up.

    Args:
        config (BackupConfig): Where the backups are; BACKUP_SCRATCH_DIR is used.
        backup_id (str): A backup id or "latest".
        progress (callable, optional): progress(stage, done, total).

    Returns:
        DrillResult: ok only if the restored world passed every check.

    Raises:
        BackupInputError, BackupNotFound: Bad or unknown id.
    """
    started = time.monotonic()
    verified = verify_backup(config, backup_id, progress)
    result = DrillResult(verified.backup_id, ok=False)
    if not verified.ok:
        result.problems = ["verification failed: " + "; ".join(verified.problems[:3])]
    else:
        entry = store.find(config, verified.backup_id)
        _restore_and_check(config, entry, result, progress)
    result.ok = not result.problems
    result.seconds = round(time.monotonic() - started, 3)
    entry_path = config.backup_path(result.backup_id)
    write_record(entry_path, DRILL_NAME, result.ok, problems=result.problems, regions=result.regions,
                 accounts=result.accounts, tables=result.tables, seconds=result.seconds)
    return result


def _restore_and_check(config, entry, result, progress):
    if config.scratch_dir:
        os.makedirs(config.scratch_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="timmy-drill-", dir=config.scratch_dir)
    try:
        database = os.path.join(scratch, "server", "evennia.db3")
        if progress:
            progress("restore", 0, 1)
        install_database(entry, database)
        restore_files(entry, scratch)
        if progress:
            progress("restore", 1, 1)
        check_restored_world(database, entry.manifest, expected_regions(config, scratch), result)
    except Exception as err:  # a drill reports; it never raises past here
        result.problems.append(f"restore into the scratch folder failed: {err}")
    finally:
        remove_tree(scratch)


def expected_regions(config, scratch):
    """Region keys the restored world must have: from the backup's own region file if saved."""
    from world.regions import RegionDataError, load_world_spec

    saved = os.path.join(scratch, REGIONS_IN_BACKUP)
    path = saved if os.path.isfile(saved) else config.regions_file
    if not path:
        return []
    try:
        return [region.key for region in load_world_spec(path).regions]
    except (RegionDataError, OSError):
        return []


def check_restored_world(database, manifest, regions, result):
    """Open the restored database as the server would and check the world in it."""
    from world.builder import REGION_TAG_CATEGORY

    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            result.problems.append(f"integrity_check: {rows[0]}")
            return
        counts = table_row_counts(conn)
        result.tables = len(counts)
        if counts != manifest["database"].get("tables"):
            result.problems.append("row counts differ from the manifest")
        found = {row[0] for row in conn.execute(REGION_QUERY, (REGION_TAG_CATEGORY,))}
        result.regions = sorted(found)
        missing = [key for key in regions if key not in found]
        if missing or not found:
            result.problems.append(f"regions missing: {', '.join(missing) or 'all'}")
        result.accounts = conn.execute("SELECT count(*) FROM accounts_accountdb").fetchone()[0]
        if result.accounts < 1:
            result.problems.append("no accounts")
    except sqlite3.DatabaseError as err:
        result.problems.append(f"the restored database is not a Timmy World database: {err}")
    finally:
        conn.close()
