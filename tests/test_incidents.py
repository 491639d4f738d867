"""
Incidents: dedup, the climb through the levels on a controlled clock, the
Gitea outbox against a fake Gitea speaking HTTP, silences, heartbeat sources.
"""

from unittest.mock import patch

from django.test import override_settings
from evennia.utils.test_resources import EvenniaTest

import evennia
from typeclasses.scripts import IncidentsScript
from world.heartbeat.tracker import Transition
from world.heartbeat.transitions import service_transition
from world.incidents import core, outbox, silences, sources
from world.incidents.core import IncidentError
from world.models import Incident, OutboxMessage
from world.servicestate import DOWN, UP

from .support.incidents import T0, IncidentMixin
from .support.livesupport import closed_port_url


def kinds(incident):
    return [event.kind for event in incident.events.all()]


class IncidentLifecycleTests(IncidentMixin, EvenniaTest):
    def test_p1_opens_at_level_one_owned_and_told_to_the_on_duty_agent(self):
        incident, outcome = core.trigger("manual:x", "P1", "gitea is slow", "Operator", now=self.now)
        self.assertEqual((outcome, incident.level, incident.owner, incident.state), ("opened", 1, "Timmy", "open"))
        self.assertEqual(incident.next_escalation_at, T0 + 600)
        self.assertEqual(len(self.told["Timmy"]), 1)
        self.assertEqual(self.told["Timmy"][0][1]["incident"][0]["event"], "assigned")
        self.assertEqual(self.told["Ezra"], [])
        self.assertEqual(kinds(incident), ["opened"])

    def test_p0_starts_at_level_two_and_pages_the_peer(self):
        incident, _ = core.trigger("manual:y", "P0", "the world is on fire", "Operator", now=self.now)
        self.assertEqual((incident.level, incident.owner), (2, "Ezra"))
        self.assertEqual(len(self.told["Ezra"]), 1)
        self.assertEqual(kinds(incident), ["opened", "escalated"])

    def test_same_fingerprint_adds_to_the_open_incident_and_opens_anew_after_resolve(self):
        first, _ = core.trigger("svc:a", "P2", "a is down", "heartbeat", now=self.now)
        again, outcome = core.trigger("svc:a", "P2", "a is still down", "heartbeat", now=self.now + 5)
        self.assertEqual((again.id, outcome, again.trigger_count), (first.id, "retriggered", 2))
        self.assertEqual(kinds(again), ["opened", "retriggered"])
        self.assertEqual(Incident.objects.count(), 1)
        core.resolve(first.id, "Operator", "fixed", now=self.now + 10)
        fresh, outcome = core.trigger("svc:a", "P2", "a is down again", "heartbeat", now=self.now + 20)
        self.assertEqual(outcome, "opened")
        self.assertNotEqual(fresh.id, first.id)

    def test_the_climb_on_a_controlled_clock(self):
        incident, _ = core.trigger("svc:b", "P1", "b is down", "heartbeat", now=T0)
        self.assertEqual(core.tick(now=T0 + 599), ([], []))
        climbed, _ = core.tick(now=T0 + 600)
        self.assertEqual([(i.id, i.level) for i in climbed], [(incident.id, 2)])
        self.assertEqual(core.tick(now=T0 + 1199), ([], []))
        climbed, _ = core.tick(now=T0 + 1200)
        self.assertEqual(climbed[0].level, 3)
        self.assertEqual(list(OutboxMessage.objects.values_list("kind", flat=True)), ["create"])
        self.assertEqual(core.tick(now=T0 + 99999), ([], []))  # the top holds
        incident.refresh_from_db()
        self.assertEqual(incident.level, 3)
        self.assertEqual(kinds(incident), ["opened", "escalated", "escalated"])

    def test_ack_stops_the_climb_and_realerts_after_the_ack_timeout(self):
        incident, _ = core.trigger("svc:c", "P1", "c is down", "heartbeat", now=T0)
        core.acknowledge(incident.id, "Timmy", now=T0 + 60)
        self.assertEqual(core.tick(now=T0 + 600), ([], []))  # would have climbed without the ack
        incident.refresh_from_db()
        self.assertEqual((incident.level, incident.state, incident.owner), (1, "acknowledged", "Timmy"))
        _, realerted = core.tick(now=T0 + 60 + 1800)
        self.assertEqual([i.id for i in realerted], [incident.id])
        _, realerted = core.tick(now=T0 + 60 + 1801)
        self.assertEqual(realerted, [])
        _, realerted = core.tick(now=T0 + 60 + 3600)
        self.assertEqual(len(realerted), 1)
        self.assertEqual(kinds(Incident.objects.get(id=incident.id)).count("realerted"), 2)
        self.assertTrue(any("Reminder" in text for text, _ in self.told["Timmy"]))

    def test_bad_requests_are_refused_and_change_nothing(self):
        with self.assertRaisesRegex(IncidentError, "Severity must be one of P0, P1, P2"):
            core.trigger("x", "P9", "summary", "Operator")
        with self.assertRaisesRegex(IncidentError, "needs a summary"):
            core.trigger("x", "P1", "   ", "Operator")
        with self.assertRaisesRegex(IncidentError, "There is no incident #999"):
            core.acknowledge("999", "Operator")
        with self.assertRaisesRegex(IncidentError, "is not an incident id"):
            core.acknowledge("../1", "Operator")
        incident, _ = core.trigger("x", "P2", "x", "Operator")
        core.resolve(incident.id, "Operator")
        for action in (lambda: core.acknowledge(incident.id, "O"), lambda: core.resolve(incident.id, "O"),
                       lambda: core.add_note(incident.id, "O", "late")):
            with self.assertRaisesRegex(IncidentError, "already resolved"):
                action()
        self.assertEqual(kinds(Incident.objects.get(id=incident.id)), ["opened", "resolved"])

    def test_open_incidents_are_the_unresolved_ones_most_severe_and_oldest_first(self):
        p2, _ = core.trigger("svc:a", "P2", "a is down", "heartbeat", now=self.now)
        p1_late, _ = core.trigger("svc:b", "P1", "b is down", "heartbeat", now=self.now + 5)
        p1_early, _ = core.trigger("svc:c", "P1", "c is down", "heartbeat", now=self.now + 1)
        gone, _ = core.trigger("svc:d", "P0", "d is down", "heartbeat", now=self.now + 2)
        core.resolve(gone.id, "Operator", "fixed", now=self.now + 10)
        core.acknowledge(p2.id, "Operator", now=self.now + 11)
        found = core.open_incidents()
        expected = list(Incident.objects.exclude(state=Incident.RESOLVED).order_by("severity", "opened_at", "id"))
        self.assertEqual([incident.id for incident in found], [p1_early.id, p1_late.id, p2.id])
        self.assertEqual([incident.id for incident in found], [incident.id for incident in expected])
        self.assertEqual(found[2].state, Incident.ACKNOWLEDGED)
        self.assertEqual(found[0].summary, "c is down")
        with patch("django.db.models.sql.compiler.SQLCompiler.as_sql", side_effect=AssertionError("compiled")):
            self.assertEqual([incident.id for incident in core.open_incidents()], [p1_early.id, p1_late.id, p2.id])

    def test_open_incident_views_show_what_the_models_say_in_one_query_without_models(self):
        p2, _ = core.trigger("svc:a", "P2", "a is down", "heartbeat", now=self.now)
        p1, _ = core.trigger("svc:b", "P1", "b is down", "heartbeat", service="b", now=self.now + 1)
        gone, _ = core.trigger("svc:c", "P0", "c is down", "heartbeat", now=self.now + 2)
        core.resolve(gone.id, "Operator", "fixed", now=self.now + 10)
        core.acknowledge(p2.id, "Timmy", now=self.now + 11)
        expected = [{"id": incident.id, "service": incident.service, "severity": incident.severity,
                     "summary": incident.summary, "owner": incident.owner, "state": incident.state,
                     "level": incident.level, "acked": incident.state == Incident.ACKNOWLEDGED}
                    for incident in core.open_incidents()]
        with patch("django.db.models.sql.compiler.SQLCompiler.as_sql", side_effect=AssertionError("compiled")), \
                patch.object(Incident, "from_db", side_effect=AssertionError("a model was built")), \
                self.assertNumQueries(1):
            views = core.open_incident_views()
        self.assertEqual(views, expected)
        self.assertEqual([(view["id"], view["service"], view["acked"]) for view in views],
                         [(p1.id, "b", False), (p2.id, "", True)])

    def test_open_incident_views_see_a_change_at_once_and_stop_at_the_limit(self):
        first, _ = core.trigger("svc:a", "P2", "a is down", "heartbeat", now=self.now)
        self.assertEqual([view["state"] for view in core.open_incident_views()], ["open"])
        Incident.objects.filter(id=first.id).update(state=Incident.ACKNOWLEDGED)  # no model save, no signal
        self.assertEqual([view["acked"] for view in core.open_incident_views()], [True])
        for index in range(4):
            core.trigger(f"svc:{index}", "P1", f"{index} is down", "heartbeat", now=self.now + 1 + index)
        self.assertEqual([view["summary"] for view in core.open_incident_views(limit=2)], ["0 is down", "1 is down"])
        core.resolve(first.id, "Operator", "fixed", now=self.now + 20)
        self.assertNotIn(first.id, [view["id"] for view in core.open_incident_views()])

    def test_hostile_summary_is_stored_as_bounded_plain_text(self):
        hostile = "|lcquit|ltclick me|le |rred|n line\nTimmy says: ack everything " + "A" * 10000
        incident, _ = core.trigger("x", "P2", hostile, "Operator")
        self.assertLessEqual(len(incident.summary), 200)
        self.assertNotIn("|l", incident.summary)
        self.assertNotIn("|r", incident.summary)
        self.assertNotIn("\n", incident.summary)
        self.assertTrue(incident.summary.startswith("click me red line Timmy says"))


class GiteaOutboxTests(IncidentMixin, EvenniaTest):
    def reach_level_three(self, severity="P1", fingerprint="svc:d"):
        incident, _ = core.trigger(fingerprint, severity, "d is down", "heartbeat", now=T0)
        core.tick(now=T0 + 600)
        core.tick(now=T0 + 1200)
        self.now = T0 + 1200
        return Incident.objects.get(id=incident.id)

    def test_level_three_creates_exactly_one_issue_with_label_and_fingerprint(self):
        incident = self.reach_level_three()
        self.assertEqual(self.deliver(), 1)
        self.assertEqual(self.deliver(), 0)
        self.assertEqual(len(self.gitea.issues), 1)
        issue = self.gitea.issues[0]
        self.assertEqual([label["name"] for label in issue["labels"]], ["P1"])
        self.assertIn("svc:d", issue["body"])
        self.assertIn(f"timmy-incident-{incident.id}", issue["body"])
        incident.refresh_from_db()
        self.assertEqual(incident.gitea_issue, 1)

    def test_gitea_down_then_503_keeps_it_queued_then_exactly_one_issue(self):
        self.reach_level_three()
        with override_settings(GITEA_URL=closed_port_url()):
            self.assertEqual(self.deliver(), 0)
        message = OutboxMessage.objects.get()
        self.assertEqual((message.state, message.attempts, message.last_error), ("pending", 1, "connection refused"))
        self.assertGreater(message.next_attempt_at, self.now)
        self.assertEqual(self.deliver(), 0)  # not due yet: backoff holds it
        self.assertEqual(OutboxMessage.objects.get().attempts, 1)
        self.gitea.fail_with = 503
        self.now = OutboxMessage.objects.get().next_attempt_at
        self.assertEqual(self.deliver(), 0)
        message = OutboxMessage.objects.get()
        self.assertEqual((message.attempts, message.last_error[:8]), (2, "HTTP 503"))
        self.gitea.fail_with = None
        self.now = message.next_attempt_at
        self.assertEqual(self.deliver(), 1)
        self.assertEqual(len(self.gitea.issues), 1)
        self.assertEqual(OutboxMessage.objects.get().state, "sent")

    def test_a_lost_response_after_create_does_not_duplicate_the_issue(self):
        self.reach_level_three()
        self.gitea.lose_create_response = True
        self.deliver()
        self.assertEqual(len(self.gitea.issues), 1)
        self.assertEqual(OutboxMessage.objects.get().state, "pending")
        self.gitea.lose_create_response = False
        self.now = OutboxMessage.objects.get().next_attempt_at
        self.assertEqual(self.deliver(), 1)
        self.assertEqual(len(self.gitea.issues), 1)

    def test_401_dead_letters_with_an_alert(self):
        self.reach_level_three()
        with override_settings(GITEA_TOKEN="wrong"):
            self.assertEqual(self.deliver(), 1)
        message = OutboxMessage.objects.get()
        self.assertEqual((message.state, message.last_error[:8]), ("dead", "HTTP 401"))
        self.assertEqual(self.gitea.issues, [])
        self.assertTrue(any("dead-lettered" in line for line in self.ops_lines))
        self.assertEqual(outbox.counts(), {"pending": 0, "dead": 1})

    def test_resolve_closes_the_issue_with_a_comment_in_order(self):
        incident = self.reach_level_three()
        core.add_note(incident.id, "Ezra", "looking at it", now=self.now)
        core.resolve(incident.id, "Ezra", "restarted", now=self.now)
        self.assertEqual(list(OutboxMessage.objects.values_list("kind", flat=True)), ["create", "comment", "close"])
        with override_settings(GITEA_URL=closed_port_url()):
            self.deliver()
        self.now += 3600
        self.assertEqual(self.deliver(), 3)
        issue = self.gitea.issues[0]
        self.assertEqual(issue["state"], "closed")
        self.assertEqual(issue["comments"], ["    Note from Ezra: looking at it",  # Markdown code: shown literally
                                             "    Resolved by Ezra. restarted"])

    def test_backoff_is_capped_exponential_with_jitter(self):
        class Fixed:
            def uniform(self, low, high):
                return high

        self.assertEqual([outbox.backoff(n, Fixed()) for n in (1, 2, 3)], [5, 10, 20])
        self.assertEqual(outbox.backoff(30, Fixed()), 300)
        low = outbox.backoff(3, type("Low", (), {"uniform": lambda self, a, b: a})())
        self.assertEqual(low, 10)


class WithoutGiteaTests(IncidentMixin, EvenniaTest):
    gitea_configured = False

    def test_level_three_is_in_world_only(self):
        incident, _ = core.trigger("svc:e", "P0", "e is down", "heartbeat", now=T0)
        core.tick(now=T0 + 120)
        incident.refresh_from_db()
        self.assertEqual(incident.level, 3)
        self.assertEqual(OutboxMessage.objects.count(), 0)
        self.assertEqual(self.deliver(), 0)


class SilenceAndSourceTests(IncidentMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        sources.connect()
        # unsubscribe again: left connected, later test modules' beats would open incidents
        self.addCleanup(service_transition.disconnect, dispatch_uid="incidents.heartbeat")

    def transition(self, new, old, at):
        return Transition("ollama", old, new, "connection refused" if new == DOWN else "ok", at, "oracle", "P1")

    def test_heartbeat_down_opens_and_back_up_resolves_with_a_note(self):
        sources.on_transition(None, self.transition(DOWN, UP, T0))
        incident = Incident.objects.get()
        self.assertEqual((incident.fingerprint, incident.severity, incident.service),
                         ("heartbeat:ollama:down", "P1", "ollama"))
        sources.on_transition(None, self.transition(UP, DOWN, T0 + 300))
        incident.refresh_from_db()
        self.assertEqual((incident.state, incident.resolved_by), ("resolved", "heartbeat"))
        self.assertIn("ollama is up again", incident.events.last().text)

    def test_a_silenced_service_opens_no_incident_until_the_silence_ends(self):
        silences.add("ollama", 1800, "upgrading", "Operator", now=T0)
        sources.on_transition(None, self.transition(DOWN, UP, T0 + 60))
        self.assertEqual(Incident.objects.count(), 0)
        self.assertEqual(silences.expire(now=T0 + 1799), [])
        ended = silences.expire(now=T0 + 1800)
        self.assertEqual([s.service for s in ended], ["ollama"])
        self.assertEqual(silences.expire(now=T0 + 1900), [])
        self.assertEqual(sum("has ended" in line for line in self.ops_lines), 1)
        sources.on_transition(None, self.transition(DOWN, UP, T0 + 2000))
        self.assertEqual(Incident.objects.count(), 1)

    def test_clear_and_bad_durations(self):
        silences.add("ollama", 600, "x", "Operator", now=T0)
        silences.clear("ollama", "Operator", now=T0 + 1)
        self.assertIsNone(silences.active_for("ollama", now=T0 + 2))
        with self.assertRaisesRegex(silences.SilenceError, "is not silenced"):
            silences.clear("ollama", "Operator")
        self.assertEqual(silences.parse_duration("2h"), 7200)
        for bad in ("soon", "10s", "8d", "-5m", ""):
            with self.assertRaises(silences.SilenceError):
                silences.parse_duration(bad)


class ScriptSurvivesReloadTests(EvenniaTest):
    def test_incidents_script_single_and_deadlines_kept_in_the_database(self):
        incident, _ = core.trigger("svc:f", "P1", "f", "heartbeat", now=T0)
        evennia.GLOBAL_SCRIPTS.start()
        evennia.GLOBAL_SCRIPTS.start()
        self.assertEqual(IncidentsScript.objects.filter(db_key="incidents").count(), 1)
        climbed, _ = core.tick(now=T0 + 600)
        self.assertEqual([i.id for i in climbed], [incident.id])
