"""
TCP_NODELAY on every connection the game owns (server/conf/nodelay.py), and
the other latency plugins (server/conf/gcfreeze.py, reactorprobe.py).

The live checks (run in tests/test_e2e_world.py's world) read the option
from the Portal's and the Server's own sockets (borrowed with pidfd_getfd, see
tests/support/sockets.py): telnet, websocket, the web proxy and both ends of
the AMP link. Stock Evennia 5.0.1 leaves it off on telnet and on both ends
of AMP (the test fails there with TIMMY_NODELAY=0); autobahn and Twisted's
HTTP server set it themselves on the websocket and web connections. The
reactor tests show, on real loopback connections, that the stock default is
off, that `install` turns it on for accepted and outgoing connections, and
that it stays on after a client factory reconnects.
"""

import base64
import gc
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from unittest import TestCase, mock

from django.conf import settings
from twisted.application import internet
from twisted.application.service import MultiService
from twisted.internet import defer, protocol, reactor, task

from server.conf import gcfreeze, nodelay, reactorprobe

from .support.reactor import ReactorTestCase
from .support.sockets import SocketInspectionUnavailable, socket_towards, tcp_sockets
from .support.telnet import TelnetClient


def _inspection_works():
    """None if this machine lets us borrow sockets, else the reason."""
    try:
        tcp_sockets(os.getpid())
    except SocketInspectionUnavailable as exc:
        return str(exc)
    return None


class TestSocketInspection(TestCase):
    """The inspector tells an option that is off from one that is on."""

    def test_reads_nodelay_off_and_on_from_live_sockets(self):
        reason = _inspection_works()
        if reason:
            self.skipTest(f"cannot borrow socket descriptors here: {reason}")
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        self.addCleanup(lambda: [s.close() for s in (listener, client, accepted)])
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = listener.getsockname()[1]
        found = tcp_sockets(os.getpid())
        (server_side,) = socket_towards(found, local_port=port)
        (client_side,) = socket_towards(found, peer_port=port)
        self.assertFalse(server_side.nodelay)  # the kernel's default: Nagle on
        self.assertTrue(client_side.nodelay)


class LiveWorldSocketChecks:
    """Every game connection checked on the game's side, in a live world.

    A mixin for a TestCase that has a running LiveWorld (no agents) in
    `self.world`: tests/test_e2e_world.py runs these in its world, since
    starting one more world costs the suite half a minute.
    """

    def setUp(self):
        super().setUp()
        reason = _inspection_works()
        if reason:
            self.skipTest(f"cannot borrow socket descriptors here: {reason}")

    @property
    def pids(self):
        """The Portal's and the Server's pids now (a reload changes the Server's)."""
        pids = {}
        for name in ("portal", "server"):
            with open(os.path.join(self.world.game_dir, "server", f"{name}.pid")) as handle:
                pids[name] = int(handle.read().strip())
        return pids

    def game_side(self, process, client_sock, port):
        """The game's socket (in `process`) of the connection `client_sock` opened to `port`."""
        peer = client_sock.getsockname()[1]
        matches = socket_towards(tcp_sockets(self.pids[process]), local_port=port, peer_port=peer)
        self.assertEqual(len(matches), 1, f"no {process} socket for port {port} <- {peer}")
        return matches[0]

    def test_telnet_connection(self):
        with TelnetClient("127.0.0.1", self.world.telnet_port, timeout=15) as client:
            client.login(self.world.username, self.world.password, r"Exits:[^\n]*\n")
            self.assertTrue(self.game_side("portal", client.sock, self.world.telnet_port).nodelay)

    def test_websocket_connection(self):
        sock = socket.create_connection(("127.0.0.1", self.world.websocket_port), timeout=15)
        self.addCleanup(sock.close)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.world.websocket_port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(4096)
        self.assertIn(b" 101 ", answer.split(b"\r\n", 1)[0])
        self.assertTrue(self.game_side("portal", sock, self.world.websocket_port).nodelay)

    def test_web_proxy_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.world.web_port, timeout=30)
        self.addCleanup(conn.close)
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        self.assertEqual(response.status, 200)
        self.assertTrue(self.game_side("portal", conn.sock, self.world.web_port).nodelay)

    def test_amp_link_both_ends(self):
        amp_port = self.world.port_base + 4
        portal_end = socket_towards(tcp_sockets(self.pids["portal"]), local_port=amp_port)
        server_end = socket_towards(tcp_sockets(self.pids["server"]), peer_port=amp_port)
        self.assertEqual(len(portal_end), 1, portal_end)
        self.assertEqual(len(server_end), 1, server_end)
        self.assertEqual(portal_end[0].peer[1], server_end[0].local[1])  # the same connection
        self.assertTrue(portal_end[0].nodelay, "Portal's end of AMP has Nagle on")
        self.assertTrue(server_end[0].nodelay, "Server's end of AMP has Nagle on")


class _Recorder(protocol.Protocol):
    """Fires the factory's next Deferred with this connection's TCP_NODELAY."""

    def connectionMade(self):
        handle = self.transport.getHandle()
        self.factory.connected.append((self, handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
        waiting, self.factory.waiting = self.factory.waiting, []
        for deferred in waiting:
            deferred.callback(None)


def _recording(factory):
    factory.protocol = _Recorder
    factory.connected, factory.waiting = [], []
    return factory


def _next_connection(factory, count):
    """A Deferred that fires once `factory` has made `count` connections."""
    if len(factory.connected) >= count:
        return defer.succeed(None)
    deferred = defer.Deferred()
    factory.waiting.append(deferred)
    return deferred.addCallback(lambda _: _next_connection(factory, count))


class TestInstallOnRealConnections(ReactorTestCase):
    """`install` on services built like Evennia builds them, over loopback."""

    timeout = 10

    @defer.inlineCallbacks
    def connect(self, install):
        server_factory = _recording(protocol.ServerFactory())
        client_factory = _recording(protocol.ReconnectingClientFactory())
        client_factory.initialDelay = client_factory.maxDelay = 0.05
        portal = MultiService()
        listening = internet.TCPServer(0, server_factory, interface="127.0.0.1")
        listening.setServiceParent(portal)
        if install:
            nodelay.install(portal)
        portal.privilegedStartService()
        portal.startService()
        self.addCleanup(portal.stopService)
        server = MultiService()
        port = listening._port.getHost().port
        internet.TCPClient("127.0.0.1", port, client_factory).setServiceParent(server)
        if install:
            self.assertEqual(nodelay.install(server), ["TCPClient"])
        server.startService()
        self.addCleanup(server.stopService)
        self.addCleanup(client_factory.stopTrying)
        yield _next_connection(server_factory, 1)
        yield _next_connection(client_factory, 1)
        return server_factory, client_factory

    @defer.inlineCallbacks
    def test_stock_default_is_nagle_on(self):
        server_factory, client_factory = yield self.connect(install=False)
        self.assertEqual((server_factory.connected[0][1], client_factory.connected[0][1]), (0, 0))

    @defer.inlineCallbacks
    def test_both_ends_get_nodelay_and_keep_it_after_a_reconnect(self):
        server_factory, client_factory = yield self.connect(install=True)
        self.assertTrue(server_factory.connected[0][1] and client_factory.connected[0][1])
        server_factory.connected[0][0].transport.loseConnection()  # like a Portal restart
        yield _next_connection(client_factory, 2)
        yield _next_connection(server_factory, 2)
        self.assertTrue(server_factory.connected[1][1] and client_factory.connected[1][1])

    def test_install_is_idempotent_and_can_be_switched_off(self):
        app = MultiService()
        internet.TCPServer(0, protocol.ServerFactory()).setServiceParent(app)
        self.assertEqual(len(nodelay.install(app)), 1)
        factory = app.services[0].args[1]
        wrapped = factory.buildProtocol
        nodelay.install(app)
        self.assertIs(factory.buildProtocol, wrapped)
        other = MultiService()
        internet.TCPServer(0, protocol.ServerFactory()).setServiceParent(other)
        with mock.patch.dict(os.environ, {"TIMMY_NODELAY": "0"}):
            self.assertEqual(nodelay.install(other), [])

    def test_reverse_proxy_connections_are_wrapped(self):
        from evennia.server.webserver import EvenniaReverseProxyResource, Website

        fake_reactor = mock.Mock()
        site = Website(EvenniaReverseProxyResource("127.0.0.1", 1, "", fake_reactor))
        app = MultiService()
        internet.TCPServer(0, site).setServiceParent(app)
        nodelay.install(app)
        factory = protocol.ClientFactory()
        site.resource.reactor.connectTCP("127.0.0.1", 1, factory)
        fake_reactor.connectTCP.assert_called_once_with("127.0.0.1", 1, factory)
        self.assertTrue(getattr(factory, "_timmy_nodelay", False))


# How many long-lived objects are made after a freeze before the first full
# collection starts: gcfreeze.freeze() (argv[1] "1") or a bare gc.freeze() ("0").
_FIRST_FULL_COLLECTION = """
import gc, sys
from server.conf import gcfreeze
gc.set_threshold(100, 2, 2)
startup = [[] for _ in range(100_000)]
gcfreeze.freeze(collect=True) if sys.argv[1] == "1" else (gc.collect(), gc.freeze())
kept, seen = [], []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and seen.append(len(kept)))
while not seen and len(kept) < 200_000:
    kept.append([len(kept)])
print(seen[0] if seen else len(kept))
"""


class TestGcFreeze(TestCase):
    """Freezing after startup and after slow full collections (server/conf/gcfreeze.py)."""

    def collection(self, callback, generation, seconds):
        """Feed `callback` one collection of `generation` that took `seconds`."""
        with mock.patch.object(gcfreeze.time, "perf_counter", side_effect=[100.0, 100.0 + seconds]):
            callback("start", {"generation": generation})
            callback("stop", {"generation": generation, "collected": 0, "uncollectable": 0})

    def test_only_a_slow_full_collection_calls_for_a_freeze(self):
        fake_reactor = mock.Mock()
        callback = gcfreeze.FreezeAfterSlowCollections(fake_reactor, slow=0.01)
        self.collection(callback, 0, 0.5)  # young collections never freeze
        self.collection(callback, 2, 0.002)  # a fast full one is fine
        fake_reactor.callFromThread.assert_not_called()
        self.collection(callback, 2, 0.05)
        fake_reactor.callFromThread.assert_called_once_with(callback._freeze)
        with mock.patch.object(gcfreeze, "gc") as fake_gc:
            callback._freeze()
        # no collection first (the slow one has just freed the garbage); the one after resets the count;
        # and the frozen objects are not counted (get_freeze_count walks them all, on the reactor)
        self.assertEqual(fake_gc.mock_calls, [mock.call.freeze(), mock.call.collect()])

    def test_the_freezes_own_collections_call_for_no_further_freeze(self):
        fake_reactor = mock.Mock()
        callback = gcfreeze.FreezeAfterSlowCollections(fake_reactor, slow=0.01)
        with mock.patch.object(gcfreeze, "gc") as fake_gc:
            fake_gc.collect.side_effect = lambda: self.collection(callback, 2, 0.5)  # slow, e.g. a starved CPU
            gcfreeze.freeze(collect=True)
        self.assertEqual(fake_gc.collect.call_count, 2)
        fake_reactor.callFromThread.assert_not_called()
        self.collection(callback, 2, 0.5)  # once the freeze is over, a slow collection counts again
        fake_reactor.callFromThread.assert_called_once_with(callback._freeze)

    def test_install_schedules_the_startup_freeze_and_can_be_switched_off(self):
        clock = task.Clock()
        with mock.patch.dict(os.environ, {"TIMMY_GC_FREEZE": "0"}):
            self.assertIsNone(gcfreeze.install(clock))
        self.assertEqual(clock.getDelayedCalls(), [])
        callback = gcfreeze.install(clock, delay=20)
        self.addCleanup(gc.callbacks.remove, callback)
        self.assertIn(callback, gc.callbacks)
        with mock.patch.object(gcfreeze, "gc") as fake_gc:
            clock.advance(20)
        self.assertEqual(fake_gc.mock_calls, [mock.call.collect(), mock.call.freeze(), mock.call.collect()])

    def test_after_a_freeze_the_next_full_collection_does_not_wait_for_the_frozen_count(self):
        # the real collector, in a child process (its thresholds and frozen objects stay there)
        found = {}
        for reset in (True, False):
            child = subprocess.run(
                [sys.executable, "-c", _FIRST_FULL_COLLECTION, "1" if reset else "0"],
                cwd=settings.GAME_DIR, capture_output=True, text=True, timeout=60, check=True,
            )
            found[reset] = int(child.stdout.split()[-1])
        # Evennia's objects frozen at startup no longer make the collector wait for a
        # quarter of their number (25,000 here) before the next full collection
        self.assertGreater(found[False], 20_000)
        self.assertLess(found[True], 2_000)


class TestLagProbe(ReactorTestCase):
    """The benchmark's reactor-lag probe sees a blocked reactor (server/conf/reactorprobe.py)."""

    timeout = 10

    @defer.inlineCallbacks
    def test_a_blocked_reactor_shows_as_late_ticks(self):
        folder = tempfile.mkdtemp(prefix="lagprobe-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "lag.txt")
        probe = reactorprobe.LagProbe(path, interval=0.02, flush_every=0.1).start()
        self.addCleanup(probe.stop)
        yield task.deferLater(reactor, 0.2, lambda: None)
        yield task.deferLater(reactor, 0, time.sleep, 0.2)  # the reactor blocked 200 ms
        yield task.deferLater(reactor, 0.2, lambda: None)
        probe.stop()
        with open(path) as handle:
            lags = [float(line.split()[1]) for line in handle]
        self.assertGreater(max(lags), 150)
        self.assertGreaterEqual(sum(1 for lag in lags if lag >= 20), 7)  # one sample per missed tick
        self.assertLess(sorted(lags)[len(lags) // 2], 20)  # the other ticks were on time

    def test_the_control_blocker_is_stopped_by_stop_blockers(self):
        blocker = reactorprobe.start_blocker("0.001/60")
        self.addCleanup(lambda: blocker.running and blocker.stop())
        self.assertTrue(blocker.running)
        self.assertEqual(reactorprobe.stop_blockers(), 1)
        self.assertFalse(blocker.running)
        self.assertEqual(reactorprobe.stop_blockers(), 0)

