"""
When the daily backup is due.

The daily time (BACKUP_DAILY_AT, UTC) defines one slot per day. A backup is
due when the most recent slot is later than the last scheduled run, so a
server that was down at 03:30 catches up at its next check, and a run is
never repeated for the same slot. A schedule that has never run starts
counting from now (the first slot after the server first starts).
"""

import calendar
import time

from world.backup.config import parse_daily_at

DAY = 86400


def last_slot(now, daily_at):
    """Unix time of the most recent daily slot at or before `now`."""
    hour, minute = parse_daily_at(daily_at)
    day = time.gmtime(now)
    midnight = calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0))
    slot = midnight + hour * 3600 + minute * 60
    return slot if slot <= now else slot - DAY


def next_slot(now, daily_at):
    """Unix time of the next daily slot after `now`."""
    return last_slot(now, daily_at) + DAY


def is_due(now, daily_at, last_run_at):
    """True if a slot has passed since the last scheduled run.

    Args:
        now (float): Current unix time.
        daily_at (str): "HH:MM" UTC.
        last_run_at (float or None): When the schedule last ran (None: never).
    """
    if last_run_at is None:
        return False
    return last_slot(now, daily_at) > last_run_at
