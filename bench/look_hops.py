#!/usr/bin/env python3
"""
Benchmark: where an operator's `look` spends its time, hop by hop.

Starts Timmy World from a temporary folder on free ports (as
bench/latency.py does), captures the operator's telnet connection and the
Portal-Server AMP link with tcpdump on loopback, and times every look in
three hops: the Portal on the way in, the Server (from the Portal's box
arriving to the Server's answer leaving), the Portal on the way out. Phases:
the operator alone, with N dummyrunner players, and (`--agents`) with the
five agents on a fake Ollama answering in 2 s and the heartbeat every 5 s.
For each phase it prints the hops' p50/p90/p99/max and, of the slowest 1 %
of looks, how many had their answer leave the Server in one segment with
later AMP boxes (an answer that waited for the reactor's turn to end,
README Latency, finding 24).

Needs tcpdump and the right to capture on `lo` (root here). The capture
slows every process a little, so compare its phases with each other, not
with bench/latency.py's figures.

    .venv/bin/python bench/look_hops.py [--players 100] [--samples 2000] [--agents]
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from bench.latency import percentile  # noqa: E402
from bench.support import hops  # noqa: E402
from bench.support.phaseargs import parse_phase_args, phase_bench, work_folder  # noqa: E402

MARKER = "hopsmarker"


def capture(path, ports, log):
    """Start tcpdump on loopback for `ports`; return the process."""
    expression = " or ".join(f"tcp port {port}" for port in ports)
    return subprocess.Popen(["tcpdump", "-i", "lo", "-s", "0", "-B", "65536", "--time-stamp-precision=nano",
                             "-U", "-w", path, expression], stdout=subprocess.DEVNULL, stderr=log)


def stop_capture(process, drain=2.0):
    """Stop tcpdump once it had `drain` seconds to write what the kernel still holds for it."""
    time.sleep(drain)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)


def run(args, workdir):
    """Start the world, capture the phases; return ({phase: (since, until, client times)}, capture info)."""
    bench = phase_bench(args, workdir)
    phases = {}
    with contextlib.ExitStack() as stack:
        world, client, hang, _ = bench.start_timmy(stack, {})
        amp_port = world.port_base + 4  # server/conf/settings.py lays the ports out from the base
        pcap = os.path.join(workdir, "look.pcap")
        dump = capture(pcap, (world.telnet_port, amp_port), open(os.path.join(workdir, "tcpdump.log"), "w"))
        stack.callback(stop_capture, dump)
        time.sleep(2)  # tcpdump is listening
        client.command(MARKER)  # names the operator's session in the capture
        phases["operator alone"] = measure(client, args.samples)
        count, _ = bench.start_dummies(world, "hops", stack)
        phases[f"{count} players"] = measure(client, args.samples)
        if args.agents:
            bench.agents_load(world, client, hang)
            bench.start_agents(world, client)
            phases[f"{count} players + 5 agents, heartbeat 5 s"] = measure(client, args.samples)
        info = dict(pcap=pcap, operator_port=client.telnet.sock.getsockname()[1],
                    telnet_port=world.telnet_port, amp_port=amp_port)
    return phases, info


def measure(client, samples):
    since = time.time()
    timings = client.round_trips(samples)
    return since, time.time(), timings


def report(phases, info):
    every = hops.looks(info["pcap"], info["operator_port"], info["telnet_port"], info["amp_port"], MARKER)
    for name, (since, until, timings) in phases.items():
        phase = [look for look in every if since <= look.sent <= until]
        if not phase:
            print(f"{name}: no look found in the capture")
            continue
        wire = [look.total for look in phase]
        print(f"\n{name}: {len(phase)} looks; round trip at the client p50 {percentile(timings, .5):.2f}"
              f" p99 {percentile(timings, .99):.2f} ms, on the wire p50 {percentile(wire, .5):.2f}"
              f" p99 {percentile(wire, .99):.2f} ms")
        for hop in ("portal_in", "server", "portal_out"):
            values = [getattr(look, hop) for look in phase]
            print(f"  {hop.replace('_', ' '):<11} p50 {percentile(values, .5):6.3f}  p90 {percentile(values, .9):6.3f}"
                  f"  p99 {percentile(values, .99):6.3f}  max {max(values):7.2f} ms")
        slowest = sorted(phase, key=lambda look: look.total)[-max(1, len(phase) // 100):]
        waited = sum(look.boxes_in_answer_segment > 1 for look in slowest)
        print(f"  slowest 1 % ({len(slowest)}): the Server's answer left with later boxes in {waited};"
              f" mean hops {sum(look.portal_in for look in slowest) / len(slowest):.2f} /"
              f" {sum(look.server for look in slowest) / len(slowest):.2f} /"
              f" {sum(look.portal_out for look in slowest) / len(slowest):.2f} ms")


def main(argv=None):
    args = parse_phase_args(__doc__, argv)
    if shutil.which("tcpdump") is None:
        sys.exit("look_hops needs tcpdump (Debian: apt-get install tcpdump) and the right to capture on lo")
    with work_folder("timmy-hops-", args.keep) as workdir:
        phases, info = run(args, workdir)
        report(phases, info)


if __name__ == "__main__":
    main()
