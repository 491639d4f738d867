"""
Incidents as text: the open list, the full list and one timeline, and the
Markdown of their Gitea issues.
"""

import time

from world.presentation import age_text, plain_text

SEVERITY_COLOURS = {"P0": "|R", "P1": "|r", "P2": "|y"}
STATE_COLOURS = {"open": "|r", "acknowledged": "|y", "resolved": "|g"}


def incident_row(incident, now=None):
    """One line: id, severity, state, level, age, owner, count, summary."""
    now = now or time.time()
    sev = f"{SEVERITY_COLOURS.get(incident.severity, '')}{incident.severity}|n"
    state = f"{STATE_COLOURS.get(incident.state, '')}{incident.state[:5]:<5}|n"
    count = f"x{incident.trigger_count}" if incident.trigger_count > 1 else ""
    return (f"#{incident.id:<4} {sev} {state} L{incident.level} {age_text(now - incident.opened_at):>4} "
            f"{plain_text(incident.owner, 12):<12} {count:>4} {plain_text(incident.summary, 36)}")


def incident_list(incidents, title, now=None):
    """A titled list, or a line saying there are none."""
    if not incidents:
        return f"{title}: none."
    header = f"|w{'Id':<5} Sev State Lv  Age Owner         Cnt Summary|n"
    return "\n".join([f"|w{title}|n", header] + [incident_row(i, now) for i in incidents])


def timeline(incident, now=None):
    """The whole story of one incident."""
    now = now or time.time()
    lines = [
        f"|wIncident #{incident.id}|n {incident.severity} {incident.state}, level {incident.level}, "
        f"owner {plain_text(incident.owner, 40) or '-'}",
        f"Summary: {plain_text(incident.summary)}",
        f"Fingerprint: {plain_text(incident.fingerprint)}  Triggers: {incident.trigger_count}",
    ]
    if incident.gitea_issue:
        lines.append(f"Gitea issue: #{incident.gitea_issue}")
    lines.append("|wTimeline:|n")
    for event in incident.events.all():
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(event.at))
        text = f" - {plain_text(event.text)}" if event.text else ""
        lines.append(f"  {when} {event.kind:<12} {plain_text(event.actor, 20)}{text}")
    return "\n".join(lines)


# ------------------------------------------------------------ Gitea (Markdown)

CODE_INDENT = "    "


def markdown_block(text):
    """Untrusted text as a Markdown indented code block, shown literally.

    Gitea renders issue bodies and comments as Markdown: a summary or a note
    could otherwise be a heading, a link, an image, raw HTML, an @mention, an
    issue reference or a copy of another incident's marker line. In a code
    block it is none of these. The text is made one plain line first, so it
    cannot end the block; a blank line must come before and after it.

    Args:
        text (str): Untrusted text (a summary, a note, a fingerprint).

    Returns:
        str: The indented line ("" for empty text).
    """
    line = plain_text(text)
    return CODE_INDENT + line if line else ""


def marker_line(marker):
    """The hidden line of an issue body that names its incident ('<!-- timmy-incident-12 -->').

    It stands alone on its line; summaries are indented (markdown_block), so
    no summary can be mistaken for it.
    """
    return f"<!-- {marker} -->"


def has_marker(body, marker):
    """True if `body` holds `marker` as its own marker line (not a prefix, not inside a summary)."""
    return marker_line(marker) in (body or "").split("\n")


def gitea_issue_body(incident, marker, opened_text):
    """The body of an incident's Gitea issue, every untrusted part in a code block.

    Args:
        incident (Incident): The incident.
        marker (str): Its marker (outbox.marker).
        opened_text (str): When it opened, already formatted.

    Returns:
        str: Markdown.
    """
    return "\n".join([
        "Summary:", "", markdown_block(incident.summary), "",
        f"- severity: {incident.severity}",
        f"- source: {plain_text(incident.source, 40)}",
        f"- service: {plain_text(incident.service, 40) or '-'}",
        f"- opened: {opened_text}",
        "", "Fingerprint:", "", markdown_block(incident.fingerprint), "",
        marker_line(marker),
        "Opened by Timmy World: no one acknowledged it in game.",
    ])


def gitea_comment(text):
    """A comment on an incident's issue (ack, note, close) as a code block."""
    return markdown_block(text)
