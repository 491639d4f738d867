"""
The Portal<->Server AMP link (server/conf/amplink.py), on real loopback.

Evennia's own Portal AMP server factory and the Server's AMP client factory
are connected over TCP, the way the two processes connect, with the game's
protocol classes from the settings; only the objects around them (the
Portal and Server services, the session handlers) are stand-ins that
record what arrives. Each side's received AMP boxes are recorded raw, so
the tests see what went over the wire: whether a message asked for an
answer, whether one came back, and that its data is Evennia's own. The same
exchange with the stock behaviour (`amplink.ENABLED` off) shows the answers
the game no longer sends, so the counts are not true by construction.
"""

import os
import pickle
import zlib
from types import SimpleNamespace
from unittest import TestCase, mock

import evennia
from evennia.server.amp_client import AMPClientFactory, AMPServerClientProtocol
from evennia.server.portal import amp as evennia_amp
from evennia.server.portal.amp_server import AMPServerFactory
from twisted.application import internet
from twisted.internet import defer, protocol, reactor
from twisted.protocols import amp as twisted_amp

from server.conf import amplink, sendnow

from .support.reactor import ReactorTestCase, until, waiting_bytes

SESSION = SimpleNamespace(sessid=7)



def _record_boxes(amp_protocol):
    """Keep a copy of every AMP box `amp_protocol` receives (raw, as on the wire)."""
    amp_protocol.received = []
    receive = amp_protocol.ampBoxReceived

    def ampBoxReceived(box):  # noqa: N802 - Twisted's name
        amp_protocol.received.append(dict(box))
        return receive(box)

    amp_protocol.ampBoxReceived = ampBoxReceived
    return amp_protocol


def _recording_factory(factory):
    """Make `factory` record the boxes of every protocol it builds."""
    build = factory.buildProtocol
    factory.buildProtocol = lambda addr: _record_boxes(build(addr))
    return factory


def _fake_portal():
    """What Evennia's Portal AMP server asks of the Portal service."""
    return SimpleNamespace(
        amp_protocol=None, server_restart_mode=None, start_time=1.0, server_info_dict={},
        server_process_id=None, get_info_dict=lambda: {},
    )


def _fake_server():
    """What Evennia's Server AMP client asks of the Server service."""
    return SimpleNamespace(amp_protocol=None, amp_service=None, get_info_dict=lambda: {},
                           run_initial_setup=lambda: None)


def _answers(boxes):
    return [box for box in boxes if twisted_amp.ANSWER in box]


def _commands(boxes, name):
    return [box for box in boxes if box.get(twisted_amp.COMMAND) == name]


class AmpLinkTests(ReactorTestCase):
    """The game's two AMP protocols talking to each other over loopback."""

    timeout = 15

    def setUp(self):
        super().setUp()
        for name in ("PORTAL_SESSION_HANDLER", "SERVER_SESSION_HANDLER", "EVENNIA_SERVER_SERVICE"):
            patcher = mock.patch.object(evennia, name, mock.Mock(name=name), create=True)
            patcher.start()
            self.addCleanup(patcher.stop)
        evennia.PORTAL_SESSION_HANDLER.get_all_sync_data.return_value = {}

    @defer.inlineCallbacks
    def link(self):
        """Connect a Portal AMP server and a Server AMP client; return (portal side, server side)."""
        portal = _fake_portal()
        portal_factory = _recording_factory(AMPServerFactory(portal))
        listening = internet.TCPServer(0, portal_factory, interface="127.0.0.1")
        listening.startService()
        self.addCleanup(listening.stopService)
        server = _fake_server()
        server_factory = AMPClientFactory(server)
        server.amp_service = internet.TCPClient("127.0.0.1", listening._port.getHost().port, server_factory)
        self.assertTrue(amplink.use_client_setting(server))
        _recording_factory(server_factory)
        server.amp_service.startService()
        self.addCleanup(server.amp_service.stopService)
        self.addCleanup(server_factory.stopTrying)
        # the Server's first message (PSYNC) makes it the Portal's server_connection
        yield until(lambda: portal_factory.server_connection is not None)
        yield until(lambda: evennia.SERVER_SESSION_HANDLER.portal_sessions_sync.called)
        return portal.amp_protocol, server.amp_protocol

    @defer.inlineCallbacks
    def exchange(self, count=5):
        """`count` messages each way; return the two sides once everything (answers too) arrived."""
        portal_side, server_side = yield self.link()
        for number in range(count):
            server_side.send_MsgServer2Portal(SESSION, text=((f"to the player {number}",), {}))
            portal_side.send_MsgPortal2Server(SESSION, text=((f"look {number}",), {}))
        yield until(lambda: evennia.PORTAL_SESSION_HANDLER.data_out.call_count == count)
        yield until(lambda: evennia.SERVER_SESSION_HANDLER.data_in.call_count == count)
        yield self.round_trips(portal_side, server_side)
        return portal_side, server_side

    @staticmethod
    @defer.inlineCallbacks
    def round_trips(portal_side, server_side=None):
        """An answered admin call from each side: any answer sent before it has arrived by then.

        Evennia's own admin operations (disconnect all, force a connection)
        are answered; their handlers here are the recording stand-ins.
        """
        yield portal_side.send_AdminPortal2Server(evennia_amp.DUMMYSESSION, operation=evennia_amp.PDISCONNALL)
        if server_side is not None:
            yield server_side.send_AdminServer2Portal(evennia_amp.DUMMYSESSION, operation=evennia_amp.SCONN)

    @defer.inlineCallbacks
    def test_both_ends_are_the_games_protocols(self):
        portal_side, server_side = yield self.link()
        self.assertIsInstance(portal_side, amplink.PortalAMPProtocol)
        self.assertIsInstance(server_side, amplink.ServerAMPProtocol)

    @defer.inlineCallbacks
    def test_messages_arrive_in_order_without_an_answer_box_either_way(self):
        portal_side, server_side = yield self.exchange()
        delivered_out = [call.kwargs["text"][0][0] for call in evennia.PORTAL_SESSION_HANDLER.data_out.call_args_list]
        delivered_in = [call.kwargs["text"][0][0] for call in evennia.SERVER_SESSION_HANDLER.data_in.call_args_list]
        self.assertEqual(delivered_out, [f"to the player {n}" for n in range(5)])
        self.assertEqual(delivered_in, [f"look {n}" for n in range(5)])
        to_portal = _commands(portal_side.received, b"MsgServer2Portal")
        to_server = _commands(server_side.received, b"MsgPortal2Server")
        self.assertEqual((len(to_portal), len(to_server)), (5, 5))
        self.assertFalse([box for box in to_portal + to_server if twisted_amp.ASK in box])
        # the only answers are those of the admin calls: PSYNC at connection, the round trips
        self.assertEqual((len(_answers(server_side.received)), len(_answers(portal_side.received))), (2, 2))

    @defer.inlineCallbacks
    def test_stock_link_answers_every_message(self):
        with mock.patch.object(amplink, "ENABLED", False):
            portal_side, server_side = yield self.exchange()
        self.assertEqual((len(_answers(server_side.received)), len(_answers(portal_side.received))), (7, 7))

    @defer.inlineCallbacks
    def test_message_data_is_evennias_own_pickled_and_compressed_session_data(self):
        portal_side, server_side = yield self.exchange(count=1)
        for boxes, name in ((portal_side.received, b"MsgServer2Portal"), (server_side.received, b"MsgPortal2Server")):
            packed = _commands(boxes, name)[0][b"packed_data"]
            sessid, kwargs = pickle.loads(zlib.decompress(packed))
            self.assertEqual(sessid, SESSION.sessid)
            self.assertIn("text", kwargs)

    @defer.inlineCallbacks
    def test_a_failing_unanswered_message_is_logged_and_the_link_stays_up(self):
        portal_side, server_side = yield self.link()
        handler = evennia.SERVER_SESSION_HANDLER
        handler.data_in.side_effect = [RuntimeError("an inputfunc broke"), None]
        with mock.patch.object(amplink.logger, "log_err") as log_err:
            portal_side.send_MsgPortal2Server(SESSION, text=(("first",), {}))
            portal_side.send_MsgPortal2Server(SESSION, text=(("second",), {}))
            yield until(lambda: handler.data_in.call_count == 2)
            yield self.round_trips(portal_side)
        self.assertEqual(handler.data_in.call_args.kwargs["text"][0][0], "second")
        self.assertTrue(server_side.transport.connected and portal_side.transport.connected)
        (logged,), _ = log_err.call_args
        self.assertIn("an inputfunc broke", logged)
        self.assertIn("MsgPortal2Server", logged)

    @defer.inlineCallbacks
    def test_a_connection_that_is_not_the_servers_still_gets_answered_messages(self):
        portal_side, _server_side = yield self.link()
        launcher_factory = _recording_factory(protocol.ClientFactory())
        launcher_factory.protocol = evennia_amp.AMPMultiConnectionProtocol
        launcher_factory.broadcasts = []
        connector = reactor.connectTCP("127.0.0.1", portal_side.transport.getHost().port, launcher_factory)
        self.addCleanup(connector.disconnect)
        yield until(lambda: portal_side.factory.portal.amp_protocol is not portal_side)
        portal_to_launcher = portal_side.factory.portal.amp_protocol
        self.assertFalse(portal_to_launcher.peer_is_game())
        sent = portal_to_launcher.callRemote(evennia_amp.MsgPortal2Server, packed_data=b"")
        # Evennia's stock protocol has no responder for it and answers with an error box
        with self.assertRaises(twisted_amp.UnhandledCommand):
            yield sent
        self.assertTrue(portal_to_launcher.transport.connected)


    @defer.inlineCallbacks
    def test_each_message_leaves_in_the_turn_it_was_sent_both_ways(self):
        portal_side, server_side = yield self.link()
        server_side.send_MsgServer2Portal(SESSION, text=(("to the player",), {}))
        self.assertIn(b"MsgServer2Portal", waiting_bytes(portal_side.transport))
        portal_side.send_MsgPortal2Server(SESSION, text=(("look",), {}))
        self.assertIn(b"MsgPortal2Server", waiting_bytes(server_side.transport))

    @defer.inlineCallbacks
    def test_without_send_now_a_message_waits_for_the_reactors_next_turn(self):
        portal_side, server_side = yield self.link()
        with mock.patch.object(sendnow, "ENABLED", False):
            server_side.send_MsgServer2Portal(SESSION, text=(("to the player",), {}))
        self.assertEqual(waiting_bytes(portal_side.transport, wait=0.2), b"")
        yield until(lambda: evennia.PORTAL_SESSION_HANDLER.data_out.called)


class UseClientSettingTests(TestCase):
    """The Server's AMP client factory builds the class the setting names."""

    def test_stock_factory_ignores_the_setting_and_the_game_makes_it_honour_it(self):
        server = _fake_server()
        factory = AMPClientFactory(server)
        self.assertIs(factory.protocol, amplink.ServerAMPProtocol)  # read from the setting ...
        self.assertIs(type(factory.buildProtocol(None)), AMPServerClientProtocol)  # ... and ignored
        server.amp_service = internet.TCPClient("127.0.0.1", 1, factory)
        factory.delay = 30
        self.assertTrue(amplink.use_client_setting(server))
        built = factory.buildProtocol(None)
        self.assertIs(type(built), amplink.ServerAMPProtocol)
        self.assertIs(server.amp_protocol, built)
        self.assertIs(built.factory, factory)
        self.assertEqual(factory.delay, factory.initialDelay)  # reset, as Evennia's own does

    def test_without_an_amp_client_nothing_is_changed(self):
        self.assertFalse(amplink.use_client_setting(SimpleNamespace()))

    def test_the_environment_switches_it_off(self):
        for value, expected in (("1", False), ("yes", False), ("0", True), ("", True)):
            with mock.patch.dict(os.environ, {"TIMMY_AMP_ANSWERS": value}):
                self.assertEqual(amplink.enabled(), expected, value)
