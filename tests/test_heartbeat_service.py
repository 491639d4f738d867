"""
One heartbeat end to end inside the game: history, transitions announced once
in the right room and on ops, the signal, the single Script, the daily log.
"""

import json
import os
import tempfile
import time
from unittest.mock import patch

import evennia
from django.test import override_settings
from evennia.typeclasses.attributes import Attribute
from evennia.utils.dbserialize import from_pickle
from evennia.utils.test_resources import EvenniaTest
from twisted.internet import defer

from typeclasses.scripts import HeartbeatScript
from world import servicestate
from world.builder import find_region
from world.heartbeat import history
from world.heartbeat.config import configured_checks
from world.heartbeat.service import beat
from world.heartbeat.transitions import service_transition
from world.models import HeartbeatSample
from world.servicestate import DOWN, UP

from .support.fixtures import BuiltWorldMixin
from .support.clocks import ReactorTurnClock
from .support.heartbeat import HeartbeatMixin, result


class HeartbeatBeatTests(HeartbeatMixin, BuiltWorldMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        self.checks = [c for c in configured_checks() if c.name in ("ollama", "disk")]
        self.oracle = find_region("oracle")
        self.char2.move_to(self.oracle, quiet=True)
        self.received = []
        service_transition.connect(self._on_transition)
        self.addCleanup(service_transition.disconnect, self._on_transition)

    def _on_transition(self, sender, transition, **kwargs):
        self.received.append(transition)

    def test_results_are_stored_and_become_the_current_state(self):
        self.scripted_beat([result("ollama", UP, "v0.5, 1 model(s)", 12.0), result("disk", UP)], self.checks)
        self.assertEqual(HeartbeatSample.objects.count(), 2)
        state = servicestate.current("ollama")
        self.assertEqual((state.state, state.latency_ms, state.reason), (UP, 12.0, "v0.5, 1 model(s)"))
        self.assertGreater(self.script.last_beat_at, 0)
        self.assertEqual(len(self.log_writes), 1)

    def test_many_states_read_the_scripts_attributes_once_and_match_one_by_one(self):
        self.scripted_beat([result("ollama", UP, "v0.5", 12.0), result("disk", DOWN, "full")], self.checks)
        names = ["ollama", "disk", "gitea", "no_such_service"]
        self.script.ndb.decoded_memory = None  # nothing decoded yet
        with patch("evennia.typeclasses.attributes.from_pickle", wraps=from_pickle) as unpickle:
            self.script.latest
            per_read = unpickle.call_count
            unpickle.reset_mock()
            many = servicestate.current_many(names)
            self.assertEqual(unpickle.call_count, 2 * per_read)  # latest and tracker_memory, not two per service
            unpickle.reset_mock()
            one_by_one = [servicestate.current(name) for name in names]
            self.assertEqual(unpickle.call_count, 0)  # nothing was saved since: decoded once
        self.assertEqual([vars(state) for state in many], [vars(state) for state in one_by_one])
        self.assertEqual(many[0].state, UP)
        self.assertEqual([state.reason for state in many[:2]], ["v0.5", "full"])
        self.assertEqual(many[3].reason, "not configured")

    def test_the_states_read_after_a_beat_are_the_new_ones(self):
        self.scripted_beat([result("ollama", UP, "v0.5", 12.0), result("disk", UP)], self.checks)
        self.assertEqual(servicestate.current("ollama").latency_ms, 12.0)
        self.scripted_beat([result("ollama", UP, "v0.6", 30.0), result("disk", DOWN, "full")], self.checks)
        ollama, disk = servicestate.current_many(["ollama", "disk"])
        self.assertEqual((ollama.latency_ms, ollama.reason), (30.0, "v0.6"))
        self.assertEqual(disk.reason, "full")
        self.script.latest = {}  # any save of the Attribute is seen
        self.assertEqual(servicestate.current("ollama").latency_ms, None)

    def test_a_beat_saves_each_of_the_scripts_attributes_once(self):
        self.scripted_beat([result("ollama", UP), result("disk", UP)], self.checks)
        with patch.object(Attribute, "save", autospec=True, side_effect=Attribute.save) as save:
            self.scripted_beat([result("ollama", DOWN, "refused"), result("disk", DOWN, "full")], self.checks)
        saved = sorted(call.args[0].db_key for call in save.call_args_list)
        self.assertEqual(saved, ["last_beat_at", "last_cycle_seconds", "latest", "tracker_memory"])
        memory = self.script.tracker_memory
        self.assertEqual((memory["ollama"]["candidate"], memory["ollama"]["streak"]), (DOWN, 1))
        self.assertEqual((memory["disk"]["state"], memory["disk"]["candidate"]), (UP, DOWN))

    def test_after_the_probes_each_write_of_a_beat_gets_a_reactor_turn_of_its_own(self):
        self.scripted_beat([result("ollama", UP), result("disk", UP)], self.checks)
        self.scripted_beat([result("ollama", DOWN, "connection refused"), result("disk", UP)], self.checks)
        samples = HeartbeatSample.objects.count()  # the next `down` is the one that confirms the transition
        clock, outcome, turns = ReactorTurnClock(), [], []
        down = [result("ollama", DOWN, "connection refused"), result("disk", UP)]
        with patch("world.heartbeat.service.run_cycle", return_value=defer.succeed(down)), \
                patch("world.heartbeat.history.append_log", side_effect=self._log), \
                patch.object(Attribute, "save", autospec=True, side_effect=Attribute.save) as save:
            # the probes' results arrive in this turn (a timed-out probe's is the turn that cancelled it)
            beat(self.script, checks=self.checks, reactor=clock).addCallback(outcome.append)
            for turn in range(8):
                save.reset_mock()
                before = (HeartbeatSample.objects.count(), len(self.received), len(outcome))
                clock.advance(0)
                after = (HeartbeatSample.objects.count(), len(self.received), len(outcome))
                turns.append(([call.args[0].db_key for call in save.call_args_list],
                              tuple(b - a for a, b in zip(before, after))))
        nothing = (0, 0, 0)
        self.assertEqual(turns, [
            ([], nothing),  # the tracker, no write
            (["tracker_memory"], nothing),
            (["latest"], nothing),
            (["last_beat_at"], nothing),
            (["last_cycle_seconds"], nothing),
            ([], (2, 0, 0)),  # the history
            ([], (0, 1, 1)),  # the transition, and the beat is done
            ([], nothing),
        ])
        self.assertEqual(HeartbeatSample.objects.count() - samples, 2)
        self.assertEqual(servicestate.current("ollama").state, DOWN)
        self.assertEqual(outcome[0][1], self.received)

    def test_a_failed_write_ends_the_beat_with_a_logged_error_and_frees_the_next(self):
        clock, outcome = ReactorTurnClock(), []
        with patch("world.heartbeat.service.run_cycle", return_value=defer.succeed([result("ollama", UP)])), \
                patch.object(Attribute, "save", side_effect=RuntimeError("database is locked")), \
                patch("world.heartbeat.service.logger") as log:
            beat(self.script, checks=self.checks, reactor=clock).addCallback(outcome.append)
            for _ in range(4):
                clock.advance(0)
        self.assertEqual(outcome, [None])
        self.assertIn("database is locked", log.log_trace.call_args.args[0])
        self.assertFalse(self.script.ndb.cycle_running)

    def test_going_down_is_announced_once_in_the_oracle_and_on_ops(self):
        with patch.object(self.char2, "msg") as room_msg, patch.object(self.ops, "msg") as ops_msg:
            self.scripted_beat([result("ollama", UP), result("disk", UP)], self.checks)
            for _ in range(4):
                self.scripted_beat([result("ollama", DOWN, "connection refused"), result("disk", UP)],
                                   self.checks)
        room_texts = [str(call.kwargs.get("text") or call.args[0]) for call in room_msg.call_args_list]
        ops_texts = [str(call.args[0]) for call in ops_msg.call_args_list]
        self.assertEqual(len(room_texts), 1, room_texts)
        self.assertIn("The Oracle's light goes dark", room_texts[0])
        self.assertIn("connection refused", room_texts[0])
        self.assertEqual(len(ops_texts), 1, ops_texts)
        self.assertEqual([(t.service, t.old, t.new) for t in self.received], [("ollama", UP, DOWN)])
        self.assertEqual(servicestate.current("ollama").state, DOWN)

    def test_a_reason_with_braces_and_funcs_is_announced_as_written(self):
        reason = "bad {x} gateway $random(1, 9) {0}"
        with patch.object(self.char2, "msg") as room_msg:
            self.scripted_beat([result("ollama", UP), result("disk", UP)], self.checks)
            for _ in range(2):
                self.scripted_beat([result("ollama", DOWN, reason), result("disk", UP)], self.checks)
        room_texts = [str(call.kwargs.get("text") or call.args[0]) for call in room_msg.call_args_list]
        self.assertEqual(len(room_texts), 1, room_texts)
        self.assertIn(reason, room_texts[0])
        self.assertEqual([(t.service, t.new) for t in self.received], [("ollama", DOWN)])

    def test_flapping_is_silent(self):
        with patch.object(self.ops, "msg") as ops_msg:
            for state in (UP, DOWN, UP, DOWN, UP, DOWN, UP):
                self.scripted_beat([result("ollama", state), result("disk", UP)], self.checks)
        ops_msg.assert_not_called()
        self.assertEqual(self.received, [])

    def test_region_look_shows_state_latency_and_age(self):
        self.scripted_beat([result("ollama", UP, "ok", 42.0), result("disk", UP)], self.checks)
        text = self.oracle.return_appearance(self.char2)
        self.assertIn("ollama", text)
        self.assertIn("up", text)
        self.assertIn("42 ms", text)
        self.assertIn("checked 0s ago", text)

    def test_a_beat_in_progress_is_not_doubled(self):
        self.script.ndb.cycle_running = True
        outcome = []
        from world.heartbeat.service import beat

        with patch("world.heartbeat.service.run_cycle") as run_cycle:
            beat(self.script, checks=self.checks).addCallback(outcome.append)
        run_cycle.assert_not_called()
        self.assertEqual(outcome, [None])


class HeartbeatScriptTests(EvenniaTest):
    def test_the_script_is_single_after_a_restart_of_global_scripts(self):
        first = evennia.GLOBAL_SCRIPTS.get("heartbeat")
        evennia.GLOBAL_SCRIPTS.start()  # what every server start and reload does
        evennia.GLOBAL_SCRIPTS.start()
        self.assertEqual(HeartbeatScript.objects.filter(db_key="heartbeat").count(), 1)
        self.assertEqual(evennia.GLOBAL_SCRIPTS.get("heartbeat").id, first.id)

    def test_interval_change_persists_on_the_script(self):
        script = evennia.GLOBAL_SCRIPTS.get("heartbeat")
        script.set_interval(30)
        evennia.GLOBAL_SCRIPTS.start()
        self.assertEqual(evennia.GLOBAL_SCRIPTS.get("heartbeat").interval, 30)


class HistoryTests(EvenniaTest):
    def test_uptime_recent_last_error_and_pruning(self):
        now = time.time()
        history.record([result("ollama", UP, at=now - 300), result("ollama", DOWN, "HTTP 503", at=now - 200),
                        result("ollama", UP, at=now - 100), result("ollama", UP, at=now - 10 * 86400)])
        self.assertAlmostEqual(history.uptime("ollama", now=now), 2 / 3)
        self.assertEqual([s.state for s in history.recent("ollama", 3)], [UP, DOWN, UP])
        self.assertEqual(history.last_error("ollama").reason, "HTTP 503")
        self.assertIsNone(history.uptime("gitea", now=now))
        self.assertEqual(history.prune(now), 1)
        self.assertEqual(HeartbeatSample.objects.count(), 3)

    def test_daily_log_gets_one_json_line_per_result(self):
        with tempfile.TemporaryDirectory() as folder, override_settings(HEARTBEAT_LOG_DIR=folder):
            path = history.log_path(time.time())
            history._append(path, json.dumps(result("disk", UP).as_dict()) + "\n")
            history._append(path, json.dumps(result("disk", DOWN).as_dict()) + "\n")
            self.assertTrue(os.path.basename(path).startswith("heartbeat-"))
            with open(path) as handle:
                rows = [json.loads(line) for line in handle]
        self.assertEqual([row["state"] for row in rows], [UP, DOWN])
        self.assertEqual(rows[0]["name"], "disk")
