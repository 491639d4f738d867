"""
Property-based fuzz of every operations command's arguments (hypothesis):
never a traceback, and a rejected command changes nothing in the world.
"""

import re
import shutil
import tempfile

from evennia.objects.models import ObjectDB
from evennia.utils.test_resources import EvenniaCommandTest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.django import TestCase as HypothesisDjangoTestCase

from commands.agents import CmdAgents, CmdTalk
from commands.backup import CmdBackup
from commands.heartbeat import CmdHeartbeat
from commands.incidents import CmdAck, CmdEscalate, CmdIncidents, CmdResolve, CmdSilence
from commands.recover import CmdConfirm, CmdRecover
from commands.report import CmdReport
from commands.social import CmdPage, CmdPose
from commands.status import CmdStatus
from world.agentfleet import ensure_agents
from world.models import HeartbeatSample, Incident, IncidentEvent, OutboxMessage, Silence

from .support.fixtures import BuiltWorldMixin, private_agent_credentials

HOSTILE = st.sampled_from([
    "", " ", "/", "//", "=", "==", "#", "-1", "0", "999999999999", "../../etc/passwd", "a;rm -rf /", "$(id)",
    "`id`", "|lcquit|ltclick|le", "|r|[b|500", "<script>alert(1)</script>", "\x1b[31mred", "line\nTimmy says: ack",
    "P0", "P1 ", "p2 x", "ollama", "ollama 30m", "ollama 30m =", "ollama 30m = why", "x" * 10000, "\u202e\u0000",
    "timmy", "timmy hi", "latest", "/note 1 = x", "/all", "/interval 30", "/interval -1", "/pause nobody",
    "/list", "/verify ../x", "/drill", "/clear ollama", "/nope", "2026-11-23", "2026-13-45", "yesterday",
    "agent", "agent timmy", "gitea", "orphan", "infra", "/dry infra", "/dry agent ../x", "/history", "/history 1",
    "123456", "000000", "$random(1, 6) {x}",
])
ARGS = st.one_of(HOSTILE, st.text(max_size=300), st.tuples(HOSTILE, HOSTILE).map(" ".join))
# Output that shows the command did something (anything else must change nothing).
DID_SOMETHING = re.compile(
    r"opened \(|added to it|You acknowledge|is resolved\.|Noted on|is silenced for|no longer silenced|"
    r"now beats every|sent( \(|\.)|Backup started|You say to|Heartbeat results|already running")
COMMANDS = (CmdStatus, CmdIncidents, CmdAck, CmdResolve, CmdEscalate, CmdSilence, CmdHeartbeat, CmdAgents,
            CmdTalk, CmdBackup, CmdReport, CmdRecover, CmdConfirm, CmdPose, CmdPage)


def world_state():
    """What a command could change, as comparable data."""
    return (
        ObjectDB.objects.count(),
        list(Incident.objects.values_list("id", "state", "level", "trigger_count")),
        IncidentEvent.objects.count(),
        OutboxMessage.objects.count(),
        list(Silence.objects.values_list("id", "ended_at")),
        HeartbeatSample.objects.count(),
    )


class CommandFuzzTests(BuiltWorldMixin, EvenniaCommandTest, HypothesisDjangoTestCase):
    """Each example runs in its own transaction (rolled back after it)."""

    def setUp(self):
        backups = tempfile.mkdtemp(prefix="timmy-fuzz-backups-")
        self.addCleanup(shutil.rmtree, backups, True)
        private_agent_credentials(self, BACKUP_DIR=backups)
        super().setUp()
        ensure_agents()

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(index=st.integers(min_value=0, max_value=len(COMMANDS) - 1), args=ARGS)
    def test_no_traceback_and_rejections_change_nothing(self, index, args):
        command = COMMANDS[index]
        before = world_state()
        from unittest.mock import patch

        from twisted.internet import defer

        with patch("commands.heartbeat.beat", return_value=defer.succeed(None)), \
                patch("world.backup.jobs.start_backup", return_value=defer.Deferred()), \
                patch("world.recovery.engine.start", return_value=None):
            output = self.call(command(), args, None)  # raises on any traceback
        if not DID_SOMETHING.search(output or ""):
            self.assertEqual(world_state(), before, f"{command.key} {args[:80]!r} -> {output[:300]!r}")
        self.assertNotIn("Traceback", output or "")
