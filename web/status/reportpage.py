"""
The daily report page: which day, and what the template shows.

The facts and their wording come from world/report (the same phrases as
`@report` and the kept Markdown file); the template escapes every value.
A day in the address that is not a date like 2026-11-23, or has not begun
yet (UTC), is a 404.
"""

import datetime
import time

from django.http import Http404

from world.report import days, render, service, store

KEPT_DAYS_LISTED = 14


def day_or_404(text, now=None):
    """The day named in the address (today when none), or Http404."""
    if text is None:
        return days.today(now)
    try:
        return days.check_past_or_today(days.parse_day(text), now)
    except (days.BadDay, days.FutureDay) as err:
        raise Http404("There is no report for that day.") from err


def context(day, now=None):
    """Everything the report template needs for `day`."""
    now = time.time() if now is None else now
    found = service.page_report(day, now)
    current = days.today(now)
    following = day + datetime.timedelta(days=1)
    return {
        "day": days.day_text(day),
        "is_today": day == current,
        "report": render.display(found["facts"]) if found["facts"] is not None else None,
        "markdown": found["markdown"] if found["facts"] is None else None,
        "stored": found["stored"],
        "previous": days.day_text(day - datetime.timedelta(days=1)) if day > datetime.date.min else None,
        "next": days.day_text(following) if following <= current else None,
        "kept_days": [days.day_text(kept) for kept in store.stored_days(store.report_dir(), KEPT_DAYS_LISTED)],
    }


def markdown(day, now=None):
    """The report of `day` as Markdown: the kept file, or made now."""
    found = service.page_report(day, now)
    if found["markdown"] is not None:
        return found["markdown"]
    return render.markdown(found["facts"])
