"""
Backups on real files: make, verify, restore, drill, retention, health.

Every test works in its own temporary game folder holding a real Evennia
database file (the test's built world), see tests/support/backupfixtures.py.
"""

import calendar
import os
import random
import signal
import sqlite3
import threading
import time

from django.conf import settings
from django.test import SimpleTestCase
from evennia.utils.test_resources import EvenniaTestCase

from world.backup import backup_health, ids, retention, schedule, store
from world.backup.config import BackupConfigError, load_config
from world.backup.create import TEST_STOP_ENV
from world.backup.drill import drill_backup
from world.backup.errors import BackupBusy, BackupError, BackupInputError, BackupNotFound, ServerRunning
from world.backup.fsutil import BackupLock, sha256_file
from world.backup.manifest import DATABASE_NAME, MANIFEST_NAME, seal, write_manifest
from world.backup.records import DRILL_NAME, write_record
from world.backup.report import ProgressText, format_size
from world.backup.restore import restore_backup
from world.backup.retention import plan_retention, prune
from world.backup.sqlitecopy import open_frozen, table_row_counts
from world.backup.verify import verify_backup

from .support.backupfixtures import BackupWorldMixin, add_bulk_rows, flip_byte
from .support.procs import process_state

HOUR = 3600.0


def wait_until(predicate, timeout=20.0):
    """Poll `predicate` (test code may sleep); return its last value."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


class BackupTestCase(BackupWorldMixin, EvenniaTestCase):
    """A built world in a real database file in a temporary game folder."""


class TestCreateBackup(BackupTestCase):
    def test_backup_holds_database_config_secrets_and_agent_data_privately(self):
        entry = self.make_backup()
        self.assertTrue(entry.valid, entry.problem)
        paths = [item["path"] for item in entry.manifest["files"]]
        self.assertEqual(paths[0], DATABASE_NAME)
        for member in ("files/server/conf/settings.py", "files/server/conf/secret_settings.py",
                       "files/world/regions.toml", "files/agents/personas.toml"):
            self.assertIn(member, paths)
        self.assertEqual(os.stat(self.config.backup_dir).st_mode & 0o777, 0o700)
        for root, dirs, files in os.walk(entry.path):
            for name in dirs:
                self.assertEqual(os.stat(os.path.join(root, name)).st_mode & 0o777, 0o700, name)
            for name in files:
                self.assertEqual(os.stat(os.path.join(root, name)).st_mode & 0o777, 0o600, name)
        for item in entry.manifest["files"]:
            self.assertEqual(sha256_file(os.path.join(entry.path, item["path"])), item["sha256"])

    def test_database_copy_is_self_contained_with_the_recorded_row_counts(self):
        entry = self.make_backup()
        copy = os.path.join(entry.path, DATABASE_NAME)
        self.assertFalse(os.path.exists(copy + "-wal"))
        conn = open_frozen(copy)
        try:
            self.assertEqual(conn.execute("PRAGMA journal_mode").fetchone()[0], "delete")
            counts = table_row_counts(conn)
        finally:
            conn.close()
        self.assertEqual(counts, entry.manifest["database"]["tables"])
        accounts = self.sql("SELECT count(*) FROM accounts_accountdb")[0][0]
        self.assertEqual(counts["accounts_accountdb"], accounts)
        self.assertGreaterEqual(counts["objects_objectdb"], 4 + 6)

    def test_backup_under_concurrent_writes_is_one_consistent_snapshot(self):
        add_bulk_rows(self.database, 30000)
        self.sql("CREATE TABLE ledger_a (id INTEGER PRIMARY KEY)")
        self.sql("CREATE TABLE ledger_b (id INTEGER PRIMARY KEY)")
        writer = LedgerWriter(self.database)
        writer.start()
        self.addCleanup(writer.stop)
        self.assertTrue(writer.committed.wait(10))
        outcome = {}

        def progress(stage, done, total):
            if stage == "database" and "writes_seen" not in outcome:
                start = writer.count
                outcome["writes_seen"] = wait_until(lambda: writer.count >= start + 5, 10)

        worker = threading.Thread(
            target=lambda: outcome.setdefault("entry", self.make_backup(progress=progress)))
        worker.start()
        worker.join(60)
        writer.stop()
        self.assertFalse(worker.is_alive())
        self.assertEqual(writer.errors, [])
        self.assertTrue(outcome["writes_seen"], "the writer was blocked by the backup")
        entry = outcome["entry"]
        tables = entry.manifest["database"]["tables"]
        self.assertEqual(tables["ledger_a"], tables["ledger_b"])
        self.assertLess(tables["ledger_a"], writer.count)
        self.assertEqual(tables["bulk"], 30000)
        result = verify_backup(self.config, entry.id)
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(result.tables_checked, len(tables))

    def test_a_backup_killed_mid_write_leaves_nothing_final_and_the_previous_stays_latest(self):
        previous = self.make_backup(now=time.time() - 60)
        add_bulk_rows(self.database, 4000)
        for point in ("database", "before-rename"):
            with self.subTest(killed_at=point):
                process = self.run_python("from world.backup.create import create_backup\n"
                                          "create_backup(config)", env={TEST_STOP_ENV: point})
                self.assertTrue(wait_until(lambda: process_state(process.pid) in ("T", None)))
                if process_state(process.pid) != "T":
                    self.fail(f"the backup did not stop at {point}: {process.communicate(timeout=20)}")
                with self.assertRaises(BackupBusy):  # the stopped process still holds the lock
                    self.make_backup()
                process.send_signal(signal.SIGKILL)
                process.communicate(timeout=20)
                names = os.listdir(self.config.backup_dir)
                self.assertEqual([n for n in names if not n.startswith(".")], [previous.id])
                self.assertTrue(any(n.startswith(store.PARTIAL_PREFIX) for n in names), names)
                self.assertEqual(store.latest(self.config).id, previous.id)
        fresh = self.make_backup()
        self.assertEqual(store.latest(self.config).id, fresh.id)
        self.assertEqual(store.partial_folders(self.config), [])

    def test_a_full_disk_reports_failure_and_leaves_old_backups_intact(self):
        old = self.make_backup(now=time.time() - 60)
        process = self.run_python(
            "import resource, signal\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))\n"
            "from world.backup.create import create_backup\n"
            "from world.backup.errors import BackupError\n"
            "try:\n    create_backup(config)\nexcept BackupError as err:\n    print(err)\n    sys.exit(1)\n"
        )
        out, err = process.communicate(timeout=60)
        self.assertEqual(process.returncode, 1, err)
        self.assertIn("The backup failed", out)
        self.assertIn("Older backups are untouched", out)
        self.assertEqual([n for n in os.listdir(self.config.backup_dir) if not n.startswith(".")], [old.id])
        self.assertEqual(store.partial_folders(self.config), [])
        self.assertTrue(verify_backup(self.config, old.id).ok)

    def test_too_little_free_space_is_refused_before_writing(self):
        old = self.make_backup(now=time.time() - 60)
        self.configure(min_free_bytes=2**60)
        with self.assertRaisesRegex(BackupError, "Not enough free space"):
            self.make_backup()
        self.assertEqual([e.id for e in store.scan(self.config)], [old.id])
        self.assertEqual(store.partial_folders(self.config), [])

    def test_two_backups_in_one_second_get_distinct_ids(self):
        now = time.time()
        first, second = self.make_backup(now=now), self.make_backup(now=now)
        self.assertEqual(second.id, first.id + "-2")
        self.assertEqual([e.id for e in store.scan(self.config)], [first.id, second.id])

    def test_a_second_concurrent_backup_is_refused(self):
        with BackupLock(self.config.backup_dir, "backup"):
            with self.assertRaisesRegex(BackupBusy, r"Another backup is running \(pid \d+"):
                self.make_backup()
        self.assertTrue(self.make_backup().valid)


class LedgerWriter(threading.Thread):
    """Writes one row to ledger_a and one to ledger_b per transaction, as fast as it can."""

    def __init__(self, database):
        super().__init__(daemon=True)
        self.database = database
        self.count, self.errors = 0, []
        self.committed = threading.Event()
        self._stop_event = threading.Event()

    def run(self):
        conn = sqlite3.connect(self.database, timeout=20)
        while not self._stop_event.is_set():
            try:
                conn.execute("INSERT INTO ledger_a DEFAULT VALUES")
                conn.execute("INSERT INTO ledger_b DEFAULT VALUES")
                conn.commit()
                self.count += 1
                self.committed.set()
            except sqlite3.Error as err:
                self.errors.append(str(err))
                break
        conn.close()

    def stop(self):
        self._stop_event.set()
        if self.is_alive():
            self.join(20)


class TestVerify(BackupTestCase):
    def test_an_intact_backup_verifies_and_the_result_is_recorded(self):
        entry = self.make_backup()
        result = verify_backup(self.config, "latest")
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(result.files_checked, len(entry.manifest["files"]))
        self.assertTrue(store.find(self.config, entry.id).verified)

    def test_one_flipped_byte_anywhere_fails_verification(self):
        for member in (DATABASE_NAME, "files/server/conf/secret_settings.py"):
            with self.subTest(member=member):
                entry = self.make_backup()
                flip_byte(os.path.join(entry.path, member))
                result = verify_backup(self.config, entry.id)
                self.assertFalse(result.ok)
                self.assertEqual(result.problems[0], f"{member}: SHA-256 does not match the manifest")
                self.assertTrue(store.find(self.config, entry.id).verify_failed)

    def test_a_damaged_manifest_means_the_backup_does_not_exist(self):
        older = self.make_backup(now=time.time() - 60)
        newer = self.make_backup()
        path = os.path.join(newer.path, MANIFEST_NAME)
        text = open(path).read()
        with open(path, "w") as handle:
            handle.write(text.replace('"size": ', '"size": 1', 1))
        self.assertEqual(store.latest(self.config).id, older.id)
        result = verify_backup(self.config, newer.id)
        self.assertFalse(result.ok)
        self.assertIn("fails its own checksum", result.problems[0])

    def test_a_missing_file_fails_verification(self):
        entry = self.make_backup()
        os.remove(os.path.join(entry.path, "files", "world", "regions.toml"))
        result = verify_backup(self.config, entry.id)
        self.assertEqual(result.problems, ["files/world/regions.toml: missing"])

    def test_row_counts_are_compared_with_the_manifest(self):
        entry = self.make_backup()
        copy = os.path.join(entry.path, DATABASE_NAME)
        conn = sqlite3.connect(copy)
        conn.execute("DELETE FROM objects_objectdb_db_tags "
                     "WHERE id = (SELECT max(id) FROM objects_objectdb_db_tags)")
        conn.commit()
        conn.close()
        manifest = entry.manifest
        for item in manifest["files"]:  # re-seal with the new hash, as a careful forger would
            if item["path"] == DATABASE_NAME:
                item.update(size=os.path.getsize(copy), sha256=sha256_file(copy))
        write_manifest(entry.path, seal(manifest))
        result = verify_backup(self.config, entry.id)
        self.assertFalse(result.ok)
        prefix = "table objects_objectdb_db_tags:"
        counted = [problem for problem in result.problems if problem.startswith(prefix)]
        self.assertEqual(len(counted), 1, result.problems)

    def test_bad_and_unknown_ids(self):
        self.make_backup()
        for bad in ("../etc", "..", "20261124T051500Z/../../x", "latest/", "", "2026", "20261340T999999Z"):
            with self.subTest(id=bad), self.assertRaises(BackupInputError) as caught:
                verify_backup(self.config, bad)
            self.assertNotIsInstance(caught.exception, BackupNotFound)
        with self.assertRaisesRegex(BackupNotFound, "There is no backup 20200101T000000Z"):
            verify_backup(self.config, "20200101T000000Z")

    def test_latest_without_backups_is_not_found(self):
        with self.assertRaisesRegex(BackupNotFound, "no backups yet"):
            verify_backup(self.config, "latest")


class TestRestoreAndDrill(BackupTestCase):
    def test_restore_brings_back_the_database_and_keeps_the_current_one_aside(self):
        entry = self.make_backup()
        tags_before = self.sql("SELECT count(*) FROM objects_objectdb_db_tags")[0][0]
        self.sql("DELETE FROM objects_objectdb_db_tags")
        self.sql("UPDATE accounts_accountdb SET username = 'changed' WHERE id = 1")
        live = sqlite3.connect(self.database)  # an open writer keeps committed data in the -wal
        self.addCleanup(live.close)
        live.execute("CREATE TABLE after_backup (x)")
        live.commit()
        self.assertTrue(os.path.getsize(self.database + "-wal") > 0)
        report = restore_backup(self.config, entry.id)
        self.assertEqual(self.sql("SELECT count(*) FROM objects_objectdb_db_tags")[0][0], tags_before)
        self.assertNotIn(("changed",), self.sql("SELECT username FROM accounts_accountdb"))
        self.assertEqual(self.sql("SELECT name FROM sqlite_master WHERE name = 'after_backup'"), [])
        self.assertFalse(os.path.exists(self.database + "-wal"))
        aside = report.set_aside[0]
        self.assertTrue(aside.startswith(self.database + "-pre-restore-"))
        self.assertIn(aside + "-wal", report.set_aside)
        kept = sqlite3.connect(aside)
        self.addCleanup(kept.close)
        tables = kept.execute("SELECT name FROM sqlite_master WHERE name = 'after_backup'").fetchall()
        self.assertEqual(tables, [("after_backup",)])
        self.assertEqual(kept.execute("SELECT count(*) FROM objects_objectdb_db_tags").fetchone()[0], 0)

    def test_restore_on_a_new_machine_needs_no_database_and_keeps_nothing_empty(self):
        entry = self.make_backup()
        os.remove(self.database)
        open(self.database, "wb").close()  # what Django leaves when it opens a missing database
        report = restore_backup(self.config, entry.id, with_files=True)
        self.assertEqual(report.set_aside, [])
        self.assertEqual(report.files_restored, [])
        self.assertEqual(self.sql("SELECT count(*) FROM accounts_accountdb")[0][0],
                         entry.manifest["database"]["tables"]["accounts_accountdb"])

    def test_restore_refuses_a_backup_with_a_flipped_byte(self):
        entry = self.make_backup()
        self.sql("CREATE TABLE after_backup (x)")
        live_hash = sha256_file(self.database)
        flip_byte(os.path.join(entry.path, DATABASE_NAME))
        with self.assertRaisesRegex(BackupError, "failed verification, so it was not restored"):
            restore_backup(self.config, entry.id)
        self.assertEqual(sha256_file(self.database), live_hash)
        self.assertFalse([n for n in os.listdir(os.path.dirname(self.database)) if "pre-restore" in n])

    def test_restore_is_refused_while_the_server_runs(self):
        entry = self.make_backup()
        with open(os.path.join(self.game_dir, "server", "server.pid"), "w") as handle:
            handle.write(str(os.getpid()))
        live_hash = sha256_file(self.database)
        with self.assertRaisesRegex(ServerRunning, r"server pid \d+.*Nothing was changed"):
            restore_backup(self.config, entry.id)
        self.assertEqual(sha256_file(self.database), live_hash)

    def test_restore_with_files_puts_secrets_back_and_keeps_replaced_files(self):
        entry = self.make_backup()
        secret = self.write_file("server/conf/secret_settings.py", "SECRET_KEY = 'new'\n", mode=0o644)
        report = restore_backup(self.config, entry.id, with_files=True)
        self.assertEqual(report.files_restored, ["server/conf/secret_settings.py"])
        self.assertIn("test-secret-key", open(secret).read())
        self.assertEqual(os.stat(secret).st_mode & 0o777, 0o600)
        kept = os.path.join(report.files_aside_dir, "server", "conf", "secret_settings.py")
        self.assertEqual(open(kept).read(), "SECRET_KEY = 'new'\n")

    def test_drill_restores_into_scratch_checks_the_world_and_cleans_up(self):
        scratch = os.path.join(self.game_dir, "scratch")
        self.configure(scratch_dir=scratch)
        entry = self.make_backup()
        result = drill_backup(self.config, "latest")
        self.assertTrue(result.ok, result.problems)
        self.assertEqual(result.regions, ["forge", "hearth", "oracle", "vault"])
        self.assertEqual(result.accounts, self.sql("SELECT count(*) FROM accounts_accountdb")[0][0])
        self.assertEqual(os.listdir(scratch), [])
        record = store.find(self.config, entry.id).drill
        self.assertTrue(record["ok"])

    def test_drill_fails_when_a_region_is_missing_from_the_backup(self):
        self.sql("DELETE FROM objects_objectdb_db_tags WHERE tag_id IN "
                 "(SELECT id FROM typeclasses_tag WHERE db_key = 'oracle' AND db_category = 'timmy_region')")
        entry = self.make_backup()
        result = drill_backup(self.config, entry.id)
        self.assertFalse(result.ok)
        self.assertEqual(result.problems, ["regions missing: oracle"])
        self.assertFalse(store.find(self.config, entry.id).drill["ok"])

    def test_drill_of_a_corrupt_backup_fails_without_restoring(self):
        entry = self.make_backup()
        flip_byte(os.path.join(entry.path, DATABASE_NAME))
        result = drill_backup(self.config, entry.id)
        self.assertFalse(result.ok)
        self.assertIn("verification failed", result.problems[0])


class TestRetention(BackupTestCase):
    def backups_at(self, hours_ago, verify=True, anchor=None):
        """Real backups made at the given ages; verified unless told otherwise."""
        now = time.time() if anchor is None else anchor
        entries = []
        for hours in hours_ago:
            entry = self.make_backup(now=now - hours * HOUR)
            if verify:
                verify_backup(self.config, entry.id)
            entries.append(entry.id)
        return entries

    def test_prune_keeps_daily_and_weekly_and_deletes_the_rest(self):
        self.configure(keep_daily=2, keep_weekly=2)
        wednesday_noon = calendar.timegm((2026, 11, 25, 12, 0, 0))  # ISO week 48
        ids = self.backups_at([480, 240, 50, 49, 26, 25, 1], anchor=wednesday_noon)
        report = prune(self.config)
        kept = [e.id for e in store.scan(self.config)]
        # daily: Wednesday's (1 h) and Tuesday's newest (25 h); weekly: week 48's and week 46's (240 h)
        self.assertEqual(kept, [ids[1], ids[5], ids[6]])
        self.assertEqual(report.deleted, [ids[0], ids[2], ids[3], ids[4]])
        self.assertEqual(sorted(report.plan.keep[ids[6]]), ["daily", "newest verified", "weekly"])
        self.assertFalse([n for n in os.listdir(self.config.backup_dir) if n.startswith(".deleting-")])

    def test_prune_never_removes_the_newest_verified_backup(self):
        self.configure(keep_daily=0, keep_weekly=0)
        older = self.backups_at([72, 48])
        newest_verified = self.backups_at([24])[0]
        unverified = self.backups_at([2, 1], verify=False)
        prune(self.config)
        self.assertEqual([e.id for e in store.scan(self.config)], [newest_verified] + unverified)
        self.assertTrue(all(not os.path.exists(self.config.backup_path(i)) for i in older))

    def test_nothing_is_pruned_until_a_backup_has_verified(self):
        self.configure(keep_daily=0, keep_weekly=0)
        ids = self.backups_at([72, 48, 24], verify=False)
        report = prune(self.config)
        self.assertEqual(report.deleted, [])
        self.assertEqual([e.id for e in store.scan(self.config)], ids)

    def test_a_failed_newest_backup_protects_everything_older_than_it_verified(self):
        self.configure(keep_daily=1, keep_weekly=0)
        good = self.backups_at([48, 30])
        bad = self.make_backup()
        flip_byte(os.path.join(bad.path, DATABASE_NAME))
        verify_backup(self.config, bad.id)
        prune(self.config)
        self.assertEqual([e.id for e in store.scan(self.config)], [good[1], bad.id])


class TestBackupHealth(BackupTestCase):
    def test_no_backup_is_down(self):
        health = backup_health(self.config)
        self.assertEqual((health.state, health.reason, health.latest_id), ("down", "no backup yet", None))

    def test_fresh_unverified_then_verified_then_stale(self):
        entry = self.make_backup()
        health = backup_health(self.config, now=entry.created + 60)
        self.assertEqual((health.state, health.verified, health.latest_id), ("degraded", False, entry.id))
        self.assertIn("not verified yet", health.reason)
        verify_backup(self.config, entry.id)
        health = backup_health(self.config, now=entry.created + 2 * HOUR)
        self.assertEqual((health.state, health.verified, health.age), ("up", True, 2 * HOUR))
        stale = backup_health(self.config, now=entry.created + 27 * HOUR)
        self.assertEqual(stale.state, "down")
        self.assertIn("stale", stale.reason)

    def test_failed_verification_and_failed_drill(self):
        good = self.make_backup(now=time.time() - HOUR)
        verify_backup(self.config, good.id)
        bad = self.make_backup()
        flip_byte(os.path.join(bad.path, DATABASE_NAME))
        verify_backup(self.config, bad.id)
        health = backup_health(self.config)
        self.assertEqual((health.state, health.latest_id, health.verified), ("degraded", bad.id, False))
        self.assertIn(f"failed verification; {good.id} is good", health.reason)
        self.assertEqual(backup_health(self.config, now=time.time() + 30 * HOUR).state, "down")
        drilled = self.make_backup()
        verify_backup(self.config, drilled.id)
        write_record(drilled.path, DRILL_NAME, False, problems=["regions missing: oracle"])
        health = backup_health(self.config)
        self.assertEqual((health.state, health.latest_id, health.verified), ("degraded", drilled.id, True))
        self.assertIn("drill failed", health.reason)


class TestIdsConfigSchedule(SimpleTestCase):
    def test_ids_are_strict_timestamps(self):
        self.assertEqual(ids.id_for_time(calendar.timegm((2026, 11, 24, 5, 15, 0))), "20261124T051500Z")
        for good in ("20261124T051500Z", "20261124T051500Z-2", "20261124T051500Z-123"):
            self.assertTrue(ids.is_valid_id(good), good)
        for bad in ("../20261124T051500Z", "20261124T051500Z/..", "20261124T051500Z-1", "20261124T051500Z-0",
                    "20261124T051500", "20261324T051500Z", "20261124T251500Z", "latest", "", None,
                    "20261124T051500Z\n", " 20261124T051500Z"):
            self.assertFalse(ids.is_valid_id(bad), bad)
        self.assertEqual(ids.check_id("latest", allow_latest=True), "latest")
        with self.assertRaisesRegex(BackupInputError, "ids look like 20261124T051500Z or 'latest'"):
            ids.check_id("../../etc/passwd", allow_latest=True)

    def test_new_ids_skip_taken_names(self):
        now = calendar.timegm((2026, 11, 24, 5, 15, 0))
        taken = {"20261124T051500Z", "20261124T051500Z-2"}
        self.assertEqual(ids.new_id(now, taken), "20261124T051500Z-3")
        self.assertEqual(ids.new_id(now + 1, taken), "20261124T051501Z")

    def test_settings_are_read_with_defaults_and_validated(self):
        from django.test import override_settings

        config = load_config()
        self.assertEqual(config.backup_dir, os.path.join(settings.GAME_DIR, "backups"))
        self.assertEqual((config.daily_at, config.keep_daily, config.keep_weekly), ("03:30", 7, 4))
        self.assertEqual(config.stale_after, 26 * HOUR)
        self.assertIn("server/conf", config.include)
        with override_settings(BACKUP_DIR="/srv/backups", BACKUP_KEEP_DAILY=3, BACKUP_DAILY_AT="23:05"):
            config = load_config()
            self.assertEqual((config.backup_dir, config.keep_daily, config.daily_at),
                             ("/srv/backups", 3, "23:05"))
        bad_settings = (
            ("BACKUP_DAILY_AT", "3:30"), ("BACKUP_DAILY_AT", "24:00"), ("BACKUP_KEEP_DAILY", -1),
            ("BACKUP_KEEP_WEEKLY", "4"), ("BACKUP_INCLUDE", ["../etc"]), ("BACKUP_INCLUDE", "/etc"),
        )
        for name, value in bad_settings:
            with self.subTest(name=name, value=value), override_settings(**{name: value}):
                with self.assertRaisesRegex(BackupConfigError, name):
                    load_config()

    def test_the_daily_slot_is_due_once_and_caught_up_after_downtime(self):
        day = calendar.timegm((2026, 11, 24, 0, 0, 0))
        slot = day + 3 * HOUR + 30 * 60
        self.assertEqual(schedule.last_slot(slot - 1, "03:30"), slot - 86400)
        self.assertEqual(schedule.last_slot(slot, "03:30"), slot)
        self.assertEqual(schedule.next_slot(slot, "03:30"), slot + 86400)
        self.assertFalse(schedule.is_due(slot + 60, "03:30", None))
        self.assertFalse(schedule.is_due(slot - 60, "03:30", slot - 3600))
        self.assertTrue(schedule.is_due(slot + 60, "03:30", slot - 3600))
        self.assertFalse(schedule.is_due(slot + 7200, "03:30", slot + 60))
        self.assertTrue(schedule.is_due(slot + 3 * 86400, "03:30", slot + 60))  # server was down for days

    def test_progress_text_reports_quarters_once_after_a_quiet_start(self):
        clock = [100.0]
        quiet = ProgressText("Backup", quiet_seconds=2.0, clock=lambda: clock[0])
        self.assertIsNone(quiet("database", 30, 100))
        clock[0] += 2.5
        self.assertEqual(quiet("database", 60, 100), "Backup: database 50% (60/100 pages)")
        text = ProgressText("Backup", quiet_seconds=0)
        lines = [text("database", done, 100) for done in (1, 10, 26, 30, 51, 99, 100, 100)]
        self.assertEqual([line for line in lines if line], [
            "Backup: database 25% (26/100 pages)", "Backup: database 50% (51/100 pages)",
            "Backup: database 75% (99/100 pages)", "Backup: database 100% (100/100 pages)"])
        self.assertEqual(text("files", 3, 3), "Backup: files 100% (3/3 files)")
        self.assertEqual(format_size(512), "512 B")
        self.assertEqual(format_size(5 * 2**20 + 2**19), "5.5 MiB")


class TestRetentionPlan(SimpleTestCase):
    """plan_retention on many generated catalogues: the promises hold for all of them."""

    def catalogue(self, rng, count):
        start = calendar.timegm((2026, 1, 1, 0, 0, 0))
        times = sorted(start + rng.randrange(0, 60 * 86400) for _ in range(count))
        entries = []
        for number, created in enumerate(times):
            backup_id = f"{ids.id_for_time(created)}-{number + 2}"
            state = rng.choice(["verified", "verified", "unverified", "failed", "broken"])
            manifest = None if state == "broken" else {"created_unix": created, "files": []}
            verify = {"verified": {"ok": True}, "failed": {"ok": False}}.get(state)
            entries.append(store.BackupEntry(backup_id, "/nowhere", manifest=manifest, verify=verify,
                                             problem="broken" if state == "broken" else None))
        return entries

    def test_promises_hold_for_random_catalogues(self):
        rng = random.Random(20261124)
        for round_number in range(300):
            entries = self.catalogue(rng, rng.randrange(0, 25))
            keep_daily, keep_weekly = rng.randrange(0, 8), rng.randrange(0, 5)
            plan = plan_retention(entries, keep_daily, keep_weekly)
            verified = [entry for entry in entries if entry.valid and entry.verified]
            with self.subTest(round=round_number):
                self.assertEqual(set(plan.keep) | set(plan.delete), {entry.id for entry in entries})
                self.assertFalse(set(plan.keep) & set(plan.delete))
                if not verified:
                    self.assertEqual(plan.delete, [])
                    continue
                newest_verified = verified[-1]
                self.assertIn(newest_verified.id, plan.keep)
                position = entries.index(newest_verified)
                self.assertTrue(set(plan.delete) <= {entry.id for entry in entries[:position]})
                kept_days = {retention.day_key(e.created) for e in entries if e.id in plan.keep and e.valid}
                good_days = sorted({retention.day_key(e.created) for e in entries
                                    if e.valid and not e.verify_failed}, reverse=True)
                self.assertTrue(set(good_days[:keep_daily]) <= kept_days)

    def test_within_a_day_a_verified_backup_beats_a_newer_unverified_one(self):
        day = calendar.timegm((2026, 3, 2, 0, 0, 0))
        made = [(day + 3600, True), (day + 7200, False), (day + 86400 * 2, True)]
        entries = [store.BackupEntry(f"{ids.id_for_time(t)}", "/x", manifest={"created_unix": t, "files": []},
                                     verify={"ok": True} if ok else None) for t, ok in made]
        plan = plan_retention(entries, keep_daily=2, keep_weekly=0)
        self.assertEqual(plan.delete, [entries[1].id])
        self.assertEqual(plan.keep[entries[0].id], ["daily"])
