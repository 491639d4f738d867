"""
Backup fixtures: a private game folder holding a real Evennia database file.

`BackupWorldMixin` (use with a Django TestCase, e.g. EvenniaTestCase) writes
a real Evennia database (the built regions and two accounts, made once per
test run) to `<game>/server/evennia.db3` in WAL mode, next to a
server/conf with settings and a 0600 secret_settings.py, the region data
file and an agents' data file, and gives a `BackupConfig` for that folder.
"""

import os
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import replace
from unittest.mock import patch

from django.conf import settings
from twisted.internet import defer

from world.backup.config import BackupConfig
from world.backup.create import create_backup

GAME_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET_TEXT = "SECRET_KEY = 'test-secret-key'\nGITEA_TOKEN = 'test-token'\n"


_WORLD_IMAGE = {}


def world_database_image():
    """A database image with the built regions and two accounts (made once per run).

    The world is built inside a transaction that is rolled back, so the test
    database is left as it was; the image is what the connection saw before
    the rollback.
    """
    if "image" not in _WORLD_IMAGE:
        from django.db import connection, transaction
        from evennia.utils import create
        from evennia.utils.idmapper.models import flush_cache

        from world.builder import build_world

        with transaction.atomic():
            build_world(settings.TIMMY_REGIONS_FILE)
            for name in ("BackupOperator", "BackupAgent"):
                create.create_account(name, email="", password="a-long-password-1")
            connection.ensure_connection()
            _WORLD_IMAGE["image"] = connection.connection.serialize()
            transaction.set_rollback(True)
        flush_cache()
    return _WORLD_IMAGE["image"]


def write_test_database(path):
    """Write the world image to a WAL-mode database file."""
    with open(path, "wb") as handle:
        handle.write(world_database_image())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()


def add_bulk_rows(path, rows, width=400):
    """Grow a database with a table of `rows` rows (a bigger, slower backup)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS bulk (id INTEGER PRIMARY KEY, payload TEXT)")
    conn.executemany("INSERT INTO bulk (payload) VALUES (?)", (("x" * width,) for _ in range(rows)))
    conn.commit()
    conn.close()


def flip_byte(path, offset=None):
    """Flip one byte of a file (the middle one by default)."""
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size
        offset = size // 2 if offset is None else offset
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def synchronous(func, *args, **kwargs):
    """Stand-in for deferToThread: run now, in this thread."""
    try:
        return defer.succeed(func(*args, **kwargs))
    except Exception:
        return defer.fail()


def python_subprocess_code(config, body):
    """Code for `python -c` that rebuilds `config` and runs `body` (no Django)."""
    fields = {name: getattr(config, name) for name in config.__dataclass_fields__}
    return (
        f"import sys; sys.path.insert(0, {GAME_DIR!r})\n"
        "from world.backup.config import BackupConfig\n"
        f"config = BackupConfig(**{fields!r})\n"
        f"{body}\n"
    )


class BackupWorldMixin:
    """A temporary game folder with a real database, and its BackupConfig."""

    def setUp(self):
        world_database_image()  # before the test case makes its own objects
        super().setUp()
        self.game_dir = tempfile.mkdtemp(prefix="timmy-backup-test-")
        self.addCleanup(shutil.rmtree, self.game_dir, True)
        self.database = os.path.join(self.game_dir, "server", "evennia.db3")
        self._write_game_files()
        write_test_database(self.database)
        self.config = BackupConfig(
            backup_dir=os.path.join(self.game_dir, "backups"),
            database_path=self.database,
            game_dir=self.game_dir,
            regions_file=os.path.join(self.game_dir, "world", "regions.toml"),
            min_free_bytes=0,
            step_pages=16,
        )

    def _write_game_files(self):
        for folder in ("server/conf", "world", "agents"):
            os.makedirs(os.path.join(self.game_dir, folder))
        self.write_file("server/conf/settings.py", "SERVERNAME = 'Timmy World'\n")
        self.write_file("server/conf/secret_settings.py", SECRET_TEXT, mode=0o600)
        self.write_file("agents/personas.toml", '[defaults]\nmodel = "llama3.2:3b"\n')
        shutil.copy(settings.TIMMY_REGIONS_FILE, os.path.join(self.game_dir, "world", "regions.toml"))

    def write_file(self, relpath, text, mode=0o644):
        """Write a file in the test game folder."""
        path = os.path.join(self.game_dir, relpath)
        with open(path, "w") as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def configure(self, **changes):
        """Change the test's BackupConfig."""
        self.config = replace(self.config, **changes)
        return self.config

    def make_backup(self, **kwargs):
        """Make a real backup of the test game folder; return its BackupEntry."""
        return create_backup(self.config, **kwargs)

    def sql(self, query, *params):
        """Run one statement on the live test database file and commit."""
        conn = sqlite3.connect(self.database)
        try:
            rows = conn.execute(query, params).fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def use_config_in_game(self):
        """In-game jobs use this test's config and run synchronously."""
        for target, value in (("world.backup.config.load_config", lambda: self.config),
                              ("world.backup.jobs.deferToThread", synchronous)):
            patcher = patch(target, value)
            patcher.start()
            self.addCleanup(patcher.stop)

    def run_python(self, body, env=None, **popen):
        """Start `python -c` running `body` with this test's config (no Django)."""
        import subprocess

        full_env = dict(os.environ, **(env or {}))
        return subprocess.Popen([sys.executable, "-c", python_subprocess_code(self.config, body)],
                                env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **popen)
