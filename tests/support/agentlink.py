"""
A stand-in for the agent's network link: it records the commands and reports
an agent sends and answers observation requests from a scripted dict.
"""

from twisted.internet import defer


class RecordingLink:
    """Implements the link interface the brain uses (send_command, report, request_observation)."""

    def __init__(self, observation):
        self.observation = observation
        self.commands, self.reports = [], []

    def send_command(self, command):
        self.commands.append(command)
        return True

    def report(self, **report):
        self.reports.append(report)

    def request_observation(self, timeout=10.0):
        return defer.succeed(dict(self.observation))


def observation(**overrides):
    """A calm world seen from the Hearth, with overrides."""
    base = {
        "agent": "Timmy", "mode": "hybrid", "paused": False, "location": "hearth",
        "location_name": "The Hearth", "exits": ["forge", "oracle", "vault"], "present": [],
        "agents": {"Allegro": "forge", "Allegro-Primus": "oracle", "Ezra": "oracle", "Bezalel": "vault"},
        "said": [], "services": {"ollama": "up", "evennia": "up", "disk": "up", "backup": "up"},
        "incidents": [], "backup_age": 3600.0, "heartbeat_age": 10.0,
    }
    base.update(overrides)
    return base
