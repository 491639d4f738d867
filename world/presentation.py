"""
Text shown to people: service lines, ages, and plain-text cleaning.

Everything here returns strings and touches no database, so commands, room
descriptions, the CLI and the web page render the same facts the same way.
"""

import re
import time

from evennia.utils.ansi import strip_ansi

from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

STATE_COLOURS = {UP: "|g", DEGRADED: "|y", DOWN: "|r", UNKNOWN: "|x"}
_MXP_LINK = re.compile(r"\|l[cu](.*?)\|lt(.*?)\|le", re.DOTALL)
_MXP_ANY = re.compile(r"\|l[cut]|\|le")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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


def plain_text(text, limit=None):
    """Make player- or model-supplied text safe to show as plain text.

    Strips MXP links (keeping their visible text), Evennia colour markup, raw
    ANSI escapes and control characters, folds line breaks into spaces (so a
    line cannot fake another speaker) and bounds the length.

    Args:
        text (str): Untrusted text.
        limit (int, optional): Maximum length; longer text ends with '…'.

    Returns:
        str: Text that renders literally on every client.
    """
    text = str(text or "")
    text = _MXP_LINK.sub(lambda match: match.group(2) or match.group(1), text)
    text = _MXP_ANY.sub("", text)
    text = strip_ansi(text)
    text = text.replace("\r", " ").replace("\n", " ")
    text = _CONTROL.sub("", text)
    text = text.replace("|", "¦")
    text = " ".join(text.split())
    if limit and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text
