"""
Incidents as text: the open list, the full list and one timeline.
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
