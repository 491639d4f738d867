"""
Backup health for `@status` and the heartbeat: is there a recent, verified backup?

`backup_health()` only reads the backup folder (a directory listing and a few
small JSON files per backup), never the database, so it is cheap; it does
touch the disk, so code on the reactor that calls it often may prefer a thread.

    down      no backup at all; the latest is older than BACKUP_STALE_AFTER; or
              the latest failed verification and no recent verified one exists
    degraded  the latest is not verified yet; its last drill failed; or it
              failed verification but an older verified one is still recent
    up        the latest backup is recent and verified
"""

import time
from dataclasses import dataclass

from world.backup import store
from world.backup.config import BackupConfigError, load_config
from world.servicestate import DEGRADED, DOWN, UP


@dataclass(frozen=True)
class BackupHealth:
    """The state of the backups, as one service."""

    state: str
    reason: str
    age: float = None
    verified: bool = False
    latest_id: str = None


def backup_health(config=None, now=None):
    """Say whether the world has a recent, verified backup.

    Args:
        config (BackupConfig, optional): Defaults to the settings' configuration.
        now (float, optional): Unix time to measure ages against.

    Returns:
        BackupHealth: state "up", "degraded" or "down" with a one-line reason.
    """
    now = time.time() if now is None else now
    try:
        config = config or load_config()
    except BackupConfigError as err:
        return BackupHealth(DOWN, f"backup settings are invalid: {err}")
    try:
        entries = store.valid_backups(config)
    except OSError as err:
        return BackupHealth(DOWN, f"cannot read the backup folder: {err.strerror or err}")
    if not entries:
        return BackupHealth(DOWN, "no backup yet")
    latest = entries[-1]
    age = max(0.0, now - latest.created)
    state, reason = _judge(config, entries, latest, age, now)
    return BackupHealth(state, reason, age, latest.verified, latest.id)


def _judge(config, entries, latest, age, now):
    """(state, reason) for the latest backup."""
    when = f"{latest.id}, {_age(age)} ago"
    if latest.verify_failed:
        good = [entry for entry in entries if entry.verified]
        if good and now - good[-1].created <= config.stale_after:
            return DEGRADED, f"latest backup {when} failed verification; {good[-1].id} is good"
        return DOWN, f"latest backup {when} failed verification"
    if age > config.stale_after:
        return DOWN, f"latest backup {when}: stale (over {_age(config.stale_after)})"
    if not latest.verified:
        return DEGRADED, f"latest backup {when}, not verified yet"
    if latest.drill and not latest.drill["ok"]:
        return DEGRADED, f"latest backup {when}, verified, but its drill failed"
    drilled = ", drill ok" if latest.drill else ""
    return UP, f"latest backup {when}, verified{drilled}"


def _age(seconds):
    from world.presentation import age_text

    return age_text(seconds)
