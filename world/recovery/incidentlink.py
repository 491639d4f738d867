"""
Recovery and incidents: note a run's result on the service's open incident,
resolve it when the check after is green, escalate when the run failed.
"""

import time

from evennia.utils import logger

from world.incidents import core
from world.incidents.core import IncidentError
from world.models import Incident

FAILED_SEVERITY = "P1"


def open_incident(service):
    """The oldest unresolved incident about `service`, or None."""
    if not service:
        return None
    return Incident.objects.filter(service=service).exclude(state=Incident.RESOLVED).order_by("id").first()


def note(incident, actor, text, now=None):
    """Add a note; return True if it was written."""
    try:
        core.add_note(incident.id, actor, text, now=now)
        return True
    except IncidentError as err:
        logger.log_warn(f"[recover] could not note on incident #{incident.id}: {err}")
        return False


def resolve(incident, actor, text, now=None):
    """Resolve the incident; return True if it was resolved."""
    try:
        core.resolve(incident, actor, text, now=now)
        return True
    except IncidentError as err:
        logger.log_warn(f"[recover] could not resolve incident #{incident.id}: {err}")
        return False


def escalate(service, scenario, actor, reason, now=None):
    """Escalate the open incident of `service` one level, or open one at level 2.

    A failed self-heal is no longer level 1's business: the peer and the
    builders are paged (and at level 3, the humans through Gitea).

    Returns:
        tuple: (Incident or None, str what happened).
    """
    now = now or time.time()
    incident = open_incident(service)
    if incident is None:
        incident, outcome = core.trigger(f"recovery:{scenario}:failed", FAILED_SEVERITY,
                                         f"recovery of {service or scenario} failed: {reason}", actor,
                                         source="recovery", service=service, now=now)
        if incident is None:
            return None, f"not escalated: {service} is silenced"
        if outcome == "retriggered":
            return incident, f"added to incident #{incident.id}"
    if incident.state == Incident.ACKNOWLEDGED:
        note(incident, actor, f"escalation wanted: {reason}", now)
        return incident, f"incident #{incident.id} is acknowledged by {incident.acknowledged_by}; noted there"
    climbed = core.escalate(incident, now, actor=actor, reason=reason)
    if climbed is None:
        return incident, f"incident #{incident.id} is already at the top level"
    return climbed, f"incident #{climbed.id} escalated to level {climbed.level}"
