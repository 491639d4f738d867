"""
`@status` and `@heartbeat`, as the player sees them.
"""

from unittest.mock import patch

from evennia.utils.test_resources import EvenniaCommandTest
from twisted.internet import defer

from commands.heartbeat import CmdHeartbeat
from commands.status import CmdStatus
from world.heartbeat.config import configured_checks
from world.servicestate import DOWN, UP

from .support.fixtures import BuiltWorldMixin
from .support.heartbeat import HeartbeatMixin, result


class StatusCommandTests(HeartbeatMixin, BuiltWorldMixin, EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.checks = [c for c in configured_checks() if c.name in ("ollama", "disk")]

    def test_status_lists_every_service_and_fits_80_columns(self):
        self.scripted_beat([result("ollama", UP, "v0.5", 12.0), result("disk", UP, "disk 20% full")], self.checks)
        text = self.call(CmdStatus(), "", "Timmy World status")
        for name in ("ollama", "gitea", "evennia", "disk", "agents", "backup"):
            self.assertIn(name, text)
        self.assertIn("Heartbeat: last beat 0s ago", text)
        self.assertIn("not configured", text)  # gitea without GITEA_URL
        self.assertTrue(all(len(line) <= 80 for line in text.splitlines()), text)

    def test_status_of_one_service_shows_history_uptime_and_last_error(self):
        for state in (UP, UP, DOWN, DOWN, UP):
            self.scripted_beat([result("ollama", state, "connection refused" if state == DOWN else "ok"),
                                result("disk", UP)], self.checks)
        text = self.call(CmdStatus(), "ollama", "ollama:")
        self.assertIn("Last 5 checks", text)
        self.assertIn("xx", text)
        self.assertIn("Uptime 24h: 60.0%", text)
        self.assertIn("Last error:", text)
        self.assertIn("connection refused", text)

    def test_status_of_a_service_never_checked(self):
        text = self.call(CmdStatus(), "gitea", "gitea:")
        self.assertIn("No checks recorded yet", text)
        self.assertIn("Uptime 24h: no data", text)

    def test_unknown_service_is_refused_with_the_list(self):
        self.call(CmdStatus(), "nosuch", "There is no service called 'nosuch'. Services: ollama, gitea,")

    def test_heartbeat_runs_a_beat_and_shows_results(self):
        outcome = defer.succeed(([result("ollama", DOWN, "connection refused")], []))
        with patch("commands.heartbeat.beat", return_value=outcome):
            text = self.call(CmdHeartbeat(), "", "Heartbeat results:")
        self.assertIn("connection refused", text)

    def test_heartbeat_already_running(self):
        with patch("commands.heartbeat.beat", return_value=defer.succeed(None)):
            self.call(CmdHeartbeat(), "", "A heartbeat is already running")

    def test_interval_bad_input_changes_nothing(self):
        before = self.script.interval
        self.call(CmdHeartbeat(), "/interval soon", "The interval must be a whole number of seconds")
        self.call(CmdHeartbeat(), "/interval -5", "The interval must be a whole number of seconds")
        self.call(CmdHeartbeat(), "/interval 2", "The interval must be between 5 and 3600 seconds.")
        self.call(CmdHeartbeat(), "/interval 99999", "The interval must be between 5 and 3600 seconds.")
        self.call(CmdHeartbeat(), "/fast", "Unknown switch '/fast' (valid: /interval).")
        self.assertEqual(self.script.interval, before)

    def test_interval_change_needs_admin(self):
        before = self.script.interval
        self.char2.permissions.add("Helper")
        self.call(CmdHeartbeat(), "/interval 30", "Only an Admin can change the heartbeat interval.",
                  caller=self.char2)
        self.assertEqual(self.script.interval, before)
        self.call(CmdHeartbeat(), "/interval 30", "The heartbeat now beats every 30 seconds.")
        self.assertEqual(self.script.interval, 30)

    def test_players_cannot_run_the_heartbeat_but_can_read_status(self):
        self.char2.permissions.clear()
        self.char2.account.permissions.clear()
        self.char2.account.permissions.add("Player")
        self.assertFalse(CmdHeartbeat().access(self.char2, "cmd"))
        self.assertTrue(CmdStatus().access(self.char2, "cmd"))
