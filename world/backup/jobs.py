"""
Backups from inside the running server, without blocking the reactor.

Each `start_*` function returns a Deferred. The file and SQLite work runs in
a worker thread (`deferToThread`), which uses only the sqlite3 module on its
own connection to the database file, never the Django ORM. Progress lines are
handed back to the caller on the reactor thread (`reactor.callFromThread`).
Every Deferred has an errback that logs the failure (log_err for an expected
BackupError, with the traceback for anything else) and passes it on, so the caller
can tell whoever asked.

A second backup while one runs (in game, from the CLI or the schedule) is
refused at once: the backup lock is taken on the reactor thread before the
work is handed to the thread, and released by the thread when it is done.
"""

import time
from dataclasses import dataclass

from evennia.utils import logger
from twisted.internet import defer, threads
from twisted.python import threadable

from world.backup import config as backup_config
from world.backup import store
from world.backup.create import create_backup
from world.backup.drill import drill_backup
from world.backup.errors import BackupError
from world.backup.fsutil import BackupLock
from world.backup.report import ProgressText
from world.backup.retention import prune
from world.backup.verify import verify_backup

deferToThread = threads.deferToThread  # tests replace this with a synchronous runner


@dataclass
class BackupOutcome:
    """A finished backup job: the backup, how long it took, its verification, a prune."""

    entry: object
    seconds: float
    verify: object = None
    prune: object = None


def start_backup(notify=None, verify=True, reactor=None, config=None):
    """Start a backup (then verify it) in a worker thread.

    Args:
        notify (callable, optional): Called with progress lines, on the reactor thread.
        verify (bool): Verify the backup right after making it.
        reactor (optional): The reactor to report through (the global one by default).
        config (BackupConfig, optional): Defaults to the settings' configuration.

    Returns:
        Deferred: Fires with a BackupOutcome; fails with BackupBusy at once if
            another backup is running, or with BackupError if it fails.
    """
    return _start_locked(_backup_work, notify, reactor, config, verify=verify, then_prune=False)


def start_scheduled_backup(notify=None, reactor=None, config=None):
    """The daily job: backup, verify, and prune only if the new backup verified."""
    return _start_locked(_backup_work, notify, reactor, config, verify=True, then_prune=True)


def start_verify(backup_id, notify=None, reactor=None, config=None):
    """Verify a backup in a worker thread; fires with a VerifyResult."""
    return _start(verify_backup, backup_id, "Verify", notify, reactor, config)


def start_drill(backup_id, notify=None, reactor=None, config=None):
    """Run a DR drill in a worker thread; fires with a DrillResult."""
    return _start(drill_backup, backup_id, "Drill", notify, reactor, config)


def start_list(config=None):
    """Read the catalogue in a worker thread; fires with BackupEntry objects, oldest first."""
    try:
        config = config or backup_config.load_config()
    except Exception as err:
        return _logged(defer.fail(err), "list")
    return _logged(deferToThread(store.scan, config), "list")


def _start(work, backup_id, label, notify, reactor, config):
    try:
        config = config or backup_config.load_config()
    except Exception as err:
        return _logged(defer.fail(err), label.lower())
    progress = _relay(label, notify, reactor)
    return _logged(deferToThread(work, config, backup_id, progress), label.lower())


def _start_locked(work, notify, reactor, config, **options):
    try:
        config = config or backup_config.load_config()
        lock = BackupLock(config.backup_dir, "backup").acquire()
    except Exception as err:
        return _logged(defer.fail(err), "backup")
    if notify:
        notify("Backup started; the world keeps running. You will be told when it is done.")
    progress = _relay("Backup", notify, reactor)
    try:
        deferred = deferToThread(work, config, lock, progress, **options)
    except Exception as err:
        lock.release()
        return _logged(defer.fail(err), "backup")
    return _logged(deferred, "backup")


def _backup_work(config, lock, progress, verify, then_prune):
    """The worker thread's part of a backup job. No ORM in here."""
    started = time.monotonic()
    try:
        entry = create_backup(config, progress=progress, lock=lock)
    finally:
        lock.release()
    outcome = BackupOutcome(entry, round(time.monotonic() - started, 3))
    if verify:
        outcome.verify = verify_backup(config, entry.id, progress)
    if then_prune and outcome.verify and outcome.verify.ok:
        outcome.prune = prune(config)
    return outcome


def _relay(label, notify, reactor):
    """A progress(stage, done, total) for the worker that notifies on the reactor thread."""
    if notify is None:
        return None
    text = ProgressText(label)

    def progress(stage, done, total):
        line = text(stage, done, total)
        if line:
            call_on_reactor(reactor, notify, line)

    return progress


def call_on_reactor(reactor, func, *args):
    """Call `func` on the reactor thread: directly if already there (or no reactor runs)."""
    if reactor is None:
        from twisted.internet import reactor
    if threadable.isInIOThread() or not getattr(reactor, "running", False):
        func(*args)
    else:
        reactor.callFromThread(func, *args)


def _logged(deferred, what):
    """Log a failed job and pass the failure on to the caller."""

    def log_failure(failure):
        if failure.check(BackupError, backup_config.BackupConfigError):
            logger.log_err(f"Backup {what}: {failure.getErrorMessage()}")
        else:
            logger.log_err(f"Backup {what} failed unexpectedly:\n{failure.getTraceback()}")
        return failure

    return deferred.addErrback(log_failure)
