"""
The incident lifecycle: open, re-trigger, escalate, acknowledge, note, resolve.

Every function takes `now` (unix time) so tests drive the clock, runs on the
reactor thread (ORM), and writes the incident, its timeline event and any
outbox message in one transaction. Text from players or agents is stored as
bounded plain text.
"""

import functools
import re
import time

from django.db import connection, transaction

from world.incidents import config, notify, outbox, silences
from world.models import Incident, IncidentEvent
from world.plaintext import is_number
from world.presentation import plain_text

SUMMARY_LIMIT = 200
NOTE_LIMIT = 300
_SEVERITY = re.compile(r"^P[012]$")


class IncidentError(ValueError):
    """A request about incidents that cannot be done; the message says why."""


def trigger(fingerprint, severity, summary, actor, source="manual", service="", now=None):
    """Open an incident, or add to the unresolved one with the same fingerprint.

    Args:
        fingerprint (str): The dedup key (e.g. "heartbeat:ollama:down").
        severity (str): "P0", "P1" or "P2".
        summary (str): What is wrong (cleaned to plain text, bounded).
        actor (str): Who or what triggered it.
        source (str): "heartbeat", "manual", ...
        service (str): The service concerned, if any.
        now (float, optional): The time.

    Returns:
        tuple: (Incident or None, str outcome) where outcome is "opened",
            "retriggered" or "silenced".

    Raises:
        IncidentError: Unknown severity or empty summary.
    """
    now = now or time.time()
    severity = (severity or "").upper()
    if not _SEVERITY.match(severity):
        raise IncidentError(f"Severity must be one of {', '.join(config.SEVERITIES)}.")
    summary = plain_text(summary, SUMMARY_LIMIT)
    if not summary:
        raise IncidentError("An incident needs a summary.")
    if service and source != "manual" and silences.active_for(service, now):
        return None, "silenced"
    with transaction.atomic():
        existing = Incident.objects.filter(fingerprint=fingerprint).exclude(state=Incident.RESOLVED).first()
        if existing:
            existing.trigger_count += 1
            existing.save(update_fields=["trigger_count"])
            _event(existing, now, "retriggered", actor, summary)
            return existing, "retriggered"
        level = config.start_level(severity)
        incident = Incident.objects.create(
            fingerprint=fingerprint[:200], severity=severity, summary=summary, level=level,
            owner=config.on_duty() if level == 1 else config.peer(), source=source,
            service=service, opened_at=now,
            next_escalation_at=now + config.escalate_after(severity),
        )
        _event(incident, now, "opened", actor, summary)
        if level > 1:
            _event(incident, now, "escalated", "matrix", f"opened at level {level} ({severity})")
    notify.level_reached(incident, opened=True)
    return incident, "opened"


def find(incident_id):
    """The incident with this id (an int or '#12'), or an IncidentError."""
    text = str(incident_id).strip().lstrip("#")
    if not is_number(text) or len(text) > 9:
        raise IncidentError(f"'{plain_text(incident_id, 20)}' is not an incident id (a number like 12).")
    incident = Incident.objects.filter(id=int(text)).first()
    if incident is None:
        raise IncidentError(f"There is no incident #{text}.")
    return incident


def acknowledge(incident_id, actor, now=None):
    """Acknowledge: the climb stops; re-alerts come after the ack timeout."""
    now = now or time.time()
    incident = find(incident_id)
    if incident.is_resolved:
        raise IncidentError(f"Incident #{incident.id} is already resolved.")
    if incident.state == Incident.ACKNOWLEDGED:
        raise IncidentError(f"Incident #{incident.id} was already acknowledged by {incident.acknowledged_by}.")
    with transaction.atomic():
        incident.state = Incident.ACKNOWLEDGED
        incident.acknowledged_at, incident.acknowledged_by = now, actor
        incident.owner = actor
        incident.next_escalation_at = None
        incident.next_realert_at = now + config.realert_after(incident.severity)
        incident.save()
        _event(incident, now, "acknowledged", actor, "")
        if incident.gitea_issue or incident.level >= 3:
            outbox.enqueue_comment(incident, f"Acknowledged by {actor}.", now)
    notify.acknowledged(incident)
    return incident


def add_note(incident_id, actor, text, now=None):
    """Add a note to the timeline (bounded plain text)."""
    now = now or time.time()
    incident = find(incident_id)
    note = plain_text(text, NOTE_LIMIT)
    if not note:
        raise IncidentError("A note needs some text.")
    if incident.is_resolved:
        raise IncidentError(f"Incident #{incident.id} is already resolved.")
    with transaction.atomic():
        _event(incident, now, "noted", actor, note)
        if incident.gitea_issue or incident.level >= 3:
            outbox.enqueue_comment(incident, f"Note from {actor}: {note}", now)
    return incident


def resolve(incident_id, actor, note="", now=None):
    """Resolve: the incident is closed, and so is its Gitea issue (with a comment)."""
    now = now or time.time()
    incident = find(incident_id) if not isinstance(incident_id, Incident) else incident_id
    if incident.is_resolved:
        raise IncidentError(f"Incident #{incident.id} is already resolved.")
    note = plain_text(note, NOTE_LIMIT)
    with transaction.atomic():
        incident.state = Incident.RESOLVED
        incident.resolved_at, incident.resolved_by = now, actor
        incident.next_escalation_at = incident.next_realert_at = None
        incident.save()
        _event(incident, now, "resolved", actor, note)
        if incident.level >= 3 and config.gitea_configured():
            outbox.enqueue_close(incident, f"Resolved by {actor}." + (f" {note}" if note else ""), now)
    notify.resolved(incident, note)
    return incident


def tick(now=None):
    """Escalate overdue incidents and re-alert acknowledged ones; return what was done."""
    now = now or time.time()
    return escalate_due(now), realert_due(now)


def escalate_due(now=None):
    """Move every open incident whose escalation is due up one level; return those that climbed."""
    now = now or time.time()
    climbed = [escalate(incident, now) for incident in
               Incident.objects.filter(state=Incident.OPEN, next_escalation_at__lte=now)]
    return [incident for incident in climbed if incident]


def realert_due(now=None):
    """Re-alert every acknowledged incident whose reminder is due; return them."""
    now = now or time.time()
    realerted = []
    for incident in Incident.objects.filter(state=Incident.ACKNOWLEDGED, next_realert_at__lte=now):
        with transaction.atomic():
            incident.next_realert_at = now + config.realert_after(incident.severity)
            incident.save(update_fields=["next_realert_at"])
            _event(incident, now, "realerted", "matrix", "acknowledged but not resolved")
        notify.realert(incident)
        realerted.append(incident)
    return realerted


def escalate(incident, now, actor="matrix", reason="not acknowledged in time"):
    """Move an open incident up one level (or hold it at the top)."""
    with transaction.atomic():
        if incident.level >= config.MAX_LEVEL:
            incident.next_escalation_at = None
            incident.save(update_fields=["next_escalation_at"])
            return None
        incident.level += 1
        incident.next_escalation_at = (
            now + config.escalate_after(incident.severity) if incident.level < config.MAX_LEVEL else None
        )
        if incident.level == 2 and incident.owner == config.on_duty():
            incident.owner = config.peer()
        incident.save()
        _event(incident, now, "escalated", actor, f"to level {incident.level}: {reason}")
        if incident.level == 3 and config.gitea_configured():
            outbox.enqueue_create(incident, now)
    notify.level_reached(incident)
    return incident


def open_incidents():
    """Unresolved incidents, most severe and oldest first.

    Runs the SQL the ORM compiles for this query, compiled once per
    process. Every agent observation asks for the open incidents (five
    agents, every few seconds), and compiling the query anew was three
    quarters of the time it took (README, "Latency", finding 19).
    """
    sql, params = _open_incidents_sql()
    return list(Incident.objects.raw(sql, params))


# The fields of an incident an agent observation shows, in the order of the query's columns.
VIEW_FIELDS = ("id", "service", "severity", "summary", "owner", "state", "level")


def open_incident_views(limit=10):
    """The first `limit` open incidents as the plain dicts an agent observation shows, in `open_incidents()` order.

    One query through a plain database cursor, compiled once per process by
    the ORM: every agent observation asks (five agents, about one observation
    a second between them under load), and building model instances through
    `Incident.objects.raw()` was about a quarter of an observation's time on the
    reactor (README, "Latency", finding 26). Always read from the database,
    so a change made anywhere shows at once.

    Args:
        limit (int): At most this many (the most severe and oldest).

    Returns:
        list: One dict per unresolved incident, with VIEW_FIELDS and `acked`.
    """
    sql, params = _open_incident_views_sql(int(limit))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    views = [dict(zip(VIEW_FIELDS, row)) for row in rows]
    for view in views:
        view["acked"] = view["state"] == Incident.ACKNOWLEDGED
    return views


@functools.cache
def _open_incident_views_sql(limit):
    """(sql, params) selecting VIEW_FIELDS of the first `limit` open incidents, in `open_incidents()` order."""
    unresolved = Incident.objects.exclude(state=Incident.RESOLVED).order_by("severity", "opened_at", "id")
    return unresolved.values_list(*VIEW_FIELDS)[:limit].query.sql_with_params()


@functools.cache
def _open_incidents_sql():
    """(sql, params) of the open-incidents query, from the ORM's own compiler."""
    unresolved = Incident.objects.exclude(state=Incident.RESOLVED).order_by("severity", "opened_at", "id")
    return unresolved.query.sql_with_params()


def _event(incident, now, kind, actor, text):
    return IncidentEvent.objects.create(incident=incident, at=now, kind=kind, actor=actor[:80], text=text[:300])
