"""
Portal service plugins.

Evennia calls `start_plugin_services(portal)` last in the Portal's startup,
after it has built its services (telnet, websocket, web proxy, AMP server)
but before they listen. We use it for latency: Nagle's algorithm off on
every connection they accept (`server/conf/nodelay.py` says why), no long
garbage-collection pauses (`server/conf/gcfreeze.py`), and the reactor's
thread on CPUs other than the Server's (`server/conf/cpusplit.py`).
"""

from twisted.internet import reactor

from server.conf import cpusplit, gcfreeze, nodelay


def start_plugin_services(portal):
    """Called by Evennia last in the Portal's startup.

    Args:
        portal (EvenniaPortalService): The Portal's main service.
    """
    nodelay.install(portal)
    gcfreeze.install(reactor)
    cpusplit.install("portal")
