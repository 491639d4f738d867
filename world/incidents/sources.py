"""
Where incidents come from besides `@escalate`: heartbeat transitions.

A service confirmed down opens (or re-triggers) the incident with fingerprint
`heartbeat:<service>:down`; the same service confirmed back resolves it with
a note. Connected once at server start (and by tests).
"""

from evennia.utils import logger

from world.heartbeat.transitions import service_transition
from world.servicestate import DOWN

HEARTBEAT_ACTOR = "heartbeat"


def fingerprint_for(service):
    return f"heartbeat:{service}:down"


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
