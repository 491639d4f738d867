"""
What the agents' signs of life cost the reactor in database writes: one save
per changed Attribute, `last_seen` stored at most every few seconds, and a
report that repeats itself writing only what grows (README, "Latency").
"""

from unittest.mock import patch

from django.db import connection
from django.test.utils import CaptureQueriesContext
from evennia.utils.test_resources import EvenniaTest

from typeclasses.agents import LAST_SEEN_STORE_EVERY
from typeclasses.attributestore import OneSaveAttributeBackend
from world import agentfleet
from world.globalscripts import global_script
from world.heartbeat.liveness import agent_last_seen

from .test_agent_world import AgentWorldMixin


def attribute_updates(queries):
    """The UPDATE statements on the Attribute table among captured queries."""
    return [query["sql"] for query in queries
            if query["sql"].startswith("UPDATE") and "typeclasses_attribute" in query["sql"]]


class OneSaveAttributeBackendTests(AgentWorldMixin, EvenniaTest):
    def test_an_agent_attribute_update_is_one_statement_and_reads_back(self):
        timmy = self.agent("Timmy")
        timmy.current_goal = "watch the hearth"
        with CaptureQueriesContext(connection) as captured:
            timmy.current_goal = "watch the forge"
        self.assertEqual(len(attribute_updates(captured.captured_queries)), 1)
        timmy.attributes.reset_cache()
        self.assertEqual(timmy.current_goal, "watch the forge")

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


class LastSeenTests(AgentWorldMixin, EvenniaTest):
    def test_the_exact_time_is_read_back_and_stored_at_most_every_few_seconds(self):
        timmy = self.agent("Timmy")
        start = 1_800_000_000.0
        timmy.last_seen = start
        timmy.last_seen = start + 1
        timmy.last_seen = start + 2
        self.assertEqual((timmy.last_seen, timmy.stored_last_seen), (start + 2, start))
        timmy.last_seen = start + LAST_SEEN_STORE_EVERY
        self.assertEqual(timmy.stored_last_seen, start + LAST_SEEN_STORE_EVERY)

    def test_after_a_restart_the_stored_time_is_what_is_known(self):
        timmy = self.agent("Timmy")
        timmy.last_seen = 1_800_000_000.0
        timmy.last_seen = 1_800_000_003.0
        timmy.ndb.last_seen = None  # a restart empties ndb
        self.assertEqual(timmy.last_seen, 1_800_000_000.0)

    def test_an_earlier_time_or_none_is_stored_at_once(self):
        timmy = self.agent("Timmy")
        timmy.last_seen = 1_800_000_000.0
        timmy.last_seen = 1.0
        self.assertEqual(timmy.stored_last_seen, 1.0)
        timmy.last_seen = None
        self.assertEqual((timmy.last_seen, timmy.stored_last_seen), (None, None))

    def test_the_heartbeat_reads_every_agents_latest_sign_of_life(self):
        timmy = self.agent("Timmy")
        timmy.last_seen = 1_800_000_000.0
        timmy.last_seen = 1_800_000_002.0
        seen = agent_last_seen()
        self.assertEqual(sorted(seen), ["Allegro", "Allegro-Primus", "Bezalel", "Ezra", "Timmy"])
        self.assertEqual((seen["Timmy"], seen["Ezra"]), (1_800_000_002.0, None))


class RepeatedReportTests(AgentWorldMixin, EvenniaTest):
    REPORT = {"mode": "llm", "goal": "keep watch", "decision": "wait", "reason": "all is well", "tokens": 50}

    def written_by(self, report, now):
        """The Attribute keys `apply_report` updates or creates for `report` at `now`."""
        keys = []
        update, create = OneSaveAttributeBackend.do_update_attribute, OneSaveAttributeBackend.do_create_attribute

        def record_update(backend, attr, value, strvalue):
            keys.append(attr.db_key)
            return update(backend, attr, value, strvalue)

        def record_create(backend, key, *args, **kwargs):
            keys.append(key)
            return create(backend, key, *args, **kwargs)

        with patch.object(OneSaveAttributeBackend, "do_update_attribute", autospec=True, side_effect=record_update), \
                patch.object(OneSaveAttributeBackend, "do_create_attribute", autospec=True, side_effect=record_create):
            agentfleet.apply_report(self.agent("Timmy"), report, now=now)
        return sorted(keys)

    def test_a_repeated_wait_writes_only_the_decision_times_and_the_tokens(self):
        self.written_by(self.REPORT, now=1_800_000_000.0)
        self.assertEqual(self.written_by(self.REPORT, now=1_800_000_001.0), ["decision_times", "tokens_used"])
        timmy = self.agent("Timmy")
        self.assertEqual((timmy.tokens_used, timmy.last_seen, timmy.last_decision), (100, 1_800_000_001.0, "wait"))
        self.assertEqual(timmy.decision_times, [1_800_000_000.0, 1_800_000_001.0])

    def test_what_changes_is_written_and_a_real_decision_is_remembered(self):
        self.written_by(self.REPORT, now=1_800_000_000.0)
        changed = dict(self.REPORT, goal="mind the vault", decision="vault", reason="backups are late", tokens=0)
        self.assertEqual(self.written_by(changed, now=1_800_000_001.0),
                         ["current_goal", "decision_times", "last_decision", "last_reason", "recent_decisions"])
        timmy = self.agent("Timmy")
        self.assertEqual((timmy.current_goal, timmy.last_reason), ("mind the vault", "backups are late"))
        self.assertEqual(timmy.recent_decisions[-1]["command"], "vault")
