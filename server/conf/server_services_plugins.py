"""
Server service plugins.

Evennia calls `start_plugin_services(server)` last in the Server's startup,
after it has built its services (the AMP client to the Portal, the
webserver) but before they connect or listen, in the daemonized process.
First, the database connections opened before twistd forked are reopened
here (`server/conf/dbreopen.py` says why: without it a CLI run could delete
the WAL the Server writes to). Then latency: the AMP client built from the
game's protocol class (Evennia 5.0.1 ignores `AMP_CLIENT_PROTOCOL_CLASS`
there; `server/conf/amplink.py`), Nagle's algorithm off on those
connections (`server/conf/nodelay.py` says why), no long garbage-collection
pauses (`server/conf/gcfreeze.py`), the reactor's thread on a CPU of its own
(`server/conf/cpusplit.py`) and, for the latency benchmark only,
the reactor-lag probe when its environment variable is set
(`server/conf/reactorprobe.py`).
"""

from twisted.internet import reactor

from server.conf import amplink, cpusplit, dbreopen, gcfreeze, nodelay, reactorprobe


def start_plugin_services(server):
    """Called by Evennia last in the Server's startup.

    Args:
        server (EvenniaServerService): The Server's main service.
    """
    dbreopen.reopen()
    amplink.use_client_setting(server)  # first: nodelay wraps what it builds
    nodelay.install(server)
    gcfreeze.install(reactor)
    cpusplit.install("server")
    reactorprobe.start_from_env()
