"""
The agent's link to the world: Evennia's websocket, like the web client.

The agent logs in with `connect <name> <password>` and is auto-puppeted into
its character, so it has its account's permissions, goes through the Portal's
rate limits and runs the same commands as any player. Messages are Evennia's
JSON arrays `[cmdname, args, kwargs]`. A lost connection is retried with
backoff; a server `reload` keeps the websocket (the Portal holds it).

A stopping agent closes its websocket with a close frame (code 1000): the
Portal keeps a webclient session whose connection merely drops, waiting for
it to come back, so without one the agent would stay online in the world.
"""

import json

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import defer
from twisted.internet.protocol import ReconnectingClientFactory
from twisted.python import log


LOGIN_ATTEMPTS = 4
LOGIN_RETRY_AFTER = 3.0
CLOSE_NORMAL = 1000
CLOSE_WAIT = 3.0


class ObservationTimeout(Exception):
    """The server did not answer an observation request in time."""


class WorldLinkProtocol(WebSocketClientProtocol):
    """One websocket session of one agent."""

    def onOpen(self):
        self.factory.protocol_opened(self)
        self.send("client_options", raw=True, client_raw=True)
        self.login()

    def login(self, attempt=1):
        """Send the login; the Portal may still be queueing this connection, so
        check and try again, and start over with a new connection if it never
        takes."""
        from twisted.internet import reactor

        if self.factory.logged_in or self.factory.current is not self:
            return
        if attempt > LOGIN_ATTEMPTS:
            self.dropConnection(abort=True)
            return
        self.send("text", f"connect {self.factory.name} {self.factory.password}")
        (self.factory.clock or reactor).callLater(LOGIN_RETRY_AFTER, self.login, attempt + 1)

    def send(self, cmdname, *args, **kwargs):
        self.sendMessage(json.dumps([cmdname, list(args), kwargs]).encode("utf-8"))

    def onMessage(self, payload, is_binary):
        try:
            cmdname, args, kwargs = json.loads(payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        self.factory.dispatch(cmdname, args or [], kwargs or {})

    def onClose(self, was_clean, code, reason):
        self.factory.protocol_closed(self)


class WorldLink(WebSocketClientFactory, ReconnectingClientFactory):
    """Connects, logs in, keeps reconnecting, and routes what arrives.

    `brain` gets `on_logged_in()`, `on_event(event)` and `on_control(command)`.
    """

    protocol = WorldLinkProtocol
    maxDelay = 30
    initialDelay = 1.0

    def __init__(self, url, name, password, clock=None):
        super().__init__(url)
        self.name, self.password = name, password
        self.clock = clock
        self.brain = None
        self.current = None
        self.logged_in = False
        self.waiting = []

    # -- connection lifecycle

    def protocol_opened(self, protocol):
        self.current = protocol
        self.resetDelay()

    def protocol_closed(self, protocol):
        if protocol is self.current:
            self.current, self.logged_in = None, False
            self._fail_waiting(ConnectionError("link closed"))

    def close(self, timeout=CLOSE_WAIT):
        """Stop reconnecting and end the session with a close frame (code 1000).

        Args:
            timeout (float): At most this many seconds to wait for the close
                handshake (autobahn drops the connection itself after its own
                closeHandshakeTimeout).

        Returns:
            Deferred: Fires with None once the connection is gone, or after
                `timeout` seconds, whichever comes first; it never errbacks.
        """
        self.stopTrying()
        protocol = self.current
        if protocol is None:
            return defer.succeed(None)
        protocol.sendClose(CLOSE_NORMAL, "agent stopping")
        return _first_of(protocol.is_closed, timeout, self._clock())

    def _clock(self):
        """The clock this link schedules on (the reactor unless a test gave one)."""
        from twisted.internet import reactor

        return self.clock or reactor

    def clientConnectionLost(self, connector, reason):
        self.retry(connector)

    def clientConnectionFailed(self, connector, reason):
        self.retry(connector)

    # -- sending

    def send_command(self, command):
        """Run one in-game command as the agent."""
        if self.current and self.logged_in:
            self.current.send("text", command)
            return True
        return False

    def report(self, **report):
        """Tell the server about the agent's mode, goal, decision, error, tokens."""
        if self.current and self.logged_in:
            self.current.send("agent_report", **report)

    def request_observation(self, timeout=10.0):
        """Ask what the agent perceives; a Deferred firing with the observation dict."""
        clock = self._clock()
        waiter = defer.Deferred()
        if not (self.current and self.logged_in):
            return defer.fail(ConnectionError("not logged in"))
        self.waiting.append(waiter)
        self.current.send("agent_observe")
        timer = clock.callLater(timeout, self._expire, waiter, timeout)
        waiter.addBoth(lambda result: (timer.active() and timer.cancel(), result)[1])
        return waiter

    def _expire(self, waiter, timeout):
        if waiter in self.waiting:
            self.waiting.remove(waiter)
            waiter.errback(ObservationTimeout(f"no observation within {timeout:.0f} s"))

    def _fail_waiting(self, error):
        waiting, self.waiting = self.waiting, []
        for waiter in waiting:
            waiter.errback(error)

    # -- receiving

    def dispatch(self, cmdname, args, kwargs):
        """Route one message from the server.

        The payload of agent_* messages is args[0] (a dict); Evennia adds an
        `options` kwarg, which is ignored.
        """
        payload = args[0] if args and isinstance(args[0], dict) else None
        if cmdname == "logged_in":
            self.logged_in = True
            if self.brain:
                self.brain.on_logged_in()
        elif cmdname == "agent_observation" and payload is not None:
            if self.waiting:
                self.waiting.pop(0).callback(payload)
        elif cmdname == "agent_event" and payload is not None and self.brain:
            self.brain.on_event(payload)
        elif cmdname == "agent_control" and payload is not None and self.brain:
            self.brain.on_control(str(payload.get("command", "")))
        elif cmdname == "text" and args and not self.logged_in:
            text = str(args[0])
            if "ncorrect" in text or "invalid" in text.lower():
                log.msg(f"{self.name}: login refused by the server")


def _first_of(deferred, timeout, clock):
    """A Deferred firing with None when `deferred` fires or `timeout` seconds pass.

    Args:
        deferred (Deferred): What to wait for; a failure is logged, not passed on.
        timeout (float): The longest wait, in seconds.
        clock (IReactorTime): Where the timer runs.

    Returns:
        Deferred: Fires once, with None.
    """
    done = defer.Deferred()

    def finish(result=None):
        if timer.active():
            timer.cancel()
        if not done.called:
            done.callback(None)
        return result

    def expire():
        log.msg(f"websocket close handshake not finished within {timeout:.0f} s; stopping anyway")
        finish()

    timer = clock.callLater(timeout, expire)
    deferred.addErrback(log.err, "waiting for the websocket to close failed")
    deferred.addBoth(finish)
    return done
