"""
TCP_NODELAY on every TCP connection the game owns.

Why: a MUD writes many small segments (a prompt, a line of output, one AMP
frame). With Nagle's algorithm on, the kernel holds a small segment back
while an earlier one is still unacknowledged, and the peer acknowledges
lazily (Linux's delayed ACK waits up to 40 ms). The two together add 0-50 ms
to a round trip at random: an operator's `look` under load went from p50
3 ms / p99 8 ms to p50 28 ms / p99 57 ms on stock Evennia 5.0.1, which sets
TCP_NODELAY nowhere, not even on the Portal<->Server AMP link (evennia#746
once fixed that; the fix is gone). Autobahn already sets it on websockets.

How: the service plugins call `install(portal)` / `install(server)` at
startup, before the services listen or connect. Every TCP service's factory
(telnet, websocket, web proxy, AMP server in the Portal; AMP client and
webserver in the Server) gets a `buildProtocol` that makes each new
protocol set `transport.setTcpNoDelay(True)` before `connectionMade` runs.
Because it wraps the factory, it holds for every later connection too,
including the AMP client's reconnects after a reload. The Portal's reverse
proxy to the Server's webserver opens its connections through the proxy
resource's `reactor`, which gets the same treatment.

`TIMMY_NODELAY=0` turns it off (to measure, or to prove a test catches it).
Nothing in the installed Evennia is patched: only this game's instances.
"""

import os

_MARK = "_timmy_nodelay"


def enabled():
    """False when TIMMY_NODELAY is 0/off/no/false in the environment."""
    raw = os.environ.get("TIMMY_NODELAY", "1").strip().lower()
    return raw not in ("0", "off", "no", "false")


def set_nodelay(transport):
    """Turn Nagle's algorithm off on `transport` if it is a TCP transport.

    Args:
        transport: A Twisted transport; non-TCP ones are left alone.

    Returns:
        bool: True if the option was set.
    """
    setter = getattr(transport, "setTcpNoDelay", None)
    if setter is None:
        return False
    try:
        setter(True)
    except OSError:  # the connection is already gone
        return False
    return True


def _hook_protocol(protocol):
    """Make `protocol` set TCP_NODELAY on its transport as it is connected."""
    make_connection = protocol.makeConnection

    def makeConnection(transport):  # noqa: N802 - Twisted's name
        set_nodelay(transport)
        return make_connection(transport)

    protocol.makeConnection = makeConnection
    return protocol


def wrap_factory(factory):
    """Make every protocol `factory` builds set TCP_NODELAY (idempotent).

    Args:
        factory: A Twisted protocol factory (server or client).

    Returns:
        bool: True if the factory was wrapped now.
    """
    if getattr(factory, _MARK, False) or not hasattr(factory, "buildProtocol"):
        return False
    build_protocol = factory.buildProtocol

    def buildProtocol(addr):  # noqa: N802 - Twisted's name
        protocol = build_protocol(addr)
        return protocol if protocol is None else _hook_protocol(protocol)

    factory.buildProtocol = buildProtocol
    setattr(factory, _MARK, True)
    return True


class _NoDelayConnector:
    """Stands in for the reactor of a reverse-proxy resource: wraps its factories."""

    def __init__(self, reactor):
        self._reactor = reactor

    def connectTCP(self, host, port, factory, *args, **kwargs):  # noqa: N802 - Twisted's name
        wrap_factory(factory)
        return self._reactor.connectTCP(host, port, factory, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._reactor, name)


def _hook_reverse_proxy(site):
    """Give the site's reverse-proxy root (the Portal's web proxy) a NODELAY connector."""
    root = getattr(site, "resource", None)
    reactor = getattr(root, "reactor", None)
    if reactor is None or not hasattr(root, "proxyClientFactoryClass") or isinstance(reactor, _NoDelayConnector):
        return
    root.reactor = _NoDelayConnector(reactor)


def _services(parent):
    """Every service under `parent` (a MultiService), depth first."""
    for service in list(getattr(parent, "services", ())):
        yield service
        yield from _services(service)


def install(application):
    """Wrap the factories of every TCP service under `application`.

    Args:
        application: The Portal or Server service (a Twisted MultiService).

    Returns:
        list of str: Names of the services whose factories were wrapped.
    """
    if not enabled():
        return []
    wrapped = []
    for service in _services(application):
        for arg in list(getattr(service, "args", ())) + list(getattr(service, "kwargs", {}).values()):
            if hasattr(arg, "buildProtocol") and (wrap_factory(arg) or getattr(arg, _MARK, False)):
                _hook_reverse_proxy(arg)
                wrapped.append(getattr(service, "name", None) or type(service).__name__)
    return wrapped
