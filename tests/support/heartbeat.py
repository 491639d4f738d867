"""
Heartbeat fixtures: the ops channel, fake cycles and result builders.
"""

import time
from unittest.mock import patch

from evennia.utils import create
from twisted.internet import defer
from twisted.internet.task import Clock

from world.heartbeat.probes import ProbeResult
from world.heartbeat.service import beat, heartbeat_script


def result(name, state, reason="", latency_ms=10.0, at=None):
    """A ProbeResult as a probe would make it."""
    return ProbeResult(name, state, reason or state, latency_ms, at or time.time())


class HeartbeatMixin:
    """An ops channel, the heartbeat Script, and beats with scripted results."""

    def setUp(self):
        super().setUp()
        self.ops = create.create_channel("ops", locks="listen:all();send:all()")
        self.script = heartbeat_script()
        self.script.ndb.cycle_running = False
        self.log_writes = []

    def scripted_beat(self, results, checks=None):
        """Run one beat whose probes return `results`; return (results, transitions)."""
        outcome, clock = [], Clock()
        with patch("world.heartbeat.service.run_cycle", return_value=defer.succeed(results)), \
                patch("world.heartbeat.history.append_log", side_effect=self._log) as _log:
            beat(self.script, checks=checks, reactor=clock).addCallback(outcome.append)
            clock.advance(0)  # the beat's later turns (storing, history, transitions)
        return outcome[0]

    def _log(self, results):
        self.log_writes.append(results)
        return defer.succeed("log")
