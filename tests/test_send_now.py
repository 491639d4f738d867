"""
A message leaves when it is ready (server/conf/sendnow.py), on real loopback.

Two Twisted protocols are connected over TCP on the real reactor. Whether
bytes have left is read off the receiving socket (waiting for them without
turning the reactor, then peeking) in the same turn of the reactor as the
write: bytes still in Twisted's buffer cannot arrive before the reactor
turns, so the stock path (nothing arrives) shows the check can fail.
"""

import os
from types import SimpleNamespace
from unittest import mock

from django.conf import settings
from evennia.utils.utils import class_from_module
from twisted.internet import defer, error, main, protocol, reactor
from twisted.test.proto_helpers import StringTransport

from server.conf import sendnow

from .support.reactor import ReactorTestCase, until, waiting_bytes


class Peer(protocol.Protocol):
    """One end of the loopback pair; remembers what it received and how it ended."""

    def connectionMade(self):  # noqa: N802 - Twisted's name
        self.received = b""
        self.lost = None
        self.factory.connected.append(self)

    def dataReceived(self, data):  # noqa: N802 - Twisted's name
        self.received += data

    def connectionLost(self, reason=protocol.connectionDone):  # noqa: N802 - Twisted's name
        self.lost = reason


class LoopbackCase(ReactorTestCase):
    """A connected pair of plain TCP protocols: self.sender, self.receiver."""

    timeout = 10

    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        listening_factory = protocol.Factory.forProtocol(Peer)
        listening_factory.connected = []
        port = reactor.listenTCP(0, listening_factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client_factory = protocol.ClientFactory.forProtocol(Peer)
        client_factory.connected = []
        connector = reactor.connectTCP("127.0.0.1", port.getHost().port, client_factory)
        self.addCleanup(connector.disconnect)
        yield until(lambda: client_factory.connected and listening_factory.connected)
        self.sender, self.receiver = client_factory.connected[0], listening_factory.connected[0]
        for end in (self.sender, self.receiver):
            end.transport.setTcpNoDelay(True)
            self.addCleanup(end.transport.abortConnection)


class SendNowTests(LoopbackCase):
    """send_now() on a real TCP transport."""

    def test_written_in_the_same_turn(self):
        self.sender.transport.write(b"look\r\n")
        self.assertTrue(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport), b"look\r\n")
        self.assertFalse(sendnow.can_send_now(self.sender.transport))  # nothing left to send

    @defer.inlineCallbacks
    def test_stock_waits_for_the_reactors_next_turn(self):
        self.sender.transport.write(b"look\r\n")
        with mock.patch.object(sendnow, "ENABLED", False):
            self.assertFalse(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport, wait=0.2), b"")
        yield until(lambda: self.receiver.received == b"look\r\n")

    def test_earlier_buffered_writes_go_first_in_order(self):
        for part in (b"one ", b"two ", b"three"):
            self.sender.transport.write(part)
        self.assertTrue(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport), b"one two three")

    def test_nothing_buffered_sends_nothing(self):
        with mock.patch.object(self.sender.transport, "doWrite") as do_write:
            self.assertFalse(sendnow.send_now(self.sender.transport))
        do_write.assert_not_called()

    @defer.inlineCallbacks
    def test_a_closing_connection_is_left_to_the_reactor(self):
        self.sender.transport.write(b"goodbye")
        self.sender.transport.loseConnection()
        self.assertFalse(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport, wait=0.2), b"")
        yield until(lambda: self.receiver.lost is not None)
        self.assertEqual(self.receiver.received, b"goodbye")  # the reactor wrote it, then closed
        self.assertIsNotNone(self.sender.lost)

    def test_a_tls_transport_is_left_alone(self):
        self.sender.transport.write(b"secret")
        with mock.patch.object(self.sender.transport, "TLS", True):
            self.assertFalse(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport, wait=0.2), b"")

    def test_a_transport_that_is_not_tcp_is_left_alone(self):
        transport = StringTransport()
        transport.write(b"text")
        self.assertFalse(sendnow.send_now(transport))
        self.assertFalse(sendnow.send_now(None))
        self.assertEqual(transport.value(), b"text")

    @defer.inlineCallbacks
    def test_a_failed_send_is_closed_by_the_reactor(self):
        self.sender.transport.write(b"lost")
        with mock.patch.object(self.sender.transport, "writeSomeData", return_value=main.CONNECTION_LOST) as send:
            self.assertFalse(sendnow.send_now(self.sender.transport))
            send.assert_called_once()  # tried at once ...
            self.assertIsNone(self.sender.lost)  # ... not closed here ...
            yield until(lambda: self.sender.lost is not None)  # ... but at the reactor's next turn
        self.assertTrue(self.sender.lost.check(error.ConnectionLost))

    @defer.inlineCallbacks
    def test_a_partial_send_leaves_the_rest_to_the_reactor(self):
        write_some = self.sender.transport.writeSomeData
        self.sender.transport.write(b"0123456789")
        with mock.patch.object(self.sender.transport, "writeSomeData", side_effect=lambda data: write_some(data[:4])):
            self.assertFalse(sendnow.send_now(self.sender.transport))
        self.assertEqual(waiting_bytes(self.receiver.transport), b"0123")
        yield until(lambda: self.receiver.received == b"0123456789")

    def test_the_environment_switches_it_off(self):
        for value, expected in (("0", False), ("off", False), ("1", True), ("", True)):
            with mock.patch.dict(os.environ, {"TIMMY_SEND_NOW": value}):
                self.assertEqual(sendnow.enabled(), expected, value)


class PortalSessionHandlerTests(LoopbackCase):
    """The Portal's session handler sends a session's output at once."""

    def setUp(self):
        started = super().setUp()
        self.handler = sendnow.SendNowPortalSessionHandler()
        return started

    def session(self, transport):
        """A stand-in protocol session: Evennia's handler calls its send_text()."""
        return SimpleNamespace(transport=transport, send_text=lambda text, **kw: transport.write(text.encode()))

    def test_the_settings_name_it(self):
        self.assertIs(class_from_module(settings.PORTAL_SESSION_HANDLER_CLASS), sendnow.SendNowPortalSessionHandler)

    def test_output_leaves_in_the_same_turn(self):
        self.handler.data_out(self.session(self.sender.transport), text=(("The Hearth",), {}))
        self.assertEqual(waiting_bytes(self.receiver.transport), b"The Hearth")

    @defer.inlineCallbacks
    def test_stock_output_waits_for_the_reactor(self):
        with mock.patch.object(sendnow, "ENABLED", False):
            self.handler.data_out(self.session(self.sender.transport), text=(("The Hearth",), {}))
        self.assertEqual(waiting_bytes(self.receiver.transport, wait=0.2), b"")
        yield until(lambda: self.receiver.received == b"The Hearth")

    def test_a_session_without_a_tcp_transport_still_gets_its_output(self):
        transport = StringTransport()
        self.handler.data_out(self.session(transport), text=(("The Hearth",), {}))
        self.assertEqual(transport.value(), b"The Hearth")
        self.handler.data_out(None, text=(("nobody",), {}))  # Evennia's handler ignores it too
