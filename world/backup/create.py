"""
Making a backup: the database snapshot, the included files, the manifest.

`create_backup(config)` writes everything into `<BACKUP_DIR>/.partial-<id>/`,
fsyncs each file, writes the manifest last, fsyncs the folder and only then
renames it to `<BACKUP_DIR>/<id>/` (and fsyncs BACKUP_DIR). A run that dies at
any point before the rename leaves only a `.partial-` folder, which is never
listed and is removed by the next backup; the previous backup stays latest.
Any failure (disk full, unreadable database, ...) removes the partial folder
and raises BackupError; older backups are never touched.

What is included: the live database (see sqlitecopy.online_copy) and every
regular file under the BACKUP_INCLUDE paths (server/conf with settings.py and
secret_settings.py, the region data file, the agents' folder), except Python
caches, pid files, symlinks and the database's own files. Secrets are
included on purpose, so a restore on a new machine has the SECRET_KEY and the
tokens; that is why every backup folder is 0700 and every file 0600.

Test hook: with TIMMY_BACKUP_TEST_STOP_AT=database (or before-rename) in the
environment, the process stops itself (SIGSTOP) at that point so a test can
kill it there. Nothing else reads that variable.
"""

import fnmatch
import os
import platform
import signal
import sqlite3
import time

from world.backup import ids, store
from world.backup.errors import BackupError
from world.backup.fsutil import (
    BackupLock, copy_private, describe_os_error, ensure_private_dir, free_bytes, fsync_dir,
    fsync_tree, make_private_dirs, remove_tree, sha256_file, tree_size,
)
from world.backup.manifest import DATABASE_NAME, FILES_DIR, FORMAT, seal, write_manifest
from world.backup.sqlitecopy import online_copy
from world.backup.units import format_size

SKIP_DIRS = ("__pycache__", ".git")
SKIP_FILES = ("*.pyc", "*.pid", "*.tmp-*", "*.restoring-*")
TEST_STOP_ENV = "TIMMY_BACKUP_TEST_STOP_AT"


def create_backup(config, progress=None, lock=None, now=None):
    """Make one backup of the live world.

    Args:
        config (BackupConfig): Where from and where to.
        progress (callable, optional): progress(stage, done, total); stage is
            "database" (pages) or "files" (files).
        lock (BackupLock, optional): An already held lock (the in-game command
            takes it before handing the work to a thread); taken here if None.
        now (float, optional): Start time (unix); the id is made from it.

    Returns:
        BackupEntry: The finished backup.

    Raises:
        BackupBusy: Another backup, prune or restore is running.
        BackupError: The backup failed; no final-named folder was written.
    """
    try:
        return _create(config, progress, lock, now)
    except OSError as err:  # before the partial folder existed: the lock, the folder, the scan
        raise _as_backup_error(err) from err


def _create(config, progress, lock, now):
    ensure_private_dir(config.backup_dir)
    lock = lock or BackupLock(config.backup_dir, "backup")
    with lock:
        for leftover in store.partial_folders(config):
            remove_tree(leftover)
        started = time.time() if now is None else now
        backup_id = ids.new_id(started, store.taken_names(config))
        files, missing = collect_files(config)
        check_free_space(config, files)
        partial = os.path.join(config.backup_dir, store.PARTIAL_PREFIX + backup_id)
        try:
            _write_backup(config, partial, backup_id, started, files, missing, progress)
            final = config.backup_path(backup_id)
            os.rename(partial, final)
            fsync_dir(config.backup_dir)
        except BaseException as err:
            remove_tree(partial)
            if not isinstance(err, Exception):
                raise
            raise _as_backup_error(err) from err
    return store.load_entry(config, backup_id)


def _write_backup(config, partial, backup_id, started, files, missing, progress):
    """Everything before the rename: database, files, manifest, fsyncs."""
    ensure_private_dir(partial)
    database = online_copy(
        config.database_path, os.path.join(partial, DATABASE_NAME), config.step_pages,
        _database_progress(progress),
    )
    entries = [_file_entry(partial, DATABASE_NAME)]
    entries += copy_included(config, partial, files, progress)
    fsync_tree(partial)
    manifest = seal({
        "format": FORMAT,
        "id": backup_id,
        "created_unix": started,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_seconds": round(time.time() - started, 3),
        "host": platform.node(),
        "database": dict(database, source=config.database_path, sqlite_version=sqlite3.sqlite_version),
        "included": list(config.include),
        "missing": missing,
        "files": entries,
    })
    write_manifest(partial, manifest)
    stop_here_for_tests("before-rename")


def _database_progress(progress):
    def report(done, total):
        stop_here_for_tests("database")
        if progress:
            progress("database", done, total)

    return report


def _file_entry(folder, relpath):
    path = os.path.join(folder, relpath)
    return {"path": relpath, "size": os.path.getsize(path), "sha256": sha256_file(path)}


def collect_files(config):
    """The included files to copy, and the include entries that do not exist.

    Returns:
        tuple: (list of paths relative to GAME_DIR, list of missing entries).
    """
    skip = _skipped_paths(config)
    game_dir = os.path.abspath(config.game_dir)
    found, missing = [], []
    for entry in config.include:
        full = os.path.join(game_dir, entry)
        if os.path.isfile(full) and not os.path.islink(full):
            found.append(entry)
        elif os.path.isdir(full) and not os.path.islink(full):
            found.extend(_walk(game_dir, full, skip))
        else:
            missing.append(entry)
    unique = sorted(set(path for path in found if os.path.join(game_dir, path) not in skip))
    return unique, missing


def _walk(game_dir, folder, skip):
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and os.path.join(root, d) not in skip
                         and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            full = os.path.join(root, name)
            if any(fnmatch.fnmatch(name, pattern) for pattern in SKIP_FILES):
                continue
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            yield os.path.relpath(full, game_dir)


def _skipped_paths(config):
    """Absolute paths never copied as files: the backups and the live database."""
    database = os.path.abspath(config.database_path)
    return {os.path.abspath(config.backup_dir), database, database + "-wal",
            database + "-shm", database + "-journal"}


def copy_included(config, partial, files, progress=None):
    """Copy the included files under `<partial>/files/`; return manifest entries."""
    entries = []
    for number, relpath in enumerate(files, 1):
        member = f"{FILES_DIR}/{relpath.replace(os.sep, '/')}"
        target = os.path.join(partial, *member.split("/"))
        make_private_dirs(partial, os.path.dirname(target))
        source = os.path.join(config.game_dir, relpath)
        digest, size = copy_private(source, target)
        mode = os.stat(source).st_mode & 0o777
        entries.append({"path": member, "size": size, "sha256": digest, "mode": mode})
        if progress:
            progress("files", number, len(files))
    return entries


def check_free_space(config, files):
    """Refuse to start if the backup would leave less than BACKUP_MIN_FREE_MB free.

    Raises:
        BackupError: Not enough space; nothing was written.
    """
    database = config.database_path
    needed = sum(os.path.getsize(path) for path in (database, database + "-wal") if os.path.exists(path))
    needed += sum(tree_size(os.path.join(config.game_dir, path)) for path in files)
    free = free_bytes(config.backup_dir)
    if free - needed < config.min_free_bytes:
        raise BackupError(
            f"Not enough free space for a backup: it needs about {format_size(needed)} and "
            f"{format_size(config.min_free_bytes)} must stay free, but only {format_size(free)} is free "
            "in the backup folder. Older backups are untouched."
        )


def _as_backup_error(err):
    """Turn whatever stopped a backup into a BackupError with an operator's reason."""
    if isinstance(err, BackupError):
        return err
    if isinstance(err, OSError):
        reason = describe_os_error(err)
    elif isinstance(err, sqlite3.Error):
        reason = f"SQLite: {err}"
    else:
        reason = f"{type(err).__name__}: {err}"
    return BackupError(f"The backup failed: {reason}. Older backups are untouched.")


def stop_here_for_tests(point):
    """Stop this process (SIGSTOP) if a test asked to catch it at `point`."""
    if os.environ.get(TEST_STOP_ENV) == point:
        os.kill(os.getpid(), signal.SIGSTOP)
