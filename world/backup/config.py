"""
Backup settings, read in one place.

Every setting is optional; `load_config()` reads them from Django settings
with `getattr(settings, NAME, default)` and validates them, so a bad value is
reported naming the setting:

    BACKUP_DIR           where backups live (default <GAME_DIR>/backups, kept 0700)
    BACKUP_DAILY_AT      "HH:MM" UTC time of the daily backup (default "03:30")
    BACKUP_KEEP_DAILY    newest backup of each of the last N days kept (7)
    BACKUP_KEEP_WEEKLY   newest backup of each of the last M ISO weeks kept (4)
    BACKUP_STALE_AFTER   seconds after which the latest backup is stale (26 h)
    BACKUP_INCLUDE       files/folders (relative to GAME_DIR) copied beside the
                         database: configuration, secrets and agent data
    BACKUP_MIN_FREE_MB   free space left over after a backup, or it is refused (64)
    BACKUP_STEP_PAGES    database pages copied per step of the online copy (1024)
    BACKUP_SCRATCH_DIR   where drills restore to (default: the system temp dir)

Everything below this module takes a `BackupConfig`, never settings, so the
worker threads, the CLI and the tests can run with any configuration (and
without Django at all).
"""

import os
import re
from dataclasses import dataclass

DAILY_AT_PATTERN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")  # always used with fullmatch
DEFAULT_INCLUDE = ("server/conf", "world/regions.toml", "agents/personas.toml")
DEFAULTS = {
    "BACKUP_DAILY_AT": "03:30",
    "BACKUP_KEEP_DAILY": 7,
    "BACKUP_KEEP_WEEKLY": 4,
    "BACKUP_STALE_AFTER": 26 * 3600,
    "BACKUP_INCLUDE": DEFAULT_INCLUDE,
    "BACKUP_MIN_FREE_MB": 64,
    "BACKUP_STEP_PAGES": 1024,
    "BACKUP_SCRATCH_DIR": None,
}


class BackupConfigError(ValueError):
    """A backup setting is unusable; the message names it."""


@dataclass(frozen=True)
class BackupConfig:
    """Everything the backup modules need to know, resolved to paths."""

    backup_dir: str
    database_path: str
    game_dir: str
    include: tuple = DEFAULT_INCLUDE
    daily_at: str = "03:30"
    keep_daily: int = 7
    keep_weekly: int = 4
    stale_after: float = 26 * 3600.0
    min_free_bytes: int = 64 * 2**20
    step_pages: int = 1024
    scratch_dir: str = None
    regions_file: str = None

    @property
    def server_dir(self):
        """The game's server/ folder (pid files, the database by default)."""
        return os.path.join(self.game_dir, "server")

    def backup_path(self, backup_id):
        """The folder of one backup. The id must have been checked (ids.check_id)."""
        return os.path.join(self.backup_dir, backup_id)


def database_path():
    """The live SQLite database file, from settings.DATABASES["default"]["NAME"]."""
    from django.conf import settings

    return settings.DATABASES["default"]["NAME"]


def load_config():
    """Read and validate the backup settings.

    Returns:
        BackupConfig: The configuration for this game directory.

    Raises:
        BackupConfigError: A setting is malformed; the message names it.
    """
    from django.conf import settings

    values = {name: getattr(settings, name, default) for name, default in DEFAULTS.items()}
    game_dir = settings.GAME_DIR
    backup_dir = getattr(settings, "BACKUP_DIR", None) or os.path.join(game_dir, "backups")
    return BackupConfig(
        backup_dir=os.path.abspath(backup_dir),
        database_path=database_path(),
        game_dir=game_dir,
        include=_include(values["BACKUP_INCLUDE"]),
        daily_at=_daily_at(values["BACKUP_DAILY_AT"]),
        keep_daily=_count("BACKUP_KEEP_DAILY", values["BACKUP_KEEP_DAILY"]),
        keep_weekly=_count("BACKUP_KEEP_WEEKLY", values["BACKUP_KEEP_WEEKLY"]),
        stale_after=float(_count("BACKUP_STALE_AFTER", values["BACKUP_STALE_AFTER"], low=60)),
        min_free_bytes=_count("BACKUP_MIN_FREE_MB", values["BACKUP_MIN_FREE_MB"]) * 2**20,
        step_pages=_count("BACKUP_STEP_PAGES", values["BACKUP_STEP_PAGES"], low=1),
        scratch_dir=values["BACKUP_SCRATCH_DIR"] or None,
        regions_file=getattr(settings, "TIMMY_REGIONS_FILE", None),
    )


def parse_daily_at(text):
    """Split "HH:MM" into (hour, minute).

    Raises:
        BackupConfigError: Not a 24-hour "HH:MM" time.
    """
    match = DAILY_AT_PATTERN.fullmatch(str(text).strip())
    if not match:
        raise BackupConfigError(f"BACKUP_DAILY_AT must be a UTC time like \"03:30\", not {text!r}")
    return int(match.group(1)), int(match.group(2))


def _daily_at(value):
    parse_daily_at(value)
    return str(value).strip()


def _count(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
        raise BackupConfigError(f"{name} must be a whole number >= {low}, not {value!r}")
    return int(value)


def _include(paths):
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)):
        raise BackupConfigError("BACKUP_INCLUDE must be a list of paths relative to GAME_DIR")
    cleaned = []
    for path in paths:
        norm = os.path.normpath(str(path))
        if os.path.isabs(norm) or norm == "." or norm.split(os.sep)[0] == "..":
            raise BackupConfigError(f"BACKUP_INCLUDE entry {path!r} must be a path inside GAME_DIR")
        cleaned.append(norm)
    return tuple(cleaned)
