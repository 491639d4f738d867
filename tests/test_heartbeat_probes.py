"""
Probes against real sockets on loopback, on the real reactor.

These are Twisted trial test cases: each test returns a Deferred and trial
spins the reactor until it fires. The fake services run in their own threads.
"""

import time
from unittest import TestCase
from unittest.mock import patch

from twisted.internet import defer

from world.heartbeat.cycle import run_cycle
from world.heartbeat.probes import probe, probe_agents
from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP

from .support.checks import make_check
from .support.clocks import ReactorTurnClock
from .support.fake_http import FakeHTTPService, Route
from .support.livesupport import closed_port
from .support.reactor import ReactorTestCase


class HTTPProbeTests(ReactorTestCase):
    def serve(self, routes, **kwargs):
        service = FakeHTTPService(routes, **kwargs).start()
        self.addCleanup(service.stop)
        return service

    @defer.inlineCallbacks
    def test_up(self):
        service = self.serve({"/health": Route(200, {"ok": True})})
        result = yield probe(make_check(target=service.url + "/health", timeout=2))
        self.assertEqual((result.state, result.reason), (UP, "HTTP 200"))
        self.assertGreater(result.latency_ms, 0)
        self.assertGreater(result.checked_at, 0)

    @defer.inlineCallbacks
    def test_slow_answer_is_degraded(self):
        service = self.serve({"/health": Route(200, {}, delay=0.3)})
        result = yield probe(make_check(target=service.url + "/health", timeout=2, degraded_ms=100))
        self.assertEqual(result.state, DEGRADED)
        self.assertIn("slow", result.reason)

    @defer.inlineCallbacks
    def test_503_is_down_with_status(self):
        service = self.serve({"/health": Route(503, {"error": "busy"})})
        result = yield probe(make_check(target=service.url + "/health", timeout=2))
        self.assertEqual((result.state, result.reason), (DOWN, "HTTP 503"))

    @defer.inlineCallbacks
    def test_hanging_service_times_out_never_up(self):
        service = self.serve({"/health": Route(hang=True)})
        result = yield probe(make_check(target=service.url + "/health", timeout=0.5))
        self.assertEqual((result.state, result.reason), (DOWN, "timeout after 0.5 s"))

    @defer.inlineCallbacks
    def test_stopped_service_is_refused(self):
        service = FakeHTTPService({"/health": Route(200)}).start()
        url = service.url + "/health"
        service.stop()
        result = yield probe(make_check(target=url, timeout=2))
        self.assertEqual((result.state, result.reason), (DOWN, "connection refused"))

    @defer.inlineCallbacks
    def test_expected_status(self):
        service = self.serve({"/": Route(204, b"")})
        result = yield probe(make_check(target=service.url + "/", timeout=2, expect_status=200))
        self.assertEqual((result.state, result.reason), (DOWN, "HTTP 204"))

    @defer.inlineCallbacks
    def test_ollama_reports_models(self):
        service = self.serve({
            "/api/version": Route(200, {"version": "0.5.1"}),
            "/api/tags": Route(200, {"models": [{"name": "llama3.2:3b"}, {"name": "qwen2.5:7b"}]}),
        })
        result = yield probe(make_check(kind="ollama", target=service.url, timeout=2))
        self.assertEqual(result.state, UP)
        self.assertEqual(result.details["models"], ["llama3.2:3b", "qwen2.5:7b"])
        self.assertIn("2 model(s)", result.reason)

    @defer.inlineCallbacks
    def test_ollama_without_tags_is_degraded(self):
        service = self.serve({"/api/version": Route(200, {"version": "0.5.1"}), "/api/tags": Route(500)})
        result = yield probe(make_check(kind="ollama", target=service.url, timeout=2))
        self.assertEqual(result.state, DEGRADED)
        self.assertIn("HTTP 500", result.reason)


class TCPAndDiskProbeTests(ReactorTestCase):
    @defer.inlineCallbacks
    def test_closed_tcp_port_is_refused(self):
        result = yield probe(make_check(kind="tcp", target=f"127.0.0.1:{closed_port()}", timeout=2))
        self.assertEqual((result.state, result.reason), (DOWN, "connection refused"))

    @defer.inlineCallbacks
    def test_open_tcp_port_is_up(self):
        service = FakeHTTPService().start()
        self.addCleanup(service.stop)
        result = yield probe(make_check(kind="tcp", target=f"127.0.0.1:{service.port}", timeout=2))
        self.assertEqual(result.state, UP)

    @defer.inlineCallbacks
    def test_disk_thresholds_by_configuration(self):
        healthy = yield probe(make_check(kind="disk", target="/", warn_percent=99.9, critical_percent=100))
        warned = yield probe(make_check(kind="disk", target="/", warn_percent=0, critical_percent=100))
        crossed = yield probe(make_check(kind="disk", target="/", warn_percent=0, critical_percent=0))
        self.assertEqual(healthy.state, UP)
        self.assertEqual(warned.state, DEGRADED)
        self.assertEqual(crossed.state, DOWN)
        self.assertRegex(crossed.reason, r"^disk \d+% full")

    @defer.inlineCallbacks
    def test_missing_disk_path_is_down(self):
        result = yield probe(make_check(kind="disk", target="/no/such/path", timeout=2))
        self.assertEqual(result.state, DOWN)
        self.assertIn("FileNotFoundError", result.reason)


class CycleConcurrencyTests(ReactorTestCase):
    @defer.inlineCallbacks
    def test_all_probes_start_before_any_completes(self):
        """The server answers only once all ten requests have arrived."""
        service = FakeHTTPService({"/": Route(200)}, barrier=10).start()
        self.addCleanup(service.stop)
        checks = [make_check(f"svc{i}", target=service.url + "/", timeout=5) for i in range(10)]
        started, completed_before_all_started = [], []

        def on_start(check):
            started.append(check.name)

        deferred = run_cycle(checks, on_start=on_start)
        completed_before_all_started.append(deferred.called)
        results = yield deferred
        self.assertEqual(len(started), 10)
        self.assertEqual(completed_before_all_started, [False])
        self.assertEqual([r.state for r in results], [UP] * 10)
        self.assertEqual(len(service.requests), 10)

    @defer.inlineCallbacks
    def test_ten_hanging_services_all_time_out_in_one_cycle(self):
        service = FakeHTTPService({"/": Route(hang=True)}).start()
        self.addCleanup(service.stop)
        checks = [make_check(f"svc{i}", target=service.url + "/", timeout=0.5) for i in range(10)]
        results = yield run_cycle(checks)
        self.assertEqual([r.reason for r in results], ["timeout after 0.5 s"] * 10)
        self.assertEqual([r.state for r in results], [DOWN] * 10)


class CycleTurnsTests(TestCase):
    """Each probe starts in its own turn of the reactor, so a beat never holds it for long."""

    def run_with_fake_probes(self, names):
        clock, pending = ReactorTurnClock(), {}

        def fake_probe(check, reactor):
            self.assertIs(reactor, clock)
            pending[check.name] = defer.Deferred()
            return pending[check.name]

        with patch("world.heartbeat.cycle.probe", side_effect=fake_probe):
            gathered = run_cycle([make_check(name, target="http://127.0.0.1:9/") for name in names], reactor=clock)
            started = [list(pending)]
            for _ in names:
                clock.advance(0)
                started.append(list(pending))
        return gathered, pending, started

    def test_the_first_probe_starts_at_once_and_each_next_one_a_turn_later(self):
        gathered, pending, started = self.run_with_fake_probes(["svc0", "svc1", "svc2"])
        self.assertEqual(started, [["svc0"], ["svc0", "svc1"], ["svc0", "svc1", "svc2"], ["svc0", "svc1", "svc2"]])
        outcome = []
        gathered.addCallback(outcome.append)
        for name in ("svc2", "svc0", "svc1"):
            self.assertEqual(outcome, [])
            pending[name].callback(f"result of {name}")
        self.assertEqual(outcome, [["result of svc0", "result of svc1", "result of svc2"]])

    def test_no_checks_is_an_empty_cycle(self):
        gathered, pending, started = self.run_with_fake_probes([])
        outcome = []
        gathered.addCallback(outcome.append)
        self.assertEqual((outcome, started), ([[]], [[]]))


class AgentsProbeTests(TestCase):
    """The agents check: stale agents, and never-seen ones given time after a start."""

    def agents(self, seen, started_ago):
        now = time.time()
        check = make_check(name="agents", kind="agents", stale_after=300)
        with patch("world.heartbeat.liveness.agent_last_seen", return_value=seen), \
                patch("evennia.utils.gametime.SERVER_START_TIME", now - started_ago if started_ago else 0.0):
            return probe_agents(check, reactor=None)[:2]

    def test_never_seen_agents_are_unknown_while_the_server_has_just_started(self):
        state, reason = self.agents({"Timmy": None, "Ezra": None}, started_ago=20)
        self.assertEqual(state, UNKNOWN)
        self.assertIn("no agent has logged in yet", reason)

    def test_never_seen_agents_are_down_once_the_grace_is_over(self):
        self.assertEqual(self.agents({"Timmy": None, "Ezra": None}, started_ago=400)[0], DOWN)
        self.assertEqual(self.agents({"Timmy": None, "Ezra": None}, started_ago=None)[0], DOWN)  # the CLI

    def test_alive_stale_and_waiting_agents(self):
        now = time.time()
        self.assertEqual(self.agents({"Timmy": now - 5, "Ezra": None}, started_ago=20), (UP, "1 agent(s) alive"))
        self.assertEqual(self.agents({"Timmy": now - 5, "Ezra": now - 999}, started_ago=20),
                         (DEGRADED, "silent: Ezra"))
        self.assertEqual(self.agents({"Timmy": now - 999, "Ezra": now - 999}, started_ago=20)[0], DOWN)
