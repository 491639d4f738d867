#!/usr/bin/env python3
"""
Benchmark: what the Server's reactor runs, turn by turn, and what the
operator's slowest looks waited behind.

Starts Timmy World from a temporary folder on free ports (as
bench/latency.py does), wraps the live Server's reactor through the
operator's `py` (bench/support/turnlog.py: every read of the Portal-Server
link with the messages it carried and who sent them, every timed call), and
times the operator's `look` over telnet in phases: with N dummyrunner
players, and (`--agents`) with the five agents on a fake Ollama answering
in 2 s and the heartbeat every 5 s with two hanging probes. For each phase
it prints what the Server spent its time on (how often a second, mean and
max ms, share of the busy time) and, for the slowest 1 % of looks, when the
Server started each and what it ran between the look being sent and it
being served (README, "Latency", finding 26). The wrapping slows the
Server a little: compare phases with each other, not with
bench/latency.py's figures.

    .venv/bin/python bench/server_turns.py [--players 100] [--samples 2000] [--agents]
"""

import contextlib
import json
import os
import sys
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from bench.latency import percentile  # noqa: E402
from bench.support import turns  # noqa: E402
from bench.support.phaseargs import parse_phase_args, phase_bench, work_folder  # noqa: E402


def timed_looks(client, samples, pause=0.02):
    """[(unix time sent, ms)] of `samples` looks."""
    looks = []
    for _ in range(samples):
        sent, clock = time.time(), time.perf_counter()
        client.look_text()
        looks.append((sent, (time.perf_counter() - clock) * 1000))
        time.sleep(pause)
    return looks


def server_py(client, code, quiet=1.0):
    """Run `code` in the Server through `py`; fail loudly if it raised."""
    answer = client.command(f"py {code}", quiet=quiet)
    if "Traceback" in answer or "Error" in answer:
        raise RuntimeError(f"py {code!r} failed: {answer!r}")
    return answer


def phase(client, name, samples, workdir):
    """Looks with the Server's turns logged; returns (records, looks)."""
    server_py(client, "from bench.support import turnlog; turnlog.RECORDS.clear()")
    looks = timed_looks(client, samples)
    time.sleep(0.5)
    path = os.path.join(workdir, f"turns-{name.replace(' ', '-')}.json")
    server_py(client, f"from bench.support import turnlog; turnlog.dump({path!r})", quiet=2.0)
    return turns.read(path), looks


def run(args, workdir):
    """Start the world and measure the phases; return {phase: (records, looks)} and the operator's name."""
    bench = phase_bench(args, workdir)
    phases = {}
    with contextlib.ExitStack() as stack:
        world, client, hang, _ = bench.start_timmy(stack, {})
        server_py(client, "from bench.support import turnlog; print(turnlog.start())")
        count, _ = bench.start_dummies(world, "turns", stack)
        phases[f"{count} players"] = phase(client, "players", args.samples, workdir)
        if args.agents:
            bench.agents_load(world, client, hang)
            bench.start_agents(world, client)
            phases[f"{count} players + 5 agents, heartbeat 5 s"] = phase(client, "agents", args.samples, workdir)
        server_py(client, "from bench.support import turnlog; print(turnlog.stop())")
        operator = world.username
    return phases, operator


def report(phases, operator):
    for name, (records, looks) in phases.items():
        times = [took for _, took in looks]
        print(f"\n{name}: {len(looks)} looks, p50 {percentile(times, .5):.2f} ms,"
              f" p99 {percentile(times, .99):.2f} ms")
        print("\n".join(turns.busy_table(records, operator)))
        print("\n".join(turns.slowest(records, looks, operator)))


def main(argv=None):
    args = parse_phase_args(__doc__, argv)
    with work_folder("timmy-turns-", args.keep) as workdir:
        phases, operator = run(args, workdir)
        report(phases, operator)
        if args.keep:
            with open(os.path.join(workdir, "looks.json"), "w") as handle:
                json.dump({name: looks for name, (_, looks) in phases.items()}, handle)


if __name__ == "__main__":
    main()
