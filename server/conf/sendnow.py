"""
A message leaves when it is ready, not when the reactor's turn ends.

Why: Twisted's `transport.write()` only buffers; the bytes go out at the
reactor's next turn, after everything else that turn still has to do. On
the AMP link one turn reads every box the other process sent meanwhile and
runs them all: the Server's answer to an operator's `look` sat in its
buffer while the Server ran the players' commands that had arrived with or
after it. A capture of the Portal-Server link in the latency benchmark's
loaded case (100 players; README, Latency, finding 24) found that in 16 of
the 20 slowest of 2,000 looks the answer had left in one segment with boxes
made after it; the answers that left alone were no slower at p99 than with
nobody else playing. The Portal does the same with what it passes on:
a player's line to the Server and the Server's text to a telnet or
websocket connection.

How: `send_now(transport)` writes what a plain TCP transport holds at
once, through the transport's own `doWrite()` (what the reactor calls when
the socket can take data): the same bytes in the same order, with the
transport's own bookkeeping. It is called

- by the AMP protocols (`server/conf/amplink.py`) right after the Portal
  or the Server sent one of Evennia's two message commands;
- by the Portal's session handler (`SendNowPortalSessionHandler`, named by
  Evennia's `PORTAL_SESSION_HANDLER_CLASS`) right after it handed a
  session its output.

What it leaves to the reactor: a transport that is not plain TCP (TLS, SSH,
the AJAX webclient's HTTP), a connection being closed (the reactor closes it
once the buffer is out), nothing buffered, and a send that fails (the
reactor's next turn gets the same failure and closes the connection the
normal way; the transport is still registered for writing). A socket that
takes only part of the data keeps the rest for the reactor, as before.

`TIMMY_SEND_NOW=0` in the environment the world starts in turns it off (to
measure, or to prove a test catches it). Nothing in the installed Evennia
or Twisted is patched.
"""

import os

from evennia.server.portal.portalsessionhandler import PortalSessionHandler
from twisted.internet import tcp


def enabled():
    """False when TIMMY_SEND_NOW is 0/off/no/false in the environment."""
    raw = os.environ.get("TIMMY_SEND_NOW", "1").strip().lower()
    return raw not in ("0", "off", "no", "false")


ENABLED = enabled()


def _holds_data(transport):
    """True if `transport` has bytes waiting to be written."""
    return bool(transport._tempDataLen or len(transport.dataBuffer) > transport.offset)


def can_send_now(transport):
    """True if `transport` is an open plain TCP connection with bytes waiting.

    Args:
        transport: Any Twisted transport.
    """
    return (
        isinstance(transport, tcp.Connection)
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnecting
        and _holds_data(transport)
    )


def send_now(transport):
    """Write what `transport` holds now instead of at the reactor's next turn.

    Args:
        transport: A Twisted transport; anything but an open plain TCP
            connection with bytes waiting is left alone.

    Returns:
        bool: True if everything it held was written.
    """
    if not ENABLED or not can_send_now(transport):
        return False
    # doWrite() returns None when it wrote (and stops the writer once the
    # buffer is empty), or the failure; on failure the transport stays
    # registered for writing and the reactor closes it at its next turn.
    return transport.doWrite() is None and not _holds_data(transport)


class SendNowPortalSessionHandler(PortalSessionHandler):
    """Evennia's Portal session handler; a session's output leaves at once.

    Named by `PORTAL_SESSION_HANDLER_CLASS` in the settings.
    """

    def data_out(self, session, **kwargs):
        """Hand `session` its output (Evennia's way), then send it now.

        Args:
            session (PortalSession): The session (protocol) to send to.
            **kwargs: Evennia's output instructions.
        """
        super().data_out(session, **kwargs)
        if session is not None:
            send_now(getattr(session, "transport", None))
