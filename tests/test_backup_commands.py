"""
`@backup` in game, the in-server job runner and the daily backup Script.

The jobs' worker thread is replaced by a synchronous runner (the work itself
is real: real files, a real database); one test runs a job's worker function
in a real thread to show progress reaches the caller through the reactor.
"""

import os
import threading
import time
from contextlib import contextmanager
from unittest.mock import patch

from evennia import create_script
from evennia.utils import create
from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTestCase
from twisted.internet import defer

from commands.backup import CmdBackup
from world.backup import jobs, schedule, store
from world.backup.fsutil import BackupLock
from world.backup.manifest import DATABASE_NAME
from world.backup.verify import verify_backup

from .support.backupfixtures import BackupWorldMixin, add_bulk_rows, flip_byte

DAY = 86400
STARTED = "Backup started; the world keeps running. You will be told when it is done."
DRILL_STARTED = "Drill of backup latest started (restore into a scratch folder) ..."


class TestBackupCommand(BackupWorldMixin, EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.use_config_in_game()

    def test_backup_reports_start_and_result_and_the_backup_is_verified(self):
        output = self.call(CmdBackup(), "", "Backup started; the world keeps running.")
        entry = store.latest(self.config)
        self.assertIsNotNone(entry)
        self.assertTrue(entry.verified)
        done = rf"Backup {entry.id} done: [\d.]+ (KiB|MiB) in \d+ file\(s\), [\d.]+ s, verified\."
        self.assertRegex(output, done)

    def test_progress_is_reported_for_a_long_backup(self):
        add_bulk_rows(self.database, 5000)
        with patch("world.backup.report.PROGRESS_QUIET_SECONDS", 0):
            output = self.call(CmdBackup(), "", "Backup started")
        self.assertIn("Backup: database 25% (", output)
        self.assertIn("Backup: database 100% (", output)
        self.assertIn("Backup: verifying 100% (", output)

    def test_list_shows_id_time_size_verified_and_drill(self):
        self.call(CmdBackup(), "/list", "There are no backups yet.")
        older = self.make_backup(now=time.time() - 7200)
        newer = self.make_backup()
        verify_backup(self.config, newer.id)
        output = self.call(CmdBackup(), "/list", "Backup              Created (UTC)")
        lines = output.split("\n")
        self.assertTrue(lines[1].startswith(newer.id), lines)
        self.assertRegex(lines[1], r"KiB  yes      -$")
        self.assertRegex(lines[2], rf"^{older.id} .* 2h .*KiB  no       -$")

    def test_verify_latest_and_a_flipped_byte(self):
        entry = self.make_backup()
        self.call(CmdBackup(), "/verify latest", f"Verifying backup latest ...|Backup {entry.id} verified:")
        flip_byte(os.path.join(entry.path, DATABASE_NAME))
        self.call(CmdBackup(), f"/verify {entry.id}",
                  f"Verifying backup {entry.id} ...|Backup {entry.id} FAILED verification:\n"
                  f"  {DATABASE_NAME}: SHA-256 does not match the manifest")
        self.assertTrue(store.find(self.config, entry.id).verify_failed)

    def test_drill_latest_by_default(self):
        entry = self.make_backup()
        self.call(CmdBackup(), "/drill", f"{DRILL_STARTED}|Drill of backup {entry.id} passed")
        self.assertTrue(store.find(self.config, entry.id).drill["ok"])

    def test_bad_ids_are_refused_before_anything_runs(self):
        with patch("world.backup.jobs.start_verify") as start_verify:
            self.call(CmdBackup(), "/verify ../../etc/passwd",
                      "'../../etc/passwd' is not a backup id (ids look like 20261124T051500Z, "
                      "or use 'latest').")
            self.call(CmdBackup(), "/drill 20261124T051500Z/..", "'20261124T051500Z/..' is not a backup id")
            self.call(CmdBackup(), "/verify |rred|n", "'red' is not a backup id")  # markup removed
            self.call(CmdBackup(), "/verify", "Which backup? Give its id or 'latest'.")
        start_verify.assert_not_called()

    def test_unknown_id_and_no_backups(self):
        self.call(CmdBackup(), "/verify 20200101T000000Z",
                  "Verifying backup 20200101T000000Z ...|"
                  "There is no backup 20200101T000000Z (see the backup list).")
        self.call(CmdBackup(), "/drill", f"{DRILL_STARTED}|There are no backups yet.")

    def test_syntax_errors(self):
        self.call(CmdBackup(), " now please", "Usage: @backup; @backup/list;")
        self.call(CmdBackup(), "/list all", "Usage: @backup")
        self.call(CmdBackup(), "/list/verify", "Use one switch at a time.")
        self.call(CmdBackup(), "/restore latest",
                  "Unknown switch '/restore' (valid: /list, /verify, /drill).")

    def test_a_second_backup_while_one_runs_is_refused(self):
        pending = []

        def hold(func, *args, **kwargs):
            pending.append((func, args, kwargs))
            return defer.Deferred()

        with patch("world.backup.jobs.deferToThread", hold):
            self.call(CmdBackup(), "", "Backup started")
            self.call(CmdBackup(), "", "Refused: Another backup is running (pid ")
        self.assertEqual(store.scan(self.config), [])
        func, args, kwargs = pending[0]
        func(*args, **kwargs)  # the first one finishes and lets go of the lock
        self.call(CmdBackup(), "", "Backup started")
        self.assertEqual(len(store.scan(self.config)), 2)

    def test_a_backup_run_from_the_cli_blocks_one_in_game(self):
        with BackupLock(self.config.backup_dir, "backup"):
            self.call(CmdBackup(), "", f"Refused: Another backup is running (pid {os.getpid()}")

    def test_failures_are_reported_and_logged(self):
        self.configure(min_free_bytes=2**60)
        with patch("world.backup.jobs.logger") as logger:
            self.call(CmdBackup(), "", f"{STARTED}|Not enough free space for a backup")
        self.assertIn("Not enough free space", logger.log_err.call_args[0][0])
        self.configure(min_free_bytes=0)
        unexpected = f"{STARTED}|The backup failed unexpectedly; the error is in the server log."
        with patch("world.backup.jobs.create_backup", side_effect=RuntimeError("boom")), \
                patch("world.backup.jobs.logger") as logger:
            self.call(CmdBackup(), "", unexpected)
        self.assertIn("RuntimeError: boom", logger.log_err.call_args[0][0])
        lock = BackupLock(self.config.backup_dir).acquire()  # the failed job let go of the lock
        self.assertTrue(lock.held)
        lock.release()

    def test_builders_and_up_only(self):
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Player")
        self.assertFalse(CmdBackup().access(self.char2, "cmd"))
        self.char2.account.permissions.add("Builder")
        self.assertTrue(CmdBackup().access(self.char2, "cmd"))


class FakeReactor:
    """A running reactor stand-in that records what is handed to its thread."""

    running = True

    def __init__(self):
        self.calls = []

    def callFromThread(self, func, *args):
        self.calls.append(threading.current_thread().name)
        func(*args)


class TestJobsThread(BackupWorldMixin, EvenniaTestCase):
    def test_worker_thread_reports_progress_through_the_reactor(self):
        add_bulk_rows(self.database, 3000)
        reactor, heard = FakeReactor(), []
        lock = BackupLock(self.config.backup_dir, "backup").acquire()
        with patch("world.backup.report.PROGRESS_QUIET_SECONDS", 0):
            progress = jobs._relay("Backup", lambda _line: heard.append(threading.current_thread().name),
                                   reactor)
        result = {}

        def work():
            result["outcome"] = jobs._backup_work(self.config, lock, progress, verify=True, then_prune=False)

        worker = threading.Thread(target=work, name="worker")
        worker.start()
        worker.join(30)
        self.assertTrue(result["outcome"].verify.ok)
        self.assertFalse(lock.held)
        self.assertTrue(heard)
        self.assertEqual(set(reactor.calls), {"worker"})  # handed over from the worker thread ...
        self.assertEqual(len(reactor.calls), len(heard))  # ... every single time

    def test_on_the_reactor_thread_progress_is_delivered_directly(self):
        reactor, heard = FakeReactor(), []
        jobs.call_on_reactor(reactor, heard.append, "line")  # not running: tests, the CLI
        reactor.running = False
        jobs.call_on_reactor(reactor, heard.append, "line")
        self.assertEqual(heard, ["line", "line"])
        self.assertEqual(reactor.calls, ["MainThread"])


class TestDailyBackupScript(BackupWorldMixin, EvenniaTestCase):
    def setUp(self):
        super().setUp()
        self.use_config_in_game()
        self.ops = create.create_channel("ops", locks="listen:all();send:all()")
        self.script = create_script("typeclasses.backup_script.BackupScheduleScript", autostart=False)
        self.slot = schedule.last_slot(time.time(), self.config.daily_at)

    @contextmanager
    def ops_channel(self):
        """Catch what is said on the ops channel."""
        with patch.object(self.ops, "msg") as said, patch("evennia.search_channel", return_value=[self.ops]):
            yield said

    def test_runs_once_per_daily_slot_verifies_prunes_and_announces(self):
        self.configure(keep_daily=1, keep_weekly=0)
        old = self.make_backup(now=self.slot - 3 * DAY)
        verify_backup(self.config, old.id)
        self.assertIsNone(self.script.check_schedule(now=self.slot - 60))  # first start: count from now
        self.assertIsNone(self.script.check_schedule(now=self.slot - 30))
        with self.ops_channel() as announce:
            deferred = self.script.check_schedule(now=self.slot + 5)
        self.assertTrue(deferred.called)
        latest = store.latest(self.config)
        self.assertTrue(latest.verified)
        self.assertEqual([e.id for e in store.scan(self.config)], [latest.id])  # the old one was pruned
        self.assertTrue(self.script.last_result["ok"])
        self.assertIn(f"Daily backup: Backup {latest.id} done", announce.call_args[0][0])
        self.assertIn("Pruned 1 old backup(s)", announce.call_args[0][0])
        self.assertIsNone(self.script.check_schedule(now=self.slot + 120))
        self.assertEqual(self.script.last_run_at, self.slot + 5)

    def test_a_busy_backup_folder_postpones_the_run_to_the_next_check(self):
        self.script.last_run_at = self.slot - DAY
        with BackupLock(self.config.backup_dir, "backup"):
            self.script.check_schedule(now=self.slot + 5)
        self.assertEqual(self.script.last_run_at, self.slot - DAY)
        self.assertEqual(store.scan(self.config), [])
        self.script.check_schedule(now=self.slot + 65)
        self.assertEqual(len(store.scan(self.config)), 1)

    def test_a_failed_run_is_announced_in_red_and_recorded(self):
        self.script.last_run_at = self.slot - DAY
        self.configure(min_free_bytes=2**60)
        with self.ops_channel() as announce, patch("world.backup.jobs.logger"):
            self.script.check_schedule(now=self.slot + 5)
        self.assertTrue(announce.call_args[0][0].startswith("|rDaily backup failed: Not enough free space"))
        self.assertFalse(self.script.last_result["ok"])
        self.assertFalse(self.script.ndb.running)
