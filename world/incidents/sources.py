"""
Where incidents come from: heartbeat transitions, and how `@escalate` joins them.

A service confirmed down opens (or re-triggers) the incident with fingerprint
`heartbeat:<service>:down`; the same service confirmed back resolves it with
a note. Connected once at server start (and by tests).

An `@escalate` whose summary starts with a service's name is filed against
that service; while the heartbeat has that service down, it joins the
service's down incident (same fingerprint), so the heartbeat's "up again"
resolves it too. Without this, an agent that escalated a down service in the
moment between a playbook resolving the incident and the heartbeat
confirming the service up left an incident nothing would ever resolve.
"""

from evennia.utils import logger

from world.heartbeat.transitions import service_transition
from world.servicestate import DOWN

HEARTBEAT_ACTOR = "heartbeat"


def fingerprint_for(service):
    return f"heartbeat:{service}:down"


def escalation_key(summary):
    """The fingerprint and service of an `@escalate` with this summary.

    Args:
        summary (str): The summary as typed.

    Returns:
        tuple: (fingerprint, service) where service is "" unless the summary
            starts with a service's name.
    """
    from world.presentation import plain_text
    from world.servicestate import current
    from world.status_report import service_names

    words = summary.split()
    first_word = words[0].lower().strip(":,.") if words else ""
    service = first_word if first_word in service_names() else ""
    if service and current(service).state == DOWN:
        return fingerprint_for(service), service
    return f"manual:{plain_text(summary).lower()[:150]}", service


def on_transition(sender, transition, **kwargs):
    """Open or resolve the service's incident."""
    from world.incidents import core
    from world.models import Incident

    try:
        if transition.new == DOWN:
            core.trigger(fingerprint_for(transition.service), transition.severity,
                         f"{transition.service} is down: {transition.reason}", HEARTBEAT_ACTOR,
                         source="heartbeat", service=transition.service, now=transition.at)
        elif transition.old == DOWN:
            incident = (Incident.objects.filter(fingerprint=fingerprint_for(transition.service))
                        .exclude(state=Incident.RESOLVED).first())
            if incident:
                core.resolve(incident, HEARTBEAT_ACTOR,
                             f"{transition.service} is {transition.new} again ({transition.reason})",
                             now=transition.at)
    except Exception:
        logger.log_trace(f"Incident from transition {transition} failed")


def connect():
    """Subscribe to the heartbeat's transitions (idempotent)."""
    service_transition.connect(on_transition, dispatch_uid="incidents.heartbeat")
