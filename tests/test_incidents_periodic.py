"""
The incidents Script's periodic work: each piece in a reactor turn of its own,
in order, and a failing piece logged without stopping the rest.
"""

import time
from unittest.mock import patch

from evennia.utils.test_resources import EvenniaTest
from twisted.internet import defer

from world.incidents import core, silences
from world.incidents.periodic import run_due_work
from world.models import Incident, Silence

from .support.clocks import ReactorTurnClock
from .support.incidents import IncidentMixin


class PeriodicWorkTests(IncidentMixin, EvenniaTest):
    gitea_configured = False

    def due_work(self):
        """A silence that has ended, an open incident overdue to climb, an acked one due a re-alert."""
        past = time.time() - 4000
        silences.add("forge", 60, "maintenance", "Operator", now=past)
        self.climber, _ = core.trigger("svc:a", "P1", "a is down", "heartbeat", now=past)
        acked, _ = core.trigger("svc:b", "P1", "b is down", "heartbeat", now=past)
        core.acknowledge(acked.id, "Timmy", now=past)
        self.acked = acked

    def state(self):
        return (Silence.objects.filter(ended_at__isnull=True).count(),
                Incident.objects.get(id=self.climber.id).level,
                Incident.objects.get(id=self.acked.id).events.filter(kind="realerted").count())

    def test_each_piece_runs_in_a_turn_of_its_own_in_order(self):
        self.due_work()
        clock, done, seen = ReactorTurnClock(), [], [self.state()]
        run_due_work(reactor=clock).addCallback(done.append)
        for _ in range(5):
            clock.advance(0)
            seen.append(self.state() + (len(done),))
        self.assertEqual(seen[0], (1, 1, 0))
        self.assertEqual(seen[1:], [
            (0, 1, 0, 0),  # the silence ended
            (0, 2, 0, 0),  # the overdue incident climbed
            (0, 2, 1, 0),  # the acknowledged one was re-alerted
            (0, 2, 1, 1),  # the outbox (no Gitea: nothing to deliver), and done
            (0, 2, 1, 1),
        ])

    def test_nothing_runs_in_the_turn_that_asked(self):
        self.due_work()
        clock = ReactorTurnClock()
        run_due_work(reactor=clock)
        self.assertEqual(self.state(), (1, 1, 0))

    def test_a_failing_piece_is_logged_and_the_ones_after_it_still_run(self):
        ran, clock, done = [], ReactorTurnClock(), []

        def broken():
            raise RuntimeError("database is locked")

        steps = (("silences", broken), ("escalations", lambda: ran.append("escalations")),
                 ("outbox", lambda: defer.fail(ValueError("gitea said no"))),
                 ("re-alerts", lambda: ran.append("re-alerts")))
        with patch("world.incidents.periodic.logger") as log:
            run_due_work(reactor=clock, steps=steps).addCallback(done.append)
            for _ in range(4):
                clock.advance(0)
        self.assertEqual(ran, ["escalations", "re-alerts"])
        self.assertEqual(done, [None])
        logged = [call.args[0] for call in log.log_trace.call_args_list]
        self.assertEqual(len(logged), 2)
        self.assertIn("silences step failed: database is locked", logged[0])
        self.assertIn("outbox step failed: gitea said no", logged[1])
