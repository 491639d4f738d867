"""
End to end: back up a running world, change it, restore it, start it again.

One real server (a temporary copy of the game directory on free ports); the
backup and the restore are the CLI an operator or cron would run.
"""

import os
import subprocess
import sys
from unittest import TestCase

from .support.liveworld import LiveWorld
from .support.telnet import TelnetClient

PROMPT_AFTER_LOOK = r"Exits:[^\n]*\n"
MARKER = "RestoreMarker"


class TestBackupRestoreLive(TestCase):
    expected_seconds = 30  # roughly; the parallel runner starts the slowest classes first

    def setUp(self):
        self.world = LiveWorld()
        self.addCleanup(self.world.cleanup)

    def backup_cli(self, *argv):
        """Run `python -m world.backup.cli ARGV` in the world's copy."""
        return subprocess.run([sys.executable, "-m", "world.backup.cli", *argv], cwd=self.world.game_dir,
                              env=self.world.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=180)

    def login(self):
        client = TelnetClient("127.0.0.1", self.world.telnet_port, timeout=20)
        self.addCleanup(client.close)
        text = client.login(self.world.username, self.world.password, PROMPT_AFTER_LOOK)
        self.assertIn("The Hearth", text)
        return client

    def look_for_marker(self, client):
        return client.command(f"look {MARKER}", rf"{MARKER}[^\n]*\n")

    def test_backup_change_restore_start_the_change_is_gone_and_login_works(self):
        self.world.start()
        made = self.backup_cli("backup")  # online: the server keeps running
        self.assertEqual(made.returncode, 0, made.stderr + self.world.log_tail())
        self.assertIn("verified.", made.stdout)

        client = self.login()
        client.command(f"@create/drop {MARKER}", rf"You create a new [^\n]*{MARKER}[^\n]*\n")
        self.assertNotIn("Could not find", self.look_for_marker(client))
        client.close()

        refused = self.backup_cli("restore", "latest")
        self.assertEqual(refused.returncode, 3, refused.stdout + refused.stderr)
        self.assertIn("The server is running", refused.stderr)

        self.assertEqual(self.world.stop(), [])
        restored = self.backup_cli("restore", "latest")
        self.assertEqual(restored.returncode, 0, restored.stdout + restored.stderr)
        database = os.path.join(self.world.game_dir, "server", "evennia.db3")
        self.assertIn(f"to {database}", restored.stdout)
        self.assertFalse(os.path.exists(database + "-wal"))

        self.world.start()
        client = self.login()
        self.assertIn(f"Could not find '{MARKER}'", self.look_for_marker(client))
        listed = self.backup_cli("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout.splitlines()[1], r"^\d{8}T\d{6}Z .* yes ")
