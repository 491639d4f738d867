"""
UTC days for the daily report: parsing, bounds, and when a report is due.

A day is a `datetime.date` in UTC. Text from a player becomes a day only
through `parse_day`, which accepts exactly "YYYY-MM-DD" and a real date, so
a day can safely name a file.

The daily time (TIMMY_REPORT_AT, "HH:MM" UTC) defines one slot per day; at
each slot the report of the day before is due. `day_due` answers with the
one day to report (the most recent one), so a server that was down for a
week catches up once, not seven times.
"""

import calendar
import datetime
import re
import time

DAY = 86400
DEFAULT_REPORT_AT = "06:00"
DAY_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME_PATTERN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class BadDay(ValueError):
    """Text that is not a date like 2026-11-23."""


class FutureDay(ValueError):
    """A day that has not happened yet (UTC)."""


class BadReportTime(ValueError):
    """A TIMMY_REPORT_AT that is not a UTC time like "06:00"."""


def parse_day(text):
    """A "YYYY-MM-DD" string as a date.

    Raises:
        BadDay: Anything else, including impossible dates like 2026-13-45.
    """
    text = str(text or "").strip()
    if not DAY_PATTERN.fullmatch(text):
        raise BadDay(text)
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as err:
        raise BadDay(text) from err


def today(now=None):
    """The current UTC day."""
    return day_of(time.time() if now is None else now)


def day_of(timestamp):
    """The UTC day a unix time falls in."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).date()


def day_text(day):
    """A day as "YYYY-MM-DD"."""
    return day.isoformat()


def bounds(day):
    """(start, end) unix times of a UTC day: [00:00, next 00:00)."""
    start = calendar.timegm((day.year, day.month, day.day, 0, 0, 0))
    return float(start), float(start + DAY)


def check_past_or_today(day, now=None):
    """Return `day` if it has begun (UTC).

    Raises:
        FutureDay: It has not.
    """
    if day > today(now):
        raise FutureDay(day_text(day))
    return day


def parse_report_at(text):
    """Split "HH:MM" into (hour, minute).

    Raises:
        BadReportTime: Not a 24-hour "HH:MM" time.
    """
    match = TIME_PATTERN.fullmatch(str(text).strip())
    if not match:
        raise BadReportTime(f'TIMMY_REPORT_AT must be a UTC time like "06:00", not {text!r}')
    return int(match.group(1)), int(match.group(2))


def last_slot(now, report_at):
    """Unix time of the most recent daily slot at or before `now`."""
    hour, minute = parse_report_at(report_at)
    start, _end = bounds(day_of(now))
    slot = start + hour * 3600 + minute * 60
    return slot if slot <= now else slot - DAY


def day_due(now, report_at, last_reported):
    """The day whose report is due now, or None.

    Args:
        now (float): Unix time.
        report_at (str): "HH:MM" UTC.
        last_reported (str or None): "YYYY-MM-DD" of the last day reported.

    Returns:
        date or None: The day before the most recent slot, if that day is
            later than the last one reported (only ever one day: no backlog).
    """
    due = day_of(last_slot(now, report_at)) - datetime.timedelta(days=1)
    if last_reported is not None:
        try:
            if parse_day(last_reported) >= due:
                return None
        except BadDay:
            pass  # an unreadable mark: report the due day (once) and overwrite it
    return due
