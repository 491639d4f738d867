"""
What the agents' signs of life cost the reactor in database writes: one save
per changed Attribute; the fields every decision changes (`last_seen`, goal,
decision, reason, decision times, recent decisions, tokens) written behind,
one per reactor turn; and a report that repeats itself holding only what grows
(README, "Latency").
"""

from unittest.mock import patch

from django.db import connection
from django.test.utils import CaptureQueriesContext
from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils.test_resources import EvenniaTest

from typeclasses import writebehind
from typeclasses.agents import WRITE_BEHIND_SECONDS
from typeclasses.attributestore import OneSaveAttributeBackend
from world import agentfleet
from world.globalscripts import global_script
from world.heartbeat.liveness import agent_last_seen

from .support.clocks import ReactorTurnClock
from .test_agent_world import AgentWorldMixin


def attribute_updates(queries):
    """The UPDATE statements on the Attribute table among captured queries."""
    return [query["sql"] for query in queries
            if query["sql"].startswith("UPDATE") and "typeclasses_attribute" in query["sql"]]


def attribute_writes(queries):
    """The statements that create or update an Attribute among captured queries."""
    return [query["sql"] for query in queries if query["sql"].startswith(("UPDATE", "INSERT"))
            and "typeclasses_attribute" in query["sql"].split("(")[0]]


class OneSaveAttributeBackendTests(AgentWorldMixin, EvenniaTest):
    def test_an_agent_attribute_update_is_one_statement_and_reads_back(self):
        timmy = self.agent("Timmy")
        timmy.mode = "llm"
        with CaptureQueriesContext(connection) as captured:
            timmy.mode = "planner"
        self.assertEqual(len(attribute_updates(captured.captured_queries)), 1)
        timmy.attributes.reset_cache()
        self.assertEqual(timmy.mode, "planner")

    def test_a_string_attribute_update_keeps_only_the_string(self):
        timmy = self.agent("Timmy")
        timmy.attributes.add("motto", "keep the lamps lit", strattr=True)
        with CaptureQueriesContext(connection) as captured:
            timmy.attributes.add("motto", "answer the bell", strattr=True)
        self.assertEqual(len(attribute_updates(captured.captured_queries)), 1)
        timmy.attributes.reset_cache()
        self.assertEqual(timmy.attributes.get("motto", strattr=True), "answer the bell")
        self.assertIsNone(timmy.attributes.get("motto"))

    def test_every_game_typeclass_uses_it(self):
        heartbeat = global_script("heartbeat")
        for holder in (self.agent("Ezra"), heartbeat, self.char1, self.room1, self.exit, self.account):
            self.assertIsInstance(holder.attributes.backend, OneSaveAttributeBackend, holder)
        self.char1.db.mood = "calm"
        with CaptureQueriesContext(connection) as captured:
            self.char1.db.mood = "watchful"
        self.assertEqual(len(attribute_updates(captured.captured_queries)), 1)


class WrittenBehindMixin(AgentWorldMixin):
    """Timmy's written-behind fields wait on a task.Clock; `stored()` reads the database."""

    def setUp(self):
        super().setUp()
        self.clock = ReactorTurnClock()
        self.timmy = self.agent("Timmy")
        self.timmy.write_behind.clock = self.clock

    def stored(self, key):
        """What the database holds for one of Timmy's Attributes (not the held value)."""
        self.timmy.attributes.reset_cache()
        return self.timmy.attributes.get(key)

    def writes_per_turn(self, turns):
        """Advance the clock turn by turn; the Attribute keys written in each turn."""
        written = []
        update, create = OneSaveAttributeBackend.do_update_attribute, OneSaveAttributeBackend.do_create_attribute
        with patch.object(OneSaveAttributeBackend, "do_update_attribute", autospec=True,
                          side_effect=lambda backend, attr, *a: (written[-1].append(attr.db_key),
                                                                 update(backend, attr, *a))[1]), \
                patch.object(OneSaveAttributeBackend, "do_create_attribute", autospec=True,
                             side_effect=lambda backend, key, *a, **k: (written[-1].append(key),
                                                                        create(backend, key, *a, **k))[1]):
            for delay in turns:
                written.append([])
                self.clock.advance(delay)
        return written


class WriteBehindTests(WrittenBehindMixin, EvenniaTest):
    def test_a_change_is_read_back_at_once_and_stored_after_the_delay(self):
        self.timmy.last_seen = 1_800_000_000.0
        self.timmy.last_seen = 1_800_000_002.0
        self.assertEqual((self.timmy.last_seen, self.stored("stored_last_seen")), (1_800_000_002.0, None))
        self.clock.advance(WRITE_BEHIND_SECONDS - 0.1)
        self.assertIsNone(self.stored("stored_last_seen"))
        self.clock.advance(0.1)
        self.assertEqual(self.stored("stored_last_seen"), 1_800_000_002.0)
        self.assertEqual(self.timmy.write_behind.values, {})

    def test_held_fields_are_written_one_per_reactor_turn_oldest_first(self):
        agentfleet.apply_report(self.timmy, {"mode": "llm", "goal": "mind the vault", "decision": "vault",
                                             "reason": "backups are late", "tokens": 40}, now=1_800_000_000.0)
        written = self.writes_per_turn([WRITE_BEHIND_SECONDS] + [0] * 7)
        self.assertEqual(written, [["stored_last_seen"], ["current_goal"], ["last_decision"], ["last_reason"],
                                   ["decision_times"], ["recent_decisions"], ["tokens_used"], []])
        self.assertEqual((self.stored("current_goal"), self.stored("tokens_used")), ("mind the vault", 40))
        self.assertEqual(self.stored("recent_decisions")[-1]["command"], "vault")

    def test_a_field_changed_again_while_held_is_written_once_with_its_newest_value(self):
        for tokens in (10, 20, 30):
            self.timmy.tokens_used = tokens
        self.assertEqual(self.writes_per_turn([WRITE_BEHIND_SECONDS, 0]), [["tokens_used"], []])
        self.assertEqual(self.stored("tokens_used"), 30)

    def test_flush_all_writes_everything_held_at_once(self):
        """What a reload or a shutdown does first (server/conf/at_server_startstop.py)."""
        self.timmy.current_goal = "keep watch"
        self.timmy.last_seen = 1_800_000_005.0
        writebehind.flush_all()
        self.assertEqual((self.stored("current_goal"), self.stored("stored_last_seen")),
                         ("keep watch", 1_800_000_005.0))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertNotIn(self.timmy.write_behind, writebehind._HOLDING)

    def test_the_server_stop_hook_flushes(self):
        from server.conf import at_server_startstop

        self.timmy.current_goal = "keep watch"
        with patch("world.lifecycle.remove_ready_file"):
            at_server_startstop.at_server_stop()
        self.assertEqual(self.stored("current_goal"), "keep watch")

    def test_an_idmapper_flush_writes_what_is_held_first(self):
        self.timmy.last_decision = "look"
        self.timmy.at_idmapper_flush()
        self.assertEqual(self.stored("last_decision"), "look")

    def test_a_deleted_agent_is_not_written(self):
        self.timmy.current_goal = "keep watch"
        buffer = self.timmy.write_behind
        self.timmy.delete()
        self.clock.advance(WRITE_BEHIND_SECONDS)
        self.assertEqual((buffer.values, buffer.call), ({}, None))

    def test_a_field_that_cannot_be_written_is_logged_and_the_rest_still_are(self):
        self.timmy.current_goal = "keep watch"
        self.timmy.last_reason = "all quiet"
        goal = type(self.timmy).current_goal
        with patch.object(type(goal), "store", autospec=True,
                          side_effect=lambda prop, obj, value: (_ for _ in ()).throw(ValueError("no"))
                          if prop is goal else AttributeProperty.__set__(prop, obj, value)), \
                patch("typeclasses.writebehind.logger.log_trace") as log_trace:
            self.clock.advance(WRITE_BEHIND_SECONDS)
            self.clock.advance(0)
        log_trace.assert_called_once()
        self.assertIn("current_goal of Timmy", log_trace.call_args[0][0])
        self.assertEqual((self.stored("current_goal"), self.stored("last_reason")), (None, "all quiet"))

    def test_the_heartbeat_reads_every_agents_latest_sign_of_life(self):
        self.timmy.last_seen = 1_800_000_002.0
        seen = agent_last_seen()
        self.assertEqual(sorted(seen), ["Allegro", "Allegro-Primus", "Bezalel", "Ezra", "Timmy"])
        self.assertEqual((seen["Timmy"], seen["Ezra"]), (1_800_000_002.0, None))


class RepeatedReportTests(WrittenBehindMixin, EvenniaTest):
    REPORT = {"mode": "llm", "goal": "keep watch", "decision": "wait", "reason": "all is well", "tokens": 50}

    def report(self, report, now):
        """Apply `report` to Timmy; return (Attribute keys written at once, keys newly held)."""
        writebehind.flush_all()
        with CaptureQueriesContext(connection) as captured:
            agentfleet.apply_report(self.timmy, dict(report), now=now)
        written = attribute_writes(captured.captured_queries)
        return len(written), sorted(self.timmy.write_behind.values)

    def test_a_report_writes_nothing_at_once_but_a_change_of_mode(self):
        self.assertEqual(self.report(self.REPORT, now=1_800_000_000.0)[0], 1)  # "starting" -> "llm" (a new Attribute)
        self.assertEqual(self.report(self.REPORT, now=1_800_000_001.0)[0], 0)
        self.assertEqual(self.stored("mode"), "llm")

    def test_a_repeated_wait_holds_only_the_decision_times_the_tokens_and_the_sign_of_life(self):
        self.report(self.REPORT, now=1_800_000_000.0)
        self.assertEqual(self.report(self.REPORT, now=1_800_000_001.0)[1],
                         ["decision_times", "stored_last_seen", "tokens_used"])
        self.assertEqual((self.timmy.tokens_used, self.timmy.last_seen, self.timmy.last_decision),
                         (100, 1_800_000_001.0, "wait"))
        self.assertEqual(self.timmy.decision_times, [1_800_000_000.0, 1_800_000_001.0])

    def test_what_changes_is_held_and_a_real_decision_is_remembered(self):
        self.report(self.REPORT, now=1_800_000_000.0)
        changed = dict(self.REPORT, goal="mind the vault", decision="vault", reason="backups are late", tokens=0)
        self.assertEqual(self.report(changed, now=1_800_000_001.0)[1],
                         ["current_goal", "decision_times", "last_decision", "last_reason", "recent_decisions",
                          "stored_last_seen"])
        self.assertEqual((self.timmy.current_goal, self.timmy.last_reason), ("mind the vault", "backups are late"))
        self.assertEqual(self.timmy.recent_decisions[-1]["command"], "vault")
        self.clock.advance(WRITE_BEHIND_SECONDS)
        for _ in range(6):
            self.clock.advance(0)
        self.assertEqual(self.stored("recent_decisions")[-1]["command"], "vault")
