"""
Restoring a backup: the live database (and optionally the files) from a backup.

Only from the CLI, and only with the server stopped: `restore_backup()`
refuses while `server/server.pid` or `server/portal.pid` names a live process.
Then, holding the backup lock, it:

1. verifies the backup (hashes, integrity_check, row counts) and refuses it
   if anything is wrong;
2. copies the database copy next to the live database as `<db>-restoring`,
   checks that copy's hash against the manifest and its integrity;
3. keeps the current database aside as `<db>-pre-restore-<time>`, moving its
   `-wal`, `-shm` and `-journal` files with it (a stale -wal left beside a
   restored database would be replayed into it; moved aside, it stays with
   the database it belongs to, which can still be opened as it was);
4. swaps the copy in with one atomic rename and fsyncs the folder;
5. checks the restored database's integrity.

With `with_files`, the configuration files are put back too; each current
file that differs is first copied to `<BACKUP_DIR>/pre-restore-<time>/`.

`install_database()` and `restore_files()` are also what a DR drill runs
(world/backup/drill.py), into a scratch folder, so every drill exercises the
real restore path.
"""

import os
import shutil
import time
from dataclasses import dataclass, field

from world.backup import ids, store
from world.backup.errors import BackupError, ServerRunning
from world.backup.fsutil import (
    BackupLock, copy_private, fsync_dir, make_private_dirs, sha256_file,
)
from world.backup.manifest import DATABASE_NAME, FILES_DIR
from world.backup.sqlitecopy import integrity_problems
from world.backup.verify import verify_backup

PID_FILES = ("server.pid", "portal.pid")
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass
class RestoreReport:
    """What a restore did."""

    backup_id: str
    database_path: str
    set_aside: list = field(default_factory=list)
    files_restored: list = field(default_factory=list)
    files_aside_dir: str = None
    seconds: float = 0.0


def running_pids(server_dir):
    """Live pids named by server/server.pid and server/portal.pid, by file name."""
    alive = {}
    for name in PID_FILES:
        try:
            with open(os.path.join(server_dir, name)) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive[name.split(".")[0]] = pid
    return alive


def refuse_if_running(config):
    """Raise ServerRunning if the game's server or portal is alive."""
    pids = running_pids(config.server_dir)
    if pids:
        named = ", ".join(f"{name} pid {pid}" for name, pid in sorted(pids.items()))
        raise ServerRunning(
            f"The server is running ({named}); stop it first (make stop). Nothing was changed.")


def restore_backup(config, backup_id, with_files=False, now=None):
    """Put a backup back as the live database (and files). CLI only.

    Args:
        config (BackupConfig): The game's backup configuration.
        backup_id (str): A backup id or "latest".
        with_files (bool): Also restore configuration, secrets and agent data.
        now (float, optional): Time used to name what is set aside.

    Returns:
        RestoreReport: What was restored and where the previous state was kept.

    Raises:
        ServerRunning: The server runs; nothing was changed.
        BackupInputError, BackupNotFound: Bad or unknown id.
        BackupError: The backup failed verification, or the restore failed.
    """
    started = time.monotonic()
    refuse_if_running(config)
    with BackupLock(config.backup_dir, "restore"):
        result = verify_backup(config, backup_id)
        if not result.ok:
            raise BackupError(
                f"Backup {result.backup_id} failed verification, so it was not restored: "
                + "; ".join(result.problems[:3]))
        entry = store.find(config, result.backup_id)
        stamp = _aside_tag(config, time.time() if now is None else now)
        refuse_if_running(config)
        report = RestoreReport(entry.id, config.database_path)
        report.set_aside = install_database(entry, config.database_path, stamp)
        if with_files:
            aside_dir = os.path.join(config.backup_dir, stamp)
            report.files_restored = restore_files(entry, config.game_dir, aside_dir)
            report.files_aside_dir = aside_dir if os.path.isdir(aside_dir) else None
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _aside_tag(config, now):
    """A `pre-restore-<time>` tag that no earlier restore has used."""
    base = "pre-restore-" + ids.id_for_time(now)
    tag, number = base, 1
    while (os.path.exists(f"{config.database_path}-{tag}")
           or os.path.exists(os.path.join(config.backup_dir, tag))):
        number += 1
        tag = f"{base}-{number}"
    return tag


def install_database(entry, database_path, aside_tag=None):
    """Swap a backup's database in at `database_path`, atomically.

    Args:
        entry (BackupEntry): A valid (verified) backup.
        database_path (str): Where the database goes.
        aside_tag (str, optional): Keep the current database (and its -wal,
            -shm, -journal) aside under `<db>-<tag>`; None deletes side files.

    Returns:
        list: Paths the previous database files were moved to.

    Raises:
        BackupError: The copy does not match the manifest or fails integrity_check;
            the live database was not touched.
    """
    folder = os.path.dirname(os.path.abspath(database_path))
    os.makedirs(folder, exist_ok=True)
    staging = database_path + "-restoring"
    _remove(staging)
    expected = _manifest_item(entry, DATABASE_NAME)["sha256"]
    digest, _size = copy_private(os.path.join(entry.path, DATABASE_NAME), staging)
    problems = [] if digest == expected else ["it changed since it was verified"]
    problems = problems or integrity_problems(staging)
    if problems:
        _remove(staging)
        raise BackupError(f"The backup's database cannot be used: {'; '.join(problems[:3])}. "
                          "The live database was not touched.")
    aside = set_aside(database_path, aside_tag)
    os.replace(staging, database_path)
    fsync_dir(folder)
    problems = integrity_problems(database_path)
    if problems:
        kept = f" The previous one is at {aside[0]}." if aside else ""
        raise BackupError(f"The restored database fails integrity_check: {problems[0]}.{kept}")
    return aside


def set_aside(database_path, tag):
    """Move the current database's side files away, then keep the database aside.

    Side files go first: a -wal must never be left beside the database that
    replaces this one. The database itself is hard-linked (the live name keeps
    working until the atomic swap), or copied if linking is not possible; an
    empty file (what opening a missing database leaves) is not worth keeping.
    """
    moved = []
    for suffix in SIDE_FILES:
        side = database_path + suffix
        if not os.path.exists(side):
            continue
        if tag:
            target = f"{database_path}-{tag}{suffix}"
            os.replace(side, target)
            moved.append(target)
        else:
            os.remove(side)
    if tag and os.path.exists(database_path) and os.path.getsize(database_path) > 0:
        target = f"{database_path}-{tag}"
        try:
            os.link(database_path, target)
        except OSError:
            shutil.copy2(database_path, target)
        moved.insert(0, target)
    fsync_dir(os.path.dirname(os.path.abspath(database_path)))
    return moved


def restore_files(entry, target_root, aside_dir=None):
    """Put the backup's files back under `target_root`, each atomically.

    Files already identical are left alone. A differing current file is first
    copied to `aside_dir` (0600) when one is given.

    Returns:
        list: Paths (relative to target_root) that were written.
    """
    written = []
    for item in entry.manifest["files"]:
        if not item["path"].startswith(FILES_DIR + "/"):
            continue
        relpath = item["path"][len(FILES_DIR) + 1:]
        target = os.path.join(target_root, *relpath.split("/"))
        if os.path.isfile(target) and sha256_file(target) == item["sha256"]:
            continue
        if aside_dir and os.path.isfile(target):
            _keep_aside(target, aside_dir, relpath)
        _install_file(os.path.join(entry.path, *item["path"].split("/")), target, item.get("mode", 0o600))
        written.append(relpath)
    return written


def _install_file(source, target, mode):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    staging = f"{target}.restoring-{os.getpid()}"
    _remove(staging)
    copy_private(source, staging)
    os.chmod(staging, mode & 0o777)
    os.replace(staging, target)
    fsync_dir(os.path.dirname(target))


def _keep_aside(path, aside_dir, relpath):
    target = os.path.join(aside_dir, *relpath.split("/"))
    make_private_dirs(aside_dir, os.path.dirname(target))
    _remove(target)
    copy_private(path, target)


def _manifest_item(entry, member):
    for item in entry.manifest["files"]:
        if item["path"] == member:
            return item
    raise BackupError(f"The backup's manifest has no {member}.")


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
