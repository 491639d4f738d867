"""
The catalogue: which backups exist in BACKUP_DIR and what is known of each.

A backup is a folder named by its id (see world/backup/ids.py):

    <BACKUP_DIR>/                   0700
        .lock                       the operation lock (fsutil.BackupLock)
        .partial-<id>/              a backup being written (or left by a killed run)
        <id>/                       0700, a finished backup
            manifest.json           0600, written last, never changed
            database.sqlite3        0600, the database snapshot
            files/<path>            0600, configuration, secrets, agent data
            verify.json, drill.json 0600, sidecar records (world/backup/records.py)

Only folders whose name is a valid id are looked at. One with a valid
manifest is a backup; one without is listed as broken (it can only appear if
a finished backup was damaged) and is never `latest`, never restored.
"""

import calendar
import os
import time
from dataclasses import dataclass

from world.backup import ids
from world.backup.errors import BackupNotFound
from world.backup.manifest import load_manifest
from world.backup.records import DRILL_NAME, VERIFY_NAME, read_record

PARTIAL_PREFIX = ".partial-"


@dataclass
class BackupEntry:
    """One backup folder and what its manifest and records say."""

    id: str
    path: str
    manifest: dict = None
    problem: str = None
    verify: dict = None
    drill: dict = None

    @property
    def valid(self):
        """True if the manifest is present and intact."""
        return self.manifest is not None

    @property
    def created(self):
        """Unix time the backup started (from the manifest, else from the id)."""
        if self.manifest:
            return float(self.manifest["created_unix"])
        return float(calendar.timegm(time.strptime(self.id[:16], "%Y%m%dT%H%M%SZ")))

    @property
    def size(self):
        """Bytes of all files in the manifest (0 if broken)."""
        if not self.manifest:
            return 0
        return sum(entry["size"] for entry in self.manifest["files"])

    @property
    def verified(self):
        """True if the latest verification passed."""
        return bool(self.verify and self.verify["ok"])

    @property
    def verify_failed(self):
        """True if the latest verification failed."""
        return bool(self.verify and not self.verify["ok"])


def load_entry(config, backup_id):
    """Read one backup folder (the id must be valid); None if it does not exist."""
    path = config.backup_path(ids.check_id(backup_id))
    if not os.path.isdir(path):
        return None
    manifest, problem = load_manifest(path, backup_id)
    return BackupEntry(
        id=backup_id,
        path=path,
        manifest=manifest,
        problem=problem,
        verify=read_record(path, VERIFY_NAME),
        drill=read_record(path, DRILL_NAME),
    )


def scan(config):
    """Every backup folder, oldest first (broken ones included)."""
    try:
        names = os.listdir(config.backup_dir)
    except FileNotFoundError:
        return []
    entries = []
    for name in sorted((n for n in names if ids.is_valid_id(n)), key=ids.id_sort_key):
        entry = load_entry(config, name)
        if entry is not None:
            entries.append(entry)
    return entries


def valid_backups(config):
    """The backups with an intact manifest, oldest first."""
    return [entry for entry in scan(config) if entry.valid]


def latest(config):
    """The newest backup with an intact manifest, or None."""
    found = valid_backups(config)
    return found[-1] if found else None


def find(config, backup_id):
    """The backup named `backup_id` (or `latest`).

    Raises:
        BackupInputError: The id is malformed.
        BackupNotFound: There is no such backup.
    """
    ids.check_id(backup_id, allow_latest=True)
    if backup_id == ids.LATEST:
        entry = latest(config)
        if entry is None:
            raise BackupNotFound("There are no backups yet.")
        return entry
    entry = load_entry(config, backup_id)
    if entry is None:
        raise BackupNotFound(f"There is no backup {backup_id} (see the backup list).")
    return entry


def partial_folders(config):
    """Folders of unfinished backups (being written, or left by a killed run)."""
    try:
        names = os.listdir(config.backup_dir)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(config.backup_dir, name) for name in names
                  if name.startswith(PARTIAL_PREFIX))


def taken_names(config):
    """Every name in BACKUP_DIR that a new id must not collide with."""
    try:
        names = os.listdir(config.backup_dir)
    except FileNotFoundError:
        return set()
    return {name[len(PARTIAL_PREFIX):] if name.startswith(PARTIAL_PREFIX) else name for name in names}
