"""
Retention: which backups to keep, and pruning the rest.

`plan_retention()` is a pure function of the catalogue:

- Nothing is deleted until a backup has verified. Only backups older than
  the newest verified backup can be deleted, so the newest verified backup
  and everything newer (not yet verified) are always kept, and pruning only
  happens after a newer backup has verified.
- BACKUP_KEEP_DAILY: for each of the last N UTC days that have backups, the
  newest verified backup of that day (or the newest not known to be bad).
- BACKUP_KEEP_WEEKLY: the same for the last M ISO weeks.
- Backups that failed verification and broken folders take no slot.

`prune()` applies the plan under the backup lock. Each doomed folder is first
renamed to `.deleting-<id>` (so a half-deleted backup is never listed), then
removed.
"""

import datetime
import os
from dataclasses import dataclass, field

from world.backup import store
from world.backup.fsutil import BackupLock, fsync_dir, remove_tree

DELETING_PREFIX = ".deleting-"


@dataclass
class RetentionPlan:
    """Which backups stay (with why) and which go."""

    keep: dict = field(default_factory=dict)
    delete: list = field(default_factory=list)
    note: str = ""


@dataclass
class PruneReport:
    """What a prune did (or would do, for a dry run)."""

    plan: RetentionPlan
    deleted: list = field(default_factory=list)
    freed_bytes: int = 0
    dry_run: bool = False


def day_key(timestamp):
    """The UTC day of a unix time: '2026-11-24'."""
    return _utc(timestamp).strftime("%Y-%m-%d")


def week_key(timestamp):
    """The ISO week (UTC) of a unix time: '2026-W48'."""
    iso = _utc(timestamp).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _utc(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)


def plan_retention(entries, keep_daily, keep_weekly):
    """Decide what to keep.

    Args:
        entries (list): BackupEntry objects, oldest first (store.scan()).
        keep_daily (int): Days to keep one backup for.
        keep_weekly (int): ISO weeks to keep one backup for.

    Returns:
        RetentionPlan: keep maps id -> reasons; delete lists ids, oldest first.
    """
    plan = RetentionPlan()
    verified = [entry for entry in entries if entry.valid and entry.verified]
    if not verified:
        plan.keep = {entry.id: ["no backup has verified yet"] for entry in entries}
        plan.note = "No backup has verified yet, so nothing is pruned."
        return plan
    newest_verified = verified[-1]
    position = entries.index(newest_verified)
    _add(plan, newest_verified, "newest verified")
    for entry in entries[position + 1:]:
        _add(plan, entry, "newer than the newest verified backup")
    candidates = [entry for entry in entries if entry.valid and not entry.verify_failed]
    for entry in _newest_per_period(candidates, day_key, keep_daily):
        _add(plan, entry, "daily")
    for entry in _newest_per_period(candidates, week_key, keep_weekly):
        _add(plan, entry, "weekly")
    plan.delete = [entry.id for entry in entries[:position] if entry.id not in plan.keep]
    return plan


def _add(plan, entry, reason):
    plan.keep.setdefault(entry.id, []).append(reason)


def _newest_per_period(entries, period_of, count):
    """For the `count` most recent periods: the newest verified entry, else the newest."""
    chosen = {}
    for entry in entries:  # oldest first, so later ones win
        period = period_of(entry.created)
        best = chosen.get(period)
        if best is None or entry.verified or not best.verified:
            chosen[period] = entry
    periods = sorted(chosen, reverse=True)[:max(0, count)]
    return [chosen[period] for period in periods]


def prune(config, dry_run=False):
    """Delete the backups retention does not keep.

    Returns:
        PruneReport: The plan and what was deleted.

    Raises:
        BackupBusy: Another backup, prune or restore is running.
    """
    with BackupLock(config.backup_dir, "prune"):
        entries = store.scan(config)
        plan = plan_retention(entries, config.keep_daily, config.keep_weekly)
        report = PruneReport(plan, dry_run=dry_run)
        if dry_run:
            return report
        sizes = {entry.id: entry.size for entry in entries}
        for backup_id in plan.delete:
            doomed = os.path.join(config.backup_dir, DELETING_PREFIX + backup_id)
            os.rename(config.backup_path(backup_id), doomed)
            fsync_dir(config.backup_dir)
            remove_tree(doomed)
            report.deleted.append(backup_id)
            report.freed_bytes += sizes.get(backup_id, 0)
        for leftover in deleting_folders(config):
            remove_tree(leftover)
    return report


def deleting_folders(config):
    """Folders left by a prune that was killed while deleting."""
    try:
        names = os.listdir(config.backup_dir)
    except FileNotFoundError:
        return []
    return [os.path.join(config.backup_dir, name) for name in names if name.startswith(DELETING_PREFIX)]
