#!/usr/bin/env python3
"""
Benchmark: does thinking agents cost operators anything?

Starts a world from a temporary copy on free ports, with the five agents on a
fake Ollama that takes `--delay` seconds (2 by default) per answer, measures
an operator's `look` round trip over telnet, then stops the agents and
measures again. Prints p50/p95/p99/max for both and the ratios. Asserts
nothing; a benchmark, not a test.

    .venv/bin/python bench/agents_latency.py [--samples 1000] [--delay 2]
"""

import argparse
import os
import statistics
import sys
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from tests.support.fake_ollama import Answer, FakeOllama  # noqa: E402
from tests.support.liveworld import LiveWorld  # noqa: E402
from tests.support.telnet import TelnetClient  # noqa: E402

LOOK_END = r"Exits:[^\n]*\n(?:Characters:[^\n]*\n)?"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure(client, samples, pause):
    """`look` round trips in milliseconds."""
    timings = []
    for _ in range(samples):
        client.drain(quiet=0.001, limit=0.01)
        started = time.perf_counter()
        client.command("look", LOOK_END, timeout=10)
        timings.append((time.perf_counter() - started) * 1000)
        time.sleep(pause)
    return timings


def summary(label, timings):
    return (f"{label:<22} p50 {percentile(timings, .5):7.2f}  p95 {percentile(timings, .95):7.2f}  "
            f"p99 {percentile(timings, .99):7.2f}  max {max(timings):7.2f}  mean {statistics.mean(timings):7.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the fake Ollama takes per answer")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between two looks")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds for the agents to get going")
    args = parser.parse_args()

    ollama = FakeOllama(default=Answer.auto(delay=args.delay)).start()
    world = LiveWorld(extra_env={"OLLAMA_HOST": ollama.url, "TIMMY_AGENTS": "1", "TIMMY_AGENT_IDLE_TICK": "5",
                                 "TIMMY_AGENT_MIN_INTERVAL": "1", "TIMMY_HEARTBEAT_INTERVAL": "5"})
    try:
        world.start()
        client = TelnetClient("127.0.0.1", world.telnet_port, timeout=20)
        client.login(world.username, world.password, LOOK_END)
        time.sleep(args.warmup)
        with_agents = measure(client, args.samples, args.pause)
        chats = len(ollama.chat_requests)
        world.timmy("agents", "stop")
        time.sleep(3)
        without_agents = measure(client, args.samples, args.pause)
        client.close()
    finally:
        world.cleanup()
        ollama.stop()
    print(f"look round trip over telnet, {args.samples} samples each; fake Ollama answers in {args.delay:.1f} s")
    print(summary("agents active", with_agents))
    print(summary("agents stopped", without_agents))
    print(f"model calls during the run: {chats}")
    for name, fraction in (("p50", .5), ("p99", .99)):
        ratio = percentile(with_agents, fraction) / max(0.001, percentile(without_agents, fraction))
        print(f"ratio {name} (active / stopped): {ratio:.2f}")


if __name__ == "__main__":
    main()
