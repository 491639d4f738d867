"""
The facts the status page and the JSON API show, as plain data.

Everything here reads the operations layer (`world.*`) and returns plain
dicts and lists of numbers and strings, ready for a template or for JSON.
Text that came from players, agents or probes (incident summaries, reasons)
is cleaned with `world.presentation.plain_text`; templates escape it again.
Nothing secret is ever read into these structures: no tokens, no passwords,
no URLs that might carry credentials.

`agents_summary()` and `backup_summary()` are the one place the page reads
the agents and the backups from; change them there when those systems grow.
"""

import time
from datetime import datetime, timezone

from django.conf import settings

from web.status import charts
from world import servicestate
from world.heartbeat import history
from world.plaintext import is_number
from world.presentation import age_text, latency_text, plain_text

DAY = 86400.0
REASON_LIMIT = 120
SUMMARY_LIMIT = 200
DEFAULT_HOURS = 24
# The heartbeat counts as stale after this many missed intervals.
STALE_BEATS = 3
# The latency line is broken across a stretch without samples longer than
# this many heartbeat intervals (or buckets, whichever is longer).
GAP_BEATS = 3


class UnknownService(LookupError):
    """A service name that is not among the configured checks."""


class BadHours(ValueError):
    """An `hours` value that is not a whole number in the allowed range."""


def iso(timestamp):
    """Unix time as ISO 8601 UTC ('2027-01-15T08:00:00Z'), or None."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rounded(value, digits=1):
    return None if value is None else round(float(value), digits)


def _age(now, timestamp):
    return None if timestamp is None else max(0.0, now - timestamp)


def service_names():
    """The configured services, in settings order (as `@status` lists them)."""
    from world.status_report import service_names as names

    return names()


def max_hours():
    """The longest history window the API accepts, in hours (the retention bound)."""
    return int(getattr(settings, "HEARTBEAT_HISTORY_DAYS", 7)) * 24


def parse_hours(raw, default=DEFAULT_HOURS):
    """Validate the `hours` query parameter.

    Args:
        raw (str or None): The parameter as sent; None or "" means the default.
        default (int): Hours when nothing was sent.

    Returns:
        int: Whole hours between 1 and `max_hours()`.

    Raises:
        BadHours: Not a whole number, or out of range; the message says which.
    """
    if raw is None or str(raw).strip() == "":
        return default
    text = str(raw).strip()
    if not is_number(text) or len(text) > 6:
        raise BadHours(f"hours must be a whole number from 1 to {max_hours()}")
    hours = int(text)
    if not 1 <= hours <= max_hours():
        raise BadHours(f"hours must be between 1 and {max_hours()}")
    return hours


def service_row(name, now):
    """One service as the status table shows it.

    Args:
        name (str): The service.
        now (float): Unix time.

    Returns:
        dict: name, state, latency, reason, check and since times and ages,
            24 h uptime (a fraction, or None without data).
    """
    state = servicestate.current(name)
    checked_age = state.age(now)
    since_age = _age(now, state.since)
    uptime = history.uptime(name, DAY, now)
    return {
        "name": name,
        "state": state.state,
        "latency_ms": _rounded(state.latency_ms),
        "latency_text": latency_text(state.latency_ms),
        "reason": plain_text(state.reason, REASON_LIMIT),
        "checked_at": state.checked_at,
        "checked_at_iso": iso(state.checked_at),
        "checked_age_seconds": _rounded(checked_age),
        "checked_age_text": "never" if checked_age is None else f"{age_text(checked_age)} ago",
        "since": state.since,
        "since_age_seconds": _rounded(since_age),
        "since_age_text": "-" if since_age is None else age_text(since_age),
        "uptime_24h": _rounded(uptime, 4),
        "uptime_24h_text": uptime_text(uptime),
    }


def uptime_text(fraction):
    """An uptime fraction as '99.3%' (or 'no data')."""
    return "no data" if fraction is None else f"{fraction * 100:.1f}%"


def services(now):
    """Every configured service, as `service_row` dicts."""
    return [service_row(name, now) for name in service_names()]


def agents_summary(now=None):
    """Each agent: online or not, its mode and goal, its last sign of life.

    Reads the AgentCharacters (world.agentfleet), as `@status` does.

    Returns:
        list: Dicts with name, online, state ("online"/"offline"), mode,
            goal, last_seen and last_seen_text, by name; empty without agents.
    """
    from world.agentfleet import agent_characters

    now = now or time.time()
    rows = []
    for name, agent in sorted(agent_characters().items()):
        last_seen = agent.last_seen if isinstance(agent.last_seen, (int, float)) else None
        rows.append({
            "name": plain_text(name, 40),
            "online": agent.online,
            "state": "online" if agent.online else "offline",
            "mode": plain_text(agent.mode, 20),
            "goal": plain_text(agent.current_goal, 80),
            "last_seen": last_seen,
            "last_seen_text": "never" if last_seen is None else f"{age_text(_age(now, last_seen))} ago",
        })
    return rows


def backup_summary():
    """The latest backup, as the `backup` service's ServiceState.

    Returns:
        ServiceState: Never None (`unknown` until the backup check has run).
    """
    return servicestate.current("backup")


def backups(now):
    """The backup summary as plain data."""
    state = backup_summary()
    return {
        "state": state.state,
        "reason": plain_text(state.reason, REASON_LIMIT),
        "checked_at": state.checked_at,
        "checked_at_iso": iso(state.checked_at),
        "checked_age_text": "never" if state.checked_at is None else f"{age_text(state.age(now))} ago",
    }


def incident_row(incident, now):
    """One open incident as plain data (summary cleaned)."""
    age = _age(now, incident.opened_at)
    return {
        "id": incident.id,
        "severity": incident.severity,
        "level": incident.level,
        "state": incident.state,
        "owner": plain_text(incident.owner, 80),
        "summary": plain_text(incident.summary, SUMMARY_LIMIT),
        "opened_at": incident.opened_at,
        "opened_at_iso": iso(incident.opened_at),
        "age_seconds": _rounded(age),
        "age_text": age_text(age),
        "trigger_count": incident.trigger_count,
    }


def incidents(now):
    """Open incidents (most severe and oldest first)."""
    from world.incidents import core

    return [incident_row(incident, now) for incident in core.open_incidents()]


def escalation():
    """Whether level 3 reaches Gitea, and the outbox backlog (never the token or URL)."""
    from world.incidents import config, outbox

    configured = config.gitea_configured()
    queued = outbox.counts() if configured else {"pending": 0, "dead": 0}
    return {
        "gitea_configured": configured,
        "repo": plain_text(getattr(settings, "GITEA_REPO", ""), 100) if configured else None,
        "pending": queued["pending"],
        "dead": queued["dead"],
    }


def silenced(now):
    """Services in a maintenance window right now."""
    from world.incidents import silences

    return [
        {"service": s.service, "until": s.until, "until_iso": iso(s.until), "reason": plain_text(s.reason, 100)}
        for s in silences.active(now)
    ]


def heartbeat(now):
    """How long ago the heartbeat last beat, and how often it beats."""
    from world.heartbeat.service import heartbeat_age, heartbeat_script

    script = heartbeat_script()
    interval = script.interval if script else getattr(settings, "HEARTBEAT_INTERVAL", 60)
    age = heartbeat_age(now)
    return {
        "last_beat_age_seconds": _rounded(age),
        "last_beat_text": "never yet" if age is None else f"{age_text(age)} ago",
        "interval_seconds": interval,
        "stale": age is None or age > STALE_BEATS * interval,
    }


def snapshot(now=None):
    """Everything `@status` shows, as one JSON-ready dict.

    Args:
        now (float, optional): Unix time; the current time by default.

    Returns:
        dict: server, generated_at, heartbeat, services, agents, incidents,
            escalation, silenced, backups.
    """
    now = now or time.time()
    return {
        "server": settings.SERVERNAME,
        "generated_at": now,
        "generated_at_iso": iso(now),
        "heartbeat": heartbeat(now),
        "services": services(now),
        "agents": agents_summary(now),
        "incidents": incidents(now),
        "escalation": escalation(),
        "silenced": silenced(now),
        "backups": backups(now),
    }


def check_service(name):
    """Raise UnknownService unless `name` is a configured service."""
    if name not in service_names():
        raise UnknownService(name)


def service_history(name, hours=DEFAULT_HOURS, now=None):
    """One service's history, downsampled to buckets, with its uptime.

    Args:
        name (str): A configured service.
        hours (int): The window, ending now.
        now (float, optional): Unix time.

    Returns:
        dict: service, hours, from/to, bucket_seconds, uptime, sample count and
            the non-empty buckets (start, state, mean and max latency, samples).

    Raises:
        UnknownService: `name` is not configured.
    """
    check_service(name)
    now = now or time.time()
    start = now - hours * 3600.0
    samples = history.since(name, start)
    bucket_seconds = charts.bucket_seconds_for(hours * 3600.0)
    buckets = charts.bucketize(samples, start, now, bucket_seconds)
    uptime = history.uptime(name, hours * 3600.0, now)
    return {
        "service": name,
        "hours": hours,
        "from": start,
        "from_iso": iso(start),
        "to": now,
        "to_iso": iso(now),
        "bucket_seconds": bucket_seconds,
        "uptime": _rounded(uptime, 4),
        "samples": len(samples),
        "buckets": [
            {
                "start": bucket.start,
                "start_iso": iso(bucket.start),
                "state": bucket.state,
                "latency_ms": _rounded(bucket.latency_ms),
                "max_latency_ms": _rounded(bucket.max_latency_ms),
                "samples": bucket.count,
            }
            for bucket in buckets
            if bucket.count
        ],
    }


def service_panels(now=None, hours=DEFAULT_HOURS):
    """Per service: the chart geometry and uptime figures the page draws.

    Returns:
        list: Dicts with name, state, chart (a charts.Chart), uptime_24h_text,
            uptime_week_text and samples.
    """
    now = now or time.time()
    start = now - hours * 3600.0
    week = getattr(settings, "HEARTBEAT_HISTORY_DAYS", 7) * DAY
    bucket_seconds = charts.bucket_seconds_for(hours * 3600.0)
    max_gap = GAP_BEATS * max(bucket_seconds, heartbeat(now)["interval_seconds"] or 0)
    panels = []
    for name in service_names():
        samples = history.since(name, start)
        buckets = charts.bucketize(samples, start, now, bucket_seconds)
        title = f"{name}: latency and availability, last {hours} h"
        panels.append({
            "name": name,
            "state": servicestate.current(name).state,
            "chart": charts.chart(buckets, start, now, title, max_gap_seconds=max_gap),
            "uptime_24h_text": uptime_text(history.uptime(name, DAY, now)),
            "uptime_week_text": uptime_text(history.uptime(name, week, now)),
            "week_days": int(week // DAY),
            "samples": len(samples),
        })
    return panels
