"""
The facts of one UTC day, as one JSON-ready dict.

`collect(day, now)` reads the heartbeat history, the incidents and their
timelines, the backup folder and the agents, and returns plain data that
render.py turns into text, Markdown or HTML and store.py keeps as JSON:

    {"format": 1, "day": "2026-11-23", "server": ..., "generated_at": t,
     "start": t, "end": t, "until": t, "complete": bool,
     "services": [...], "incidents": {...}, "backups": {...}, "agents": [...]}

A day that is not over is reported "so far" (`until` is now, `complete`
False). ORM reads must run on the reactor thread; the backup folder is read
by `scan_backups`, which touches only the disk, so callers on the reactor
run it in a thread and pass its result in. Text that came from players,
agents or probes goes through plain_text here.
"""

import statistics
import time

from django.conf import settings

from world.presentation import plain_text
from world.report import activity
from world.report.days import bounds, day_text
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

FORMAT = 1
GOOD_STATES = (UP, DEGRADED)
STATE_RANK = {DOWN: 3, DEGRADED: 2, UNKNOWN: 1, UP: 0}
INCIDENTS_LISTED = 30
SUMMARY_LIMIT = 120
DECISIONS_SHOWN = 8
NOTES_SHOWN = 5


def collect(day, now=None, backups=None, ledger=None, snapshots=None):
    """Every fact of the report for `day`.

    Args:
        day (date): A UTC day that has begun.
        now (float, optional): Unix time; the report covers the day up to now.
        backups (dict, optional): From `scan_backups` (read now if not given).
        ledger (dict, optional): The agents' activity ledger (see activity.py).
        snapshots (list, optional): Agent snapshots (read now if not given).

    Returns:
        dict: The facts (see the module docstring).
    """
    now = time.time() if now is None else now
    start, end = bounds(day)
    until = min(end, now)
    backups = scan_backups() if backups is None else backups
    snapshots = activity.live_snapshots() if snapshots is None else snapshots
    return {
        "format": FORMAT,
        "day": day_text(day),
        "server": plain_text(getattr(settings, "SERVERNAME", "Timmy World"), 60),
        "generated_at": now,
        "start": start,
        "end": end,
        "until": until,
        "complete": now >= end,
        "services": service_facts(start, until),
        "incidents": incident_facts(start, until, now),
        "backups": backup_facts(backups, start, until),
        "agents": agent_facts(day, activity.observe(ledger, snapshots, now)),
    }


# ---------------------------------------------------------------- services


def service_facts(start, until):
    """Per service: samples, uptime (up or degraded), states, worst state, longest outage."""
    from world.models import HeartbeatSample
    from world.status_report import service_names

    rows = (HeartbeatSample.objects.filter(checked_at__gte=start, checked_at__lt=until)
            .order_by("checked_at", "id").values_list("service", "state", "checked_at"))
    by_service = {}
    for service, state, checked_at in rows:
        by_service.setdefault(service, []).append((state, checked_at))
    names = list(service_names())
    names += sorted(name for name in by_service if name not in names)
    return [_service(name, by_service.get(name, [])) for name in names]


def _service(name, samples):
    states = {}
    for state, _at in samples:
        states[state] = states.get(state, 0) + 1
    good = sum(count for state, count in states.items() if state in GOOD_STATES)
    return {
        "name": plain_text(name, 40),
        "samples": len(samples),
        "uptime": good / len(samples) if samples else None,
        "states": states,
        "worst": max(states, key=lambda s: STATE_RANK.get(s, STATE_RANK[UNKNOWN])) if states else None,
        "outage": longest_outage(samples),
    }


def longest_outage(samples):
    """The longest run of `down` samples, or None.

    Args:
        samples (list): (state, checked_at) pairs, oldest first.

    Returns:
        dict or None: start, seconds (to the next sample that was not down,
            or to the run's last sample when nothing came after it) and samples.
    """
    best, run = None, None
    for state, at in samples + [(None, None)]:
        if state == DOWN:
            run = run or {"start": at, "last": at, "samples": 0}
            run["last"], run["samples"] = at, run["samples"] + 1
            continue
        if run:
            seconds = (at if at is not None else run["last"]) - run["start"]
            if best is None or seconds > best["seconds"]:
                best = {"start": run["start"], "seconds": seconds, "samples": run["samples"]}
            run = None
    return best


# --------------------------------------------------------------- incidents


def incident_facts(start, until, now):
    """Incidents opened, resolved and still open; time to acknowledge; highest level.

    Time to acknowledge is the first "acknowledged" event of each incident
    opened in the window, minus its opening time (as known at `now`). The
    level is the one an incident had at `until` (later climbs undone).
    """
    from django.db.models import Q

    from world.models import Incident, IncidentEvent

    incidents = list(Incident.objects.filter(opened_at__lt=until)
                     .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)).order_by("opened_at", "id"))
    acks, climbs_after = {}, {}
    events = (IncidentEvent.objects.filter(incident__in=[i.id for i in incidents],
                                           kind__in=("acknowledged", "escalated"), at__lte=now)
              .order_by("at", "id").values_list("incident_id", "kind", "at"))
    for incident_id, kind, at in events:
        if kind == "acknowledged":
            acks.setdefault(incident_id, at)
        elif at >= until:
            climbs_after[incident_id] = climbs_after.get(incident_id, 0) + 1
    rows = [_incident(i, start, until, acks.get(i.id), climbs_after.get(i.id, 0)) for i in incidents]
    opened = [row for row in rows if row["opened_in_day"]]
    waits = [row["ack_seconds"] for row in opened if row["ack_seconds"] is not None]
    highest = max(rows, key=lambda row: (row["level"], -row["id"]), default=None)
    return {
        "opened": len(opened),
        "resolved": sum(1 for row in rows if row["resolved_in_day"]),
        "open_at_end": sum(1 for row in rows if row["state"] != "resolved"),
        "acknowledged": len(waits),
        "ack_median": statistics.median(waits) if waits else None,
        "ack_max": max(waits) if waits else None,
        "highest_level": highest["level"] if highest else None,
        "highest_level_id": highest["id"] if highest else None,
        "list": rows[-INCIDENTS_LISTED:],
        "not_listed": max(0, len(rows) - INCIDENTS_LISTED),
    }


def _incident(incident, start, until, acked_at, climbs_after):
    resolved = incident.resolved_at is not None and incident.resolved_at < until
    acked = acked_at is not None and acked_at < until
    return {
        "id": incident.id,
        "severity": plain_text(incident.severity, 2),
        "summary": plain_text(incident.summary, SUMMARY_LIMIT),
        "service": plain_text(incident.service, 40),
        "owner": plain_text(incident.owner, 40),
        "level": max(1, incident.level - climbs_after),
        "state": "resolved" if resolved else ("acknowledged" if acked else "open"),
        "opened_at": incident.opened_at,
        "opened_in_day": start <= incident.opened_at < until,
        "resolved_at": incident.resolved_at if resolved else None,
        "resolved_in_day": resolved and incident.resolved_at >= start,
        "ack_seconds": max(0.0, acked_at - incident.opened_at) if acked_at is not None else None,
    }


# ----------------------------------------------------------------- backups


def scan_backups():
    """The backup folder's entries (disk only: safe in a worker thread).

    Returns:
        dict: {"entries": [BackupEntry, ...], "error": None} or, when the
            settings or the folder cannot be read, {"entries": [], "error": text}.
    """
    from world.backup import store
    from world.backup.config import BackupConfigError, load_config

    try:
        return {"entries": store.scan(load_config()), "error": None}
    except BackupConfigError as err:
        return {"entries": [], "error": f"backup settings are invalid: {err}"}
    except OSError as err:
        return {"entries": [], "error": f"cannot read the backup folder: {err.strerror or err}"}


def backup_facts(scan, start, until):
    """Backups made in the window (id, time, size, verified) and drills run in it."""
    from world.backup.report import verified_cell

    made, drills = [], []
    for entry in scan["entries"]:
        if start <= entry.created < until:
            made.append({"id": entry.id, "created": entry.created, "size": entry.size,
                         "verified": verified_cell(entry)})
        drill = entry.drill or {}
        if isinstance(drill.get("at"), (int, float)) and start <= drill["at"] < until:
            problems = drill.get("problems") or []
            drills.append({"id": entry.id, "at": drill["at"], "ok": bool(drill.get("ok")),
                           "problem": plain_text(problems[0], 120) if problems else ""})
    drills.sort(key=lambda item: item["at"])
    return {"made": made, "drills": drills, "error": scan.get("error")}


# ------------------------------------------------------------------ agents


def agent_facts(day, ledger):
    """Per agent: decisions that day, goal, tokens, that day's decisions and notebook lines."""
    from world.agentfleet import agent_characters

    live = agent_characters()
    key = day_text(day)
    seen = ledger.get("days", {}).get(key, {})
    rows = []
    for name in sorted(set(live) | set(seen)):
        entry = seen.get(name, {})
        agent = live.get(name)
        rows.append({
            "name": plain_text(name, 40),
            "decisions": entry.get("decisions", 0),
            "goal": entry.get("goal", ""),
            "mode": entry.get("mode", ""),
            "tokens_total": agent.tokens_used if agent is not None and isinstance(agent.tokens_used, int) else None,
            "tokens_day": activity.tokens_that_day(ledger, day, name),
            "recent": entry.get("recorded", [])[-DECISIONS_SHOWN:],
            "notes": entry.get("notes", [])[-NOTES_SHOWN:],
        })
    return rows
