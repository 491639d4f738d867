"""
Silences: maintenance windows during which a service opens no new incidents.
"""

import re
import time

from world.heartbeat.transitions import announce_ops
from world.models import Silence
from world.presentation import plain_text

_DURATION = re.compile(r"^(\d{1,6})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SECONDS, MAX_SECONDS = 60, 7 * 86400


class SilenceError(ValueError):
    """A silence request that cannot be done; the message says why."""


def parse_duration(text):
    """'90m', '2h', '1d', '3600' -> seconds, within 1 minute and 7 days."""
    match = _DURATION.match((text or "").strip().lower())
    if not match:
        raise SilenceError(f"'{plain_text(text, 20)}' is not a duration (like 30m, 2h or 1d).")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise SilenceError("A silence lasts between 1 minute and 7 days.")
    return seconds


def add(service, seconds, reason, actor, now=None):
    """Silence a service for `seconds`; an existing silence for it is replaced."""
    now = now or time.time()
    reason = plain_text(reason, 200)
    if not reason:
        raise SilenceError("Say why: @silence <service> <duration> = <reason>.")
    Silence.objects.filter(service=service, ended_at__isnull=True).update(ended_at=now)
    silence = Silence.objects.create(service=service, reason=reason, created_by=actor,
                                     created_at=now, until=now + seconds)
    announce_ops(f"|y[silence]|n {service} silenced by {actor} for {seconds // 60} min: {reason}")
    return silence


def clear(service, actor, now=None):
    """End the active silence of a service."""
    now = now or time.time()
    updated = Silence.objects.filter(service=service, ended_at__isnull=True).update(ended_at=now)
    if not updated:
        raise SilenceError(f"{service} is not silenced.")
    announce_ops(f"|y[silence]|n {service} is no longer silenced ({actor} cleared it).")


def active(now=None):
    """Silences in force now."""
    now = now or time.time()
    return list(Silence.objects.filter(ended_at__isnull=True, until__gt=now))


def active_for(service, now=None):
    """The silence in force for a service, or None."""
    now = now or time.time()
    return Silence.objects.filter(service=service, ended_at__isnull=True, until__gt=now).first()


def expire(now=None):
    """End silences whose time is up, announcing each once; return them."""
    now = now or time.time()
    ended = list(Silence.objects.filter(ended_at__isnull=True, until__lte=now))
    for silence in ended:
        silence.ended_at = now
        silence.save(update_fields=["ended_at"])
        announce_ops(f"|y[silence]|n The silence on {silence.service} has ended ({silence.reason}).")
    return ended
