"""
The Portal<->Server messages without an answer box.

Why: every line a player types and every line the game sends them crosses
the AMP link between the Portal and the Server once, as Evennia's
`MsgPortal2Server` or `MsgServer2Portal`. Evennia 5.0.1 sends each of them
asking for an answer: the receiver builds, serializes and sends back an
empty AMP box, and the sender wakes up to read it, parse it and fire a
Deferred nobody waits for. With 100 players both processes did this for
every command, and the operator's own look queued behind it (README,
Latency, finding 22; `bench/amp_link.py` measures a round trip).

How: the Portal's and the Server's AMP protocols are Evennia's own with
`UnansweredMessagesMixin` in front (`PortalAMPProtocol`,
`ServerAMPProtocol`, named by `AMP_SERVER_PROTOCOL_CLASS` and
`AMP_CLIENT_PROTOCOL_CLASS` in the settings). The mixin

- sends those two commands with Twisted's own `requiresAnswer = False`:
  the same command name and the same argument on the wire, without the
  `_ask` key, so the receiver sends no answer;
- writes each of those messages at once, not at the end of the reactor's
  turn (`server/conf/sendnow.py` says why);
- receives every box that asked for no answer through a responder whose
  failure is logged (through `evennia.utils.logger`) and dropped. Twisted
  closes an AMP connection on a failure it has no answer box for; the
  stock answer box only carried the error back to be logged on the sender.

Evennia 5.0.1's Portal builds its AMP protocol from the setting, but the
Server's AMP client factory ignores its setting and builds
`AMPServerClientProtocol()` by name: `use_client_setting(server)`, called
by the Server's service plugin before the link connects, makes that factory
build the setting's class.

Every other AMP command (the administrative ones, the launcher's, the
function calls) is left as Evennia sends it, and so is everything the
Portal sends to a connection other than the Server's (the launcher's).
Nothing in the installed Evennia is patched. `TIMMY_AMP_ANSWERS=1` in the
environment the world starts in brings the stock behaviour back (to
measure, or to prove a test catches it).
"""

import os

from evennia.server.amp_client import AMPClientFactory, AMPServerClientProtocol
from evennia.server.portal import amp as evennia_amp
from evennia.server.portal.amp_server import AMPServerProtocol
from evennia.utils import logger
from twisted.internet import defer
from twisted.protocols.amp import ASK

from server.conf import sendnow


def enabled():
    """False when TIMMY_AMP_ANSWERS is 1/on/yes/true (the stock AMP link)."""
    raw = os.environ.get("TIMMY_AMP_ANSWERS", "0").strip().lower()
    return raw not in ("1", "on", "yes", "true")


ENABLED = enabled()


def _unanswered(command):
    """A copy of an Evennia AMP command that asks for no answer.

    Args:
        command (type): `MsgPortal2Server` or `MsgServer2Portal`.

    Returns:
        type: A Command with the same name and argument on the wire and
            `requiresAnswer = False`.
    """
    return type(
        f"Unanswered{command.__name__}",
        (command,),
        {"commandName": command.commandName, "requiresAnswer": False},
    )


UNANSWERED = {
    evennia_amp.MsgPortal2Server: _unanswered(evennia_amp.MsgPortal2Server),
    evennia_amp.MsgServer2Portal: _unanswered(evennia_amp.MsgServer2Portal),
}


def _log_unanswered_failure(failure, name):
    """Log a failed responder of a box that asked for no answer; drop it."""
    logger.log_err(f"AMP {name!r} (no answer asked) failed: {failure.getTraceback()}")


class UnansweredMessagesMixin:
    """Sends Evennia's two message commands unanswered; survives their failures.

    Put in front of an Evennia AMP protocol class (see the module docstring).
    """

    unanswered = UNANSWERED

    def callRemote(self, commandType, *args, **kwargs):  # noqa: N802, N803 - Twisted's names
        """Send a command; the two message commands without asking for an answer, at once.

        Returns:
            Deferred: As Evennia's callers expect: for an unanswered message
                it has fired already (with `{}`, or with the failure to
                serialize it).
        """
        unanswered = self.unanswered.get(commandType) if ENABLED else None
        if unanswered is None or not self.peer_is_game():
            return super().callRemote(commandType, *args, **kwargs)
        try:
            super().callRemote(unanswered, *args, **kwargs)
        except Exception:  # what the stock Deferred would have carried
            return defer.fail()
        sendnow.send_now(self.transport)
        return defer.succeed({})

    def peer_is_game(self):
        """True if the other end is the game's other process, not Evennia's launcher.

        The Portal's AMP server also accepts the launcher (`evennia status`,
        `evennia stop`), whose stock protocol would drop a connection on a
        box it cannot answer; the Portal marks the Server's connection as
        `factory.server_connection`. The Server's client only ever talks to
        the Portal.
        """
        return getattr(self.factory, "server_connection", self) is self

    def locateResponder(self, name):  # noqa: N802 - Twisted's name
        """The responder for `name`; for a box asking no answer, one whose failure is logged."""
        responder = super().locateResponder(name)
        if responder is None:
            return None

        def respond(box):
            result = defer.maybeDeferred(responder, box)
            if ASK not in box:
                result.addErrback(_log_unanswered_failure, name)
            return result

        return respond


class PortalAMPProtocol(UnansweredMessagesMixin, AMPServerProtocol):
    """The Portal's end of the AMP link (`AMP_SERVER_PROTOCOL_CLASS`)."""


class ServerAMPProtocol(UnansweredMessagesMixin, AMPServerClientProtocol):
    """The Server's end of the AMP link (`AMP_CLIENT_PROTOCOL_CLASS`)."""


def use_client_setting(server):
    """Make the Server's AMP client factory build `AMP_CLIENT_PROTOCOL_CLASS`.

    Evennia 5.0.1's `AMPClientFactory` reads the setting into
    `factory.protocol` but builds `AMPServerClientProtocol()` by name; this
    gives the factory (this instance only) Evennia's `buildProtocol` with
    the setting's class.

    Args:
        server (EvenniaServerService): The Server's main service.

    Returns:
        bool: True if a factory was found (and now builds the setting's class).
    """
    service = getattr(server, "amp_service", None)
    factory = next((arg for arg in getattr(service, "args", ()) if isinstance(arg, AMPClientFactory)), None)
    if factory is None:
        return False

    def buildProtocol(addr):  # noqa: N802 - Twisted's name
        factory.resetDelay()
        factory.server.amp_protocol = factory.protocol()
        factory.server.amp_protocol.factory = factory
        return factory.server.amp_protocol

    factory.buildProtocol = buildProtocol
    return True
