"""
From probe results to confirmed states: transitions, not noise.

A service is confirmed `down` only after `down_after` consecutive failed
probes, and confirmed back (`up` or `degraded`) only after `up_after`
consecutive good ones; a flapping service therefore announces nothing. The
very first result of a service that answers is taken at once and silently
(the world just started); every other confirmed change is a Transition.

The tracker's memory is a plain dict (JSON-able), so the heartbeat Script can
keep it as an Attribute and it survives reload and restart.
"""

from dataclasses import dataclass

from world.servicestate import DOWN, UNKNOWN


@dataclass(frozen=True)
class Transition:
    """A confirmed change of a service's state."""

    service: str
    old: str
    new: str
    reason: str
    at: float
    region: str = ""
    severity: str = "P2"


def update(memory, result, check, down_after=2, up_after=2):
    """Feed one probe result; return a Transition or None.

    Args:
        memory (dict): The tracker's memory (changed in place): service name ->
            {"state", "since", "candidate", "streak"}.
        result (ProbeResult): The latest probe result.
        check (CheckSpec): The check it came from.
        down_after (int): Consecutive failures before `down` is confirmed.
        up_after (int): Consecutive successes before recovery is confirmed.

    Returns:
        Transition or None.
    """
    entry = memory.setdefault(check.name, {"state": UNKNOWN, "since": result.checked_at,
                                           "candidate": None, "streak": 0})
    observed = result.state
    if observed == UNKNOWN or observed == entry["state"]:
        entry["candidate"], entry["streak"] = None, 0
        return None
    if entry["state"] == UNKNOWN and observed != DOWN:
        _confirm(entry, observed, result.checked_at)
        return None
    if entry["candidate"] == observed:
        entry["streak"] += 1
    else:
        entry["candidate"], entry["streak"] = observed, 1
    needed = down_after if observed == DOWN else up_after
    if entry["streak"] < needed:
        return None
    old = entry["state"]
    _confirm(entry, observed, result.checked_at)
    return Transition(check.name, old, observed, result.reason, result.checked_at,
                      check.region, check.severity)


def _confirm(entry, state, when):
    entry.update(state=state, since=when, candidate=None, streak=0)
