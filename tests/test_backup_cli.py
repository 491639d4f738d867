"""
The backup CLI: exit codes and output, in process and as real processes.

In-process tests call `world.backup.cli.main()` with the test's BackupConfig;
the process tests run `python -m world.backup.cli` in a temporary copy of the
game directory, exactly as cron or systemd would.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from unittest.mock import patch

from django.db import connections
from evennia.utils.test_resources import EvenniaTestCase

import world.cli
from world.backup import cli, store
from world.backup.config import BackupConfigError
from world.backup.create import TEST_STOP_ENV
from world.backup.fsutil import BackupLock
from world.backup.manifest import DATABASE_NAME

from .support.backupfixtures import BackupWorldMixin, flip_byte, world_database_image
from .support.liveworld import copy_game_dir


class TestBackupCliInProcess(BackupWorldMixin, EvenniaTestCase):
    def run_cli(self, *argv):
        """Run the CLI with this test's config; return (exit code, stdout, stderr)."""
        with patch("world.backup.config.load_config", return_value=self.config), \
                patch.object(connections, "close_all"):
            return self.run_cli_raw(*argv)

    def test_exit_codes_match_world_cli(self):
        self.assertEqual((cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE),
                         (world.cli.EXIT_OK, world.cli.EXIT_FAILED, world.cli.EXIT_USAGE))
        self.assertEqual(cli.EXIT_SERVER_RUNNING, 3)

    def test_backup_list_verify_drill_prune(self):
        self.assertEqual(self.run_cli("list"), (0, "There are no backups yet.\n", ""))
        code, out, _ = self.run_cli("backup")
        entry = store.latest(self.config)
        self.assertEqual(code, 0)
        self.assertRegex(out, rf"^Backup {entry.id} done: .* verified\.$")
        code, out, _ = self.run_cli("verify")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith(f"Backup {entry.id} verified: "), out)
        code, out, _ = self.run_cli("drill", entry.id)
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith(f"Drill of backup {entry.id} passed"), out)
        code, out, _ = self.run_cli("prune", "--dry-run")
        self.assertEqual((code, out.splitlines()[0]), (0, "Nothing to prune."))
        code, out, _ = self.run_cli("list")
        self.assertRegex(out.splitlines()[1], rf"^{entry.id} .* yes      ok 0s ago$")

    def test_bad_input_exits_2(self):
        self.make_backup()
        for argv, message in ((("verify", "../x"), "That is not a backup id"),
                              (("restore", "20261124T051500Z/../.."), "That is not a backup id"),
                              (("drill", "20200101T000000Z"), "There is no backup 20200101T000000Z"),
                              (("nonsense",), ""), (("restore",), "")):
            with self.subTest(argv=argv):
                code, out, err = self.run_cli(*argv)
                self.assertEqual(code, 2)
                self.assertIn(message, err)

    def test_a_corrupt_backup_fails_verify_and_restore_exits_1(self):
        entry = self.make_backup()
        flip_byte(os.path.join(entry.path, DATABASE_NAME))
        code, out, _ = self.run_cli("verify", entry.id)
        self.assertEqual(code, 1)
        self.assertIn(f"Backup {entry.id} FAILED verification:", out)
        live = open(self.database, "rb").read()
        code, _, err = self.run_cli("restore", entry.id)
        self.assertEqual(code, 1)
        self.assertIn("failed verification, so it was not restored", err)
        self.assertEqual(open(self.database, "rb").read(), live)

    def test_restore_exits_3_while_the_server_runs_and_0_when_stopped(self):
        entry = self.make_backup()
        self.sql("CREATE TABLE after_backup (x)")
        pid_file = self.write_file("server/portal.pid", str(os.getpid()))
        code, _, err = self.run_cli("restore", "latest")
        self.assertEqual(code, 3)
        self.assertIn(f"portal pid {os.getpid()}", err)
        os.remove(pid_file)
        code, out, _ = self.run_cli("restore", "latest")
        self.assertEqual(code, 0)
        self.assertTrue(out.startswith(f"Restored backup {entry.id} to {self.database}"), out)
        self.assertEqual(self.sql("SELECT name FROM sqlite_master WHERE name = 'after_backup'"), [])

    def test_invalid_settings_exit_2(self):
        with patch("world.backup.config.load_config", side_effect=BackupConfigError("BACKUP_DAILY_AT bad")):
            code, _, err = self.run_cli_raw("list")
        self.assertEqual((code, err), (2, "Backup settings are invalid: BACKUP_DAILY_AT bad\n"))

    def run_cli_raw(self, *argv):
        """Run the CLI in this process (Django is already set up); return (code, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        with patch("world.cli.setup_django"), redirect_stdout(out), redirect_stderr(err):
            code = cli.main(list(argv))
        return code, out.getvalue(), err.getvalue()


class TestBackupCliProcess(EvenniaTestCase):
    """`python -m world.backup.cli` in a copy of the game directory."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.game_dir = copy_game_dir()
        with open(os.path.join(cls.game_dir, "server", "conf", "secret_settings.py"), "w") as handle:
            handle.write("SECRET_KEY = 'cli-test-secret'\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(os.path.dirname(cls.game_dir), ignore_errors=True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        shutil.rmtree(os.path.join(self.game_dir, "backups"), ignore_errors=True)
        with open(os.path.join(self.game_dir, "server", "evennia.db3"), "wb") as handle:
            handle.write(world_database_image())

    def start(self, *argv, env=None):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        environment.update(env or {})
        return subprocess.Popen([sys.executable, "-m", "world.backup.cli", *argv], cwd=self.game_dir,
                                env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run_cli(self, *argv):
        process = self.start(*argv)
        out, err = process.communicate(timeout=120)
        return process.returncode, out, err

    def test_backup_then_list_as_json(self):
        code, out, err = self.run_cli("backup")
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"Backup \d{8}T\d{6}Z done: .* verified\.")
        code, out, err = self.run_cli("list", "--json")
        self.assertEqual(code, 0, err)
        listed = json.loads(out)
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0]["verified"])
        backup = os.path.join(self.game_dir, "backups", listed[0]["id"])
        secret = os.path.join(backup, "files", "server", "conf", "secret_settings.py")
        self.assertEqual(open(secret).read(), "SECRET_KEY = 'cli-test-secret'\n")
        self.assertEqual(os.stat(secret).st_mode & 0o777, 0o600)

    def test_list_as_json_is_clean_json_without_a_database(self):
        """Step 2 of a restore on a new machine: the database is gone."""
        os.remove(os.path.join(self.game_dir, "server", "evennia.db3"))
        code, out, err = self.run_cli("list", "--json")
        self.assertEqual(code, 0, err)
        self.assertEqual(json.loads(out), [])

    def test_a_second_backup_is_refused_while_one_runs(self):
        first = self.start("backup", env={TEST_STOP_ENV: "database"})
        self.addCleanup(first.kill)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self._stopped(first.pid):
            time.sleep(0.05)
        self.assertTrue(self._stopped(first.pid), "the first backup never reached the database copy")
        code, _, err = self.run_cli("backup")
        self.assertEqual(code, 1)
        self.assertIn(f"Another backup is running (pid {first.pid}", err)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=20)
        with BackupLock(os.path.join(self.game_dir, "backups")) as lock:  # the kernel let go of it
            self.assertTrue(lock.held)
        finished = [name for name in os.listdir(os.path.join(self.game_dir, "backups")) if name[0].isdigit()]
        self.assertEqual(finished, [])

    def test_usage_errors_exit_2(self):
        for argv in ((), ("frobnicate",), ("verify", "a", "b")):
            with self.subTest(argv=argv):
                code, _, err = self.run_cli(*argv)
                self.assertEqual(code, 2, err)
                self.assertIn("usage:", err)

    @staticmethod
    def _stopped(pid):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[-1].split()[0] == "T"
        except OSError:
            return False
