"""
Incident fixtures: a fake Gitea wired into settings, agents to be told,
a controlled clock and synchronous outbox delivery.
"""

from unittest.mock import patch

from django.test import override_settings
from evennia.utils import create
from twisted.internet import defer

from world.incidents import outbox

from .fake_gitea import FakeGitea

T0 = 1_800_000_000.0


def run_now(func, *args):
    """Run the worker function in this thread (the fake Gitea has its own)."""
    return defer.maybeDeferred(func, *args)


class IncidentMixin:
    """A fake Gitea, the ops channel, Timmy and Ezra, and a clock at T0."""

    gitea_configured = True

    def setUp(self):
        super().setUp()
        self.gitea = FakeGitea().start()
        self.addCleanup(self.gitea.stop)
        values = {"GITEA_URL": self.gitea.url, "GITEA_TOKEN": self.gitea.token, "GITEA_REPO": self.gitea.repo}
        if not self.gitea_configured:
            values = {"GITEA_URL": "", "GITEA_TOKEN": "", "GITEA_REPO": ""}
        self.settings_override = override_settings(GITEA_TIMEOUT=2, **values)
        self.settings_override.enable()
        self.addCleanup(self.settings_override.disable)
        self.ops = create.create_channel("ops", locks="listen:all();send:all()")
        self.timmy = create.create_object("typeclasses.characters.Character", key="Timmy", location=self.room1)
        self.ezra = create.create_object("typeclasses.characters.Character", key="Ezra", location=self.room1)
        self.now = T0
        self.told = {"Timmy": [], "Ezra": []}
        for agent in (self.timmy, self.ezra):
            patcher = patch.object(agent, "msg", side_effect=self._recorder(agent.key))
            patcher.start()
            self.addCleanup(patcher.stop)
        self.ops_lines = []
        patcher = patch.object(self.ops, "msg", side_effect=lambda text, **kw: self.ops_lines.append(str(text)))
        patcher.start()
        self.addCleanup(patcher.stop)

    def _recorder(self, name):
        def record(text=None, **kwargs):
            self.told[name].append((str(text), kwargs))
        return record

    def deliver(self):
        """Run the outbox worker once at the current test time; return how many finished."""
        outcome = []
        outbox.deliver_due(run=run_now, clock=lambda: self.now).addCallback(outcome.append)
        return outcome[0]
