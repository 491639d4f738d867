"""
The one place service transitions are published.

`publish(transition)` announces a confirmed state change once on the `ops`
channel and once in the region room housing the service, in words that fit
the world, then sends the `service_transition` signal. Other systems (the
incidents, the agents) subscribe to that signal instead of polling:

    from world.heartbeat.transitions import service_transition

    def on_transition(sender, transition, **kwargs): ...
    service_transition.connect(on_transition)
"""

from django.dispatch import Signal
from evennia.utils import logger

from world.presentation import plain_text
from world.servicestate import DEGRADED, DOWN

service_transition = Signal()

DEFAULT_DOWN = "A lamp on the status board turns red: {service} is down ({reason})."
DEFAULT_UP = "A lamp on the status board burns green again: {service} is {state} ({reason})."
DEFAULT_DEGRADED = "A lamp on the status board flickers amber: {service} is degraded ({reason})."


def message_for(transition, check=None):
    """The announcement for a transition, from the check's wording or the default."""
    fields = {
        "service": transition.service,
        "reason": plain_text(transition.reason, 120),
        "state": transition.new,
        "old": transition.old,
    }
    if transition.new == DOWN:
        template = (check and check.announce_down) or DEFAULT_DOWN
    elif transition.new == DEGRADED:
        template = DEFAULT_DEGRADED
    else:
        template = (check and check.announce_up) or DEFAULT_UP
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        return DEFAULT_DOWN.format(**fields) if transition.new == DOWN else DEFAULT_UP.format(**fields)


def publish(transition, check=None):
    """Announce a transition on `ops` and in its region, then signal subscribers."""
    text = message_for(transition, check)
    colour = {DOWN: "|r", DEGRADED: "|y"}.get(transition.new, "|g")
    announce_ops(f"{colour}[heartbeat]|n {text}")
    room = _region_room(transition.region)
    if room:
        meta = {"type": "transition", "service": transition.service, "state": transition.new}
        # The announcement carries a probe's reason (a server's own words): it goes in
        # through `mapping`, so msg_contents neither formats its braces nor runs its $funcs.
        room.msg_contents(text=("{announcement}", meta), from_obj=None,
                          mapping={"announcement": f"{colour}{text}|n"})
    for receiver, response in service_transition.send_robust(sender=publish, transition=transition):
        if isinstance(response, Exception):
            logger.log_err(f"service_transition receiver {receiver} failed: {response!r}")
    return text


def announce_ops(text):
    """Send one line to the ops channel (if it exists)."""
    from django.conf import settings
    from evennia import search_channel

    channels = search_channel(settings.OPS_CHANNEL_KEY)
    if channels:
        channels[0].msg(text)


def _region_room(region_key):
    from world.builder import find_region

    return find_region(region_key) if region_key else None
