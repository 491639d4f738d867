"""
Heartbeat history: samples in the database, and a daily JSON-lines log.

The database keeps every probe result for HEARTBEAT_HISTORY_DAYS (the
retention bound), which is what `@status <service>`, uptime figures and the
web charts read. Each cycle is also appended to
`server/logs/heartbeat-YYYY-MM-DD.jsonl`, one JSON object per result, for
tools outside the game; that file is written from a thread.
"""

import json
import os
import time

from django.conf import settings
from twisted.internet import threads

from world.servicestate import DEGRADED, UP

DAY = 86400.0


def record(results):
    """Store one cycle's results (on the reactor thread: ORM calls stay here)."""
    from world.models import HeartbeatSample

    HeartbeatSample.objects.bulk_create(
        HeartbeatSample(
            service=result.name,
            state=result.state,
            latency_ms=result.latency_ms,
            reason=result.reason[:200],
            checked_at=result.checked_at,
        )
        for result in results
    )


def prune(now=None):
    """Delete samples older than the retention bound; return how many went."""
    from world.models import HeartbeatSample

    cutoff = (now or time.time()) - settings.HEARTBEAT_HISTORY_DAYS * DAY
    deleted, _ = HeartbeatSample.objects.filter(checked_at__lt=cutoff).delete()
    return deleted


def recent(service, limit=60):
    """The latest `limit` samples of a service, oldest first."""
    from world.models import HeartbeatSample

    rows = HeartbeatSample.objects.filter(service=service).order_by("-checked_at", "-id")[:limit]
    return list(reversed(rows))


def since(service, start):
    """Every sample of a service from `start` (unix time) on, oldest first."""
    from world.models import HeartbeatSample

    return list(HeartbeatSample.objects.filter(service=service, checked_at__gte=start))


def uptime(service, window=DAY, now=None):
    """Fraction of samples in the window that were up or degraded (None: no data)."""
    from world.models import HeartbeatSample

    start = (now or time.time()) - window
    rows = HeartbeatSample.objects.filter(service=service, checked_at__gte=start)
    total = rows.count()
    if not total:
        return None
    good = rows.filter(state__in=(UP, DEGRADED)).count()
    return good / total


def last_error(service):
    """The most recent sample that was not up, or None."""
    from world.models import HeartbeatSample

    return (
        HeartbeatSample.objects.filter(service=service)
        .exclude(state=UP)
        .order_by("-checked_at", "-id")
        .first()
    )


def log_path(when=None):
    """The heartbeat log file for the day of `when`."""
    day = time.strftime("%Y-%m-%d", time.gmtime(when or time.time()))
    return os.path.join(settings.HEARTBEAT_LOG_DIR, f"heartbeat-{day}.jsonl")


def append_log(results):
    """Append one cycle to the daily JSON-lines log, in a thread.

    Returns:
        Deferred: Fires with the path written.
    """
    lines = "".join(json.dumps(result.as_dict(), sort_keys=True) + "\n" for result in results)
    path = log_path(results[0].checked_at if results else None)
    return threads.deferToThread(_append, path, lines)


def _append(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
    return path
