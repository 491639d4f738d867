"""
Who is told, in the world, when an incident opens, climbs, is acknowledged,
re-alerts or is resolved.

Level 1 tells the on-duty agent, who owns it. Level 2 pages the peer agent and
every connected Builder-or-higher account, and the `ops` channel. Level 3
broadcasts to everyone connected (the Gitea issue goes through the outbox).
Agents get the event as an `incident` message kwarg too, so their runtime can
react without parsing text.
"""

from world.heartbeat.transitions import announce_ops
from world.incidents import config

LEVEL_NAMES = {1: "level 1 (on duty)", 2: "level 2 (peer and builders)", 3: "level 3 (humans)"}


def headline(incident):
    """'#12 P1 L2: ollama is down'."""
    return f"#{incident.id} {incident.severity} L{incident.level}: {incident.summary}"


def level_reached(incident, opened=False):
    """Tell whoever the incident's level reaches."""
    verb = "opened at" if opened else "escalated to"
    text = f"Incident {headline(incident)} - {verb} {LEVEL_NAMES[incident.level]}, owner {incident.owner}."
    announce_ops(f"|r[incident]|n {text}")
    if incident.level >= 1:
        tell_character(config.on_duty(), f"|rIncident {headline(incident)}|n is yours. "
                       f"Use |w@ack {incident.id}|n when you take it.", incident, "assigned")
    if incident.level >= 2:
        tell_character(config.peer(), f"|rPage:|n incident {headline(incident)} needs a peer.",
                       incident, "escalated")
        page_builders(f"|rPage:|n incident {headline(incident)} is unacknowledged. |w@ack {incident.id}|n")
    if incident.level >= 3:
        broadcast(f"|r[Timmy World] Incident {headline(incident)} has reached the humans.|n")


def acknowledged(incident):
    announce_ops(f"|y[incident]|n #{incident.id} acknowledged by {incident.acknowledged_by}.")


def realert(incident):
    text = f"Incident {headline(incident)} is acknowledged by {incident.acknowledged_by} but not resolved."
    announce_ops(f"|y[incident]|n {text}")
    tell_character(incident.owner, f"|yReminder:|n {text}", incident, "realert")
    if incident.level >= 2:
        page_builders(f"|yReminder:|n {text}")


def resolved(incident, note=""):
    extra = f" ({note})" if note else ""
    announce_ops(f"|g[incident]|n #{incident.id} resolved by {incident.resolved_by}{extra}.")


def tell_character(name, text, incident, event):
    """Message a character by name (an agent), if it exists."""
    from evennia.objects.models import ObjectDB

    if not name:
        return
    for character in ObjectDB.objects.filter(db_key__iexact=name, db_location__isnull=False):
        character.msg(text=text, incident=({"id": incident.id, "event": event,
                                            "severity": incident.severity, "level": incident.level},))


def page_builders(text):
    """Message every connected account with Builder permission or higher."""
    import evennia

    for account in evennia.SESSION_HANDLER.all_connected_accounts():
        if account.check_permstring("Builder"):
            account.msg(text)


def broadcast(text):
    """Tell everyone connected."""
    import evennia

    evennia.SESSION_HANDLER.announce_all(text)
