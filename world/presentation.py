"""
Text shown to people: service lines, ages, and plain-text cleaning.

Everything here returns strings and touches no database, so commands, room
descriptions, the CLI and the web page render the same facts the same way.
"""

import time

from world.plaintext import plain_text  # noqa: F401  (re-exported: the one cleaner)
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

STATE_COLOURS = {UP: "|g", DEGRADED: "|y", DOWN: "|r", UNKNOWN: "|x"}


def age_text(seconds):
    """Say how long ago, compactly: '12s', '5m', '3h', '2d', or 'never'."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def latency_text(latency_ms):
    """Latency as '12 ms' (or '-' when unknown)."""
    if latency_ms is None:
        return "-"
    return f"{latency_ms:.0f} ms"


def coloured_state(state):
    """The state word in its colour."""
    return f"{STATE_COLOURS.get(state, '|x')}{state}|n"


def service_line(service_state, now=None):
    """One line for a region description: name, state, latency, age of check."""
    age = service_state.age(now or time.time())
    checked = "not checked yet" if age is None else f"checked {age_text(age)} ago"
    return (
        f"  |w{service_state.name}|n: {coloured_state(service_state.state)}"
        f", {latency_text(service_state.latency_ms)}, {checked}"
    )
