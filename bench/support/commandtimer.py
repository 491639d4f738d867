"""
Inside the live Server: how long commands hold the reactor.

Loaded by bench/command_costs.py through the operator's `py` (benchmark
only, never by the game). Each command line runs through Evennia's own
command handler for the operator's session, as if typed, and is timed from
the call to its return: the command sets gathered, the command parsed and
run, its answer packed and written to the Portal. Every command timed here
finishes inside that call (none waits for a thread), so the time is what
the reactor was held for.
"""

import json
import time

from evennia.commands.cmdhandler import cmdhandler


def time_commands(session, lines, repeat):
    """{line: [ms, ...]}: each line run `repeat` times through the command handler, round-robin."""
    timings = {line: [] for line in lines}
    for _ in range(repeat):
        for line in lines:
            started = time.perf_counter()
            cmdhandler(session, line, callertype="session", session=session)
            timings[line].append((time.perf_counter() - started) * 1000.0)
    return timings


def dump(session, lines, repeat, path):
    """Time the lines (see `time_commands`) and write the result to `path` as JSON."""
    with open(path, "w") as handle:
        json.dump(time_commands(session, lines, repeat), handle)
    return path
