#!/usr/bin/env python3
"""
Benchmark: how long one heartbeat cycle takes when every service hangs.

Ten HTTP services that accept the connection and never answer, probed with
the configured timeout: concurrent probes finish in about one timeout, where
sequential ones would take ten. Prints the figures; asserts nothing.

    .venv/bin/python bench/heartbeat_cycle.py [--services 10] [--timeout 2.0]
"""

import argparse
import os
import sys
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args()

    from world.cli import setup_django

    setup_django()
    from twisted.internet import defer, reactor

    from tests.support.checks import make_check
    from tests.support.fake_http import FakeHTTPService, Route
    from world.heartbeat.cycle import run_cycle

    service = FakeHTTPService({"/": Route(hang=True)}).start()
    checks = [make_check(f"hang{i}", target=service.url + "/", timeout=args.timeout) for i in range(args.services)]
    durations = []

    @defer.inlineCallbacks
    def run():
        try:
            for _ in range(args.cycles):
                started = time.perf_counter()
                results = yield run_cycle(checks)
                durations.append(time.perf_counter() - started)
                assert all(r.reason.startswith("timeout") for r in results)
        finally:
            reactor.stop()

    reactor.callWhenRunning(run)
    reactor.run()
    service.stop()
    best, worst = min(durations), max(durations)
    print(f"services hanging:      {args.services}")
    print(f"probe timeout:         {args.timeout:.2f} s")
    print(f"cycle time (best):     {best:.3f} s  ({best / args.timeout:.2f} x timeout)")
    print(f"cycle time (worst):    {worst:.3f} s  ({worst / args.timeout:.2f} x timeout)")
    print(f"sequential would take: {args.services * args.timeout:.1f} s")


if __name__ == "__main__":
    main()
