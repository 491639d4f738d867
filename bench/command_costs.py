#!/usr/bin/env python3
"""
Benchmark: how long each of a list of commands holds the live Server's reactor.

Starts Timmy World from a temporary folder on free ports (as bench/latency.py
does), logs in N dummyrunner players, then runs each command line through
Evennia's command handler inside the Server, as the operator (a superuser)
typing it, `--repeat` times round-robin (bench/support/commandtimer.py,
through the operator's `py`), and prints each line's min, median and max in
ms. While a command runs, no one else's command does: a command that takes
tens of milliseconds is felt by every player online (README, "Latency",
finding 29).

    .venv/bin/python bench/command_costs.py [--players 100] [--repeat 20] [--line 'who'] ...
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from bench.support.phaseargs import phase_bench, work_folder  # noqa: E402

LINES = ("look", "who", "help", "help look", "lok", "@status", "@incidents", "@agents", "say hello")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=100, help="dummyrunner players online (0: none)")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each line")
    parser.add_argument("--line", action="append", default=[], help="a command line to time (repeatable;"
                        " default: " + ", ".join(LINES) + ")")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, timings)")
    args = parser.parse_args(argv)
    args.world_env = {}
    args.samples = 0
    if args.players < 0 or args.repeat < 1:
        parser.error("--players must be 0 or more and --repeat 1 or more")
    return args


def run(args, workdir):
    """Start the world, log the players in, time the lines; return (players online, {line: [ms]})."""
    bench = phase_bench(args, workdir)
    with contextlib.ExitStack() as stack:
        world, client, _, _ = bench.start_timmy(stack, {})
        count = bench.start_dummies(world, "costs", stack)[0] if args.players else 0
        time.sleep(5)  # the logins' own work done
        path = os.path.join(workdir, "command-costs.json")
        lines = args.line or list(LINES)
        # the commands' answers come back to the operator with py's: only a traceback means failure
        answer = client.command("py from bench.support import commandtimer; "
                                f"commandtimer.dump(self.sessions.all()[0], {lines!r}, {args.repeat}, {path!r})",
                                quiet=max(3.0, 0.5 * args.repeat))
        if "Traceback" in answer or not os.path.exists(path):
            raise RuntimeError(f"timing the commands failed: {answer[-2000:]!r}")
        with open(path) as handle:
            return count, json.load(handle)


def report(count, timings):
    print(f"\ncommands run by the operator with {count} players online (ms the Server's reactor was held):")
    print(f"  {'command':<24} {'min':>8} {'median':>8} {'max':>8}")
    for line, values in timings.items():
        print(f"  {line:<24} {min(values):8.2f} {statistics.median(values):8.2f} {max(values):8.2f}")


def main(argv=None):
    args = parse_args(argv)
    with work_folder("timmy-costs-", args.keep) as workdir:
        report(*run(args, workdir))


if __name__ == "__main__":
    main()
