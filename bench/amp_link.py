#!/usr/bin/env python3
"""
Benchmark: what a player's command costs on the Portal-Server AMP link.

Evennia's own Portal AMP server factory and Server AMP client factory, with
the game's protocol classes (`server/conf/amplink.py`, named in the
settings), are connected over loopback TCP in this one process; only the
session handlers are stand-ins. The Portal sends a line to the Server (a
player's `look`), the Server answers it with a 700-byte line back (what a
`look` sends), and the next line leaves when that answer has arrived. The
same run of round trips is made with Evennia's stock exchange
(`amplink.ENABLED` off: an answer box for every message) and with the
game's (none), alternating, and the median of the rounds is printed:
the CPU time of the process (both ends together) and the wall time per
round trip. A benchmark, never part of the test suite.

    .venv/bin/python bench/amp_link.py [--count 5000] [--rounds 5]
"""

import argparse
import os
import statistics
import sys
import time
from types import SimpleNamespace

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

SESSION = SimpleNamespace(sessid=1)
LOOK_OUTPUT = ("|cThe Hearth|n\nA round room of screens and cables; the fleet's pulse hums in the walls. " * 8)[:700]


class PortalSessions:
    """Stands in for the Portal's session handler: notes each line from the Server."""

    def __init__(self):
        self.waiting = None

    def get(self, sessid, default=None):
        return SESSION

    def data_out(self, session, **kwargs):
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.callback(None)

    def get_all_sync_data(self):
        return {}

    def at_server_connection(self):
        pass


class ServerSessions:
    """Stands in for the Server's session handler: answers every line with a look's output."""

    def __init__(self, server):
        self.server, self.synced = server, False

    def get(self, sessid, default=None):
        return SESSION

    def data_in(self, session, **kwargs):
        self.server.amp_protocol.send_MsgServer2Portal(session, text=((LOOK_OUTPUT,), {}))

    def portal_sessions_sync(self, data):
        self.synced = True


def connect(reactor):
    """Start the Portal's AMP server and the Server's AMP client; return (portal side, portal sessions)."""
    import evennia
    from evennia.server.amp_client import AMPClientFactory
    from evennia.server.portal.amp_server import AMPServerFactory
    from twisted.application import internet

    from server.conf import amplink

    portal = SimpleNamespace(amp_protocol=None, server_restart_mode=None, start_time=1.0, server_info_dict={},
                             server_process_id=None, get_info_dict=lambda: {})
    server = SimpleNamespace(amp_protocol=None, amp_service=None, get_info_dict=lambda: {},
                             run_initial_setup=lambda: None)
    portal_sessions, server_sessions = PortalSessions(), ServerSessions(server)
    evennia.PORTAL_SESSION_HANDLER, evennia.SERVER_SESSION_HANDLER = portal_sessions, server_sessions
    evennia.EVENNIA_SERVER_SERVICE = SimpleNamespace(run_init_hooks=lambda mode: None)
    portal_factory = AMPServerFactory(portal)
    listening = internet.TCPServer(0, portal_factory, interface="127.0.0.1")
    listening.startService()
    server.amp_service = internet.TCPClient("127.0.0.1", listening._port.getHost().port, AMPClientFactory(server))
    amplink.use_client_setting(server)
    server.amp_service.startService()
    return portal, portal_factory, portal_sessions, server_sessions


def round_trips(portal_side, portal_sessions, count):
    """`count` round trips one after the other; a Deferred firing (CPU us, wall us) per round trip."""
    from twisted.internet import defer

    @defer.inlineCallbacks
    def run():
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            portal_sessions.waiting = answered = defer.Deferred()
            portal_side.send_MsgPortal2Server(SESSION, text=(("look",), {}))
            yield answered
        return ((time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6)

    return run()


def measure(reactor, args):
    """Connect, then alternate stock and game rounds; print the medians."""
    from twisted.internet import defer, task

    from server.conf import amplink

    @defer.inlineCallbacks
    def run():
        portal, portal_factory, portal_sessions, server_sessions = connect(reactor)
        while portal_factory.server_connection is None or not server_sessions.synced:
            yield task.deferLater(reactor, 0.01, lambda: None)
        portal_side = portal.amp_protocol
        results = {"stock": [], "game": []}
        yield round_trips(portal_side, portal_sessions, min(args.count, 500))  # warm up
        for _ in range(args.rounds):
            for name, enabled in (("stock", False), ("game", True)):
                amplink.ENABLED = enabled
                results[name].append((yield round_trips(portal_side, portal_sessions, args.count)))
        print(f"AMP link: {args.count} round trips per round, {args.rounds} rounds, medians "
              f"(a line to the Server, {len(LOOK_OUTPUT)} characters back; both ends in this process)")
        print(f"  {'link':32} {'CPU us/round trip':>18} {'wall us/round trip':>19}")
        for name, title in (("stock", "Evennia's (answer boxes)"), ("game", "the game's (no answer boxes)")):
            cpu = statistics.median(r[0] for r in results[name])
            wall = statistics.median(r[1] for r in results[name])
            print(f"  {title:32} {cpu:18.1f} {wall:19.1f}")
        stock_cpu = statistics.median(r[0] for r in results["stock"])
        game_cpu = statistics.median(r[0] for r in results["game"])
        print(f"  the game's link saves {stock_cpu - game_cpu:.1f} us of CPU per round trip"
              f" ({(stock_cpu - game_cpu) / stock_cpu * 100:.0f} %)")

    return run()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000, help="round trips per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each link, alternating")
    args = parser.parse_args(argv)
    if args.count < 1 or args.rounds < 1:
        parser.error("--count and --rounds must be at least 1")
    from world.cli import setup_django

    setup_django()
    from twisted.internet import task

    task.react(measure, [args])


if __name__ == "__main__":
    main()
