"""
Incident settings, read in one place (see server/conf/settings.py).
"""

from django.conf import settings

SEVERITIES = ("P0", "P1", "P2")
MAX_LEVEL = 3


def escalate_after(severity):
    """Seconds an unacknowledged incident waits before climbing a level."""
    return float(settings.INCIDENT_ESCALATE_AFTER[severity])


def realert_after(severity):
    """Seconds an acknowledged, unresolved incident waits before re-alerting."""
    return float(settings.INCIDENT_REALERT_AFTER[severity])


def start_level(severity):
    """The level an incident of this severity opens at (P0 starts at 2)."""
    return 2 if severity == "P0" else 1


def on_duty():
    """The name of the on-duty agent (level 1 owner)."""
    return settings.INCIDENT_ON_DUTY


def peer():
    """The name of the peer agent (paged at level 2)."""
    return settings.INCIDENT_PEER


def gitea_configured():
    """True when Gitea escalation is possible: URL, token and repository set."""
    return bool(settings.GITEA_URL and settings.GITEA_TOKEN and settings.GITEA_REPO)
