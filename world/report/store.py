"""
The kept reports: one Markdown file per day, with its facts beside it.

    <TIMMY_REPORT_DIR>/                 default <GAME_DIR>/server/logs/reports
        report-2026-11-23.md            the report, for people (and any tool)
        report-2026-11-23.json          its facts (build.py), for @report and the page

Both are written atomically (a temporary file in the same folder, flushed,
then renamed into place), the facts first, so a reader sees a whole file or
none. File names are made only from a `date`, never from raw input. These
functions touch only the disk: callers on the reactor run them in a thread.
"""

import datetime
import json
import os
import re

from world.report.build import FORMAT
from world.report.days import day_text

NAME = re.compile(r"report-(\d{4}-\d{2}-\d{2})\.md")
FILE_MODE = 0o644


def report_dir():
    """The folder reports are kept in (TIMMY_REPORT_DIR, or server/logs/reports)."""
    from django.conf import settings

    folder = getattr(settings, "TIMMY_REPORT_DIR", None) or os.path.join(settings.GAME_DIR, "server", "logs",
                                                                          "reports")
    return os.path.abspath(folder)


def path_for(folder, day, extension="md"):
    """The file of one day's report ("md" or "json")."""
    if not isinstance(day, datetime.date):
        raise TypeError("a report file is named by a date")
    return os.path.join(folder, f"report-{day_text(day)}.{extension}")


def write_report(folder, day, facts, markdown_text):
    """Keep one day's report: its facts, then its Markdown (each atomically).

    Returns:
        str: The Markdown file's path.

    Raises:
        OSError: The folder or a file could not be written.
    """
    os.makedirs(folder, exist_ok=True)
    _write_atomic(path_for(folder, day, "json"), json.dumps(facts, sort_keys=True, indent=1) + "\n")
    path = path_for(folder, day, "md")
    _write_atomic(path, markdown_text)
    return path


def _write_atomic(path, text):
    folder = os.path.dirname(path)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_facts(folder, day):
    """The stored facts of a day, or None (missing, unreadable, or not a report of that day)."""
    try:
        with open(path_for(folder, day, "json"), encoding="utf-8") as handle:
            facts = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(facts, dict) or facts.get("format") != FORMAT or facts.get("day") != day_text(day):
        return None
    return facts


def read_markdown(folder, day):
    """The stored Markdown of a day, or None."""
    try:
        with open(path_for(folder, day, "md"), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def load(folder, day):
    """What is kept of a day: {"facts": dict or None, "markdown": str or None}."""
    return {"facts": read_facts(folder, day), "markdown": read_markdown(folder, day)}


def stored_days(folder, limit=None):
    """The days with a kept report, newest first."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    days = []
    for name in names:
        match = NAME.fullmatch(name)
        if match:
            try:
                days.append(datetime.date.fromisoformat(match.group(1)))
            except ValueError:
                continue
    days.sort(reverse=True)
    return days[:limit] if limit else days
