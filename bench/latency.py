#!/usr/bin/env python3
"""
Benchmark: what an operator feels, stock Evennia next to Timmy World.

In one run it starts each world from a temporary folder on free ports and,
for every case, measures an operator's `look` round trip over telnet (p50,
p95, p99, max), the Server reactor's lag (a 20 ms timer inside the Server
recording how late it fires, server/conf/reactorprobe.py), and the CPU
(% of one core, from /proc, in a window without the operator's looks) and
memory of the Server, the Portal and the agent processes:

  1  stock Evennia 5.0.1 (`evennia --init`), N players (`evennia --dummyrunner N`)
  2  Timmy World, the same N players
  3  2 + the five agents on a fake Ollama answering in 2 s, the heartbeat every
     5 s with two extra probes that hang until their timeout
  4  as 3, the fake Ollama answering in 20 s
  5  as 4 + the reactor blocked 0.5 s every 5 s on purpose (negative control)

Cases 3 and 4 are measured in alternating windows (3a, 4a, 3b, 4b, ...,
four each by default, `--windows`; the agents restarted on the other fake Ollama at each
switch), and each pools its own: the machine's speed drifts over minutes by
as much as the "within 10 %" target between them.

plus each world idle (the operator alone), and Timmy World idle once more
after case 5 (blocker, agents and players gone, the probes answering, the
first heartbeat interval back): the machine drifts over the minutes between
cases, so Timmy World's idle p99 is taken over both idle windows, before and
after. It prints a table, the ratios to case 1 and the targets. The two
targets that compare p99s of the same world (case 3 against idle, case 4
against case 3) come with a 90 % block-bootstrap interval of the ratio
(bench/support/resample.py): a p99 is one of the slowest few dozen looks,
and the machine runs slower or faster for stretches of seconds to minutes;
the interval shows how far those two alone move it. 5,000 looks per case
by default (the issue asks for at least 2,000) narrow it. A benchmark,
never part of the test suite.

    .venv/bin/python bench/latency.py [--quick] [--players 100] [--samples 5000] [--windows 4]
"""

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from bench.support import stalls  # noqa: E402
from bench.support.looks import LookClient  # noqa: E402
from bench.support.procstats import CpuWindow, memory_mb, uptime_of  # noqa: E402
from bench.support.resample import nearest_rank, ratio_interval  # noqa: E402
from bench.support.services import DummyRunner, FakeOllamaProcess, SwitchableHTTP, free_port  # noqa: E402
from bench.support.worlds import StockWorld, timmy_world  # noqa: E402

HANG_TIMEOUT = 3.0
BLOCK = "0.5/5"
AGENTS = ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")


@dataclass
class Case:
    """The measurements of one case."""

    key: str
    title: str
    looks: list = field(default_factory=list)
    lags: list = field(default_factory=list)
    cpu: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    since: float = 0.0
    until: float = 0.0
    stalls: list = field(default_factory=list)

    @classmethod
    def pooled(cls, key, title, parts):
        """One case from windows measured apart: samples pooled, CPU averaged, memory of the last."""
        cpu = {name: sum(part.cpu.get(name, 0.0) for part in parts) / len(parts) for name in parts[0].cpu}
        return cls(key, title, looks=[look for part in parts for look in part.looks],
                   lags=[lag for part in parts for lag in part.lags], cpu=cpu, memory=parts[-1].memory,
                   since=parts[0].since, until=parts[-1].until,
                   stalls=[line for number, part in enumerate(parts, 1)
                           for line in [f"(window {number} of {len(parts)})"] + part.stalls])


def percentile(values, fraction):
    """Nearest-rank percentile (0 for no values)."""
    return nearest_rank(sorted(values), fraction)


def read_lags(path, since, until):
    """Lag samples (ms) the probe wrote for [since, until]."""
    lags = []
    try:
        with open(path) as handle:
            for line in handle:
                stamp, _, lag = line.partition(" ")
                if since <= float(stamp) <= until:
                    lags.append(float(lag))
    except (OSError, ValueError):
        pass
    return lags


class Bench:
    """Runs the cases and keeps their results."""

    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.cases = []

    def say(self, text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def measure(self, key, title, world, client, lag_file, share=1.0, keep=True):
        """CPU window without looks, then the look samples; the lag over both.

        Args:
            share (float): Part of the samples and of the CPU window to take
                (a case measured in several windows takes a part in each).
            keep (bool): Add the case to the table (False for one window of a
                case pooled later).
        """
        case = Case(key, title)
        pids = world.pids()
        since = time.time()
        window = CpuWindow({"server": [pids["server"]], "portal": [pids["portal"]],
                            "agents": world.agent_pids()}).start()
        time.sleep(self.args.cpu_seconds * share)
        case.cpu = window.stop()
        case.looks = client.round_trips(max(1, round(self.args.samples * share)), self.args.pause)
        until = time.time()
        time.sleep(1.5)  # the probe writes once a second
        case.lags = read_lags(lag_file, since, until)
        case.since, case.until = since, until
        if self.args.stalls:
            path = self.stall_file(lag_file)
            case.stalls = stalls.summary(stalls.read_reports(path), since, until)
            case.stalls.append(stalls.gc_summary(stalls.read_gc(path), since, until))
        case.memory = {"server": memory_mb(pids["server"]), "portal": memory_mb(pids["portal"]),
                       "agents": sum(memory_mb(pid) or 0 for pid in world.agent_pids())}
        if keep:
            self.cases.append(case)
        self.say(f"case {key}: look p50 {percentile(case.looks, .5):.1f} ms, p99 {percentile(case.looks, .99):.1f} ms,"
                 f" lag p99 {percentile(case.lags, .99):.1f} ms, server CPU {case.cpu['server']:.1f} %")
        return case

    def settle(self, world, seconds=30.0):
        """Wait until the Server has run `seconds` (startup's garbage collected, caches warm)."""
        uptime = uptime_of(world.pids()["server"]) or 0.0
        if uptime < seconds:
            time.sleep(seconds - uptime)

    def start_dummies(self, world, name, stack):
        """Start the dummyrunner (stopped when `stack` closes); return (how many logged in, the runner)."""
        dummies = DummyRunner(world.game_dir, self.args.players, world.env,
                              os.path.join(self.workdir, f"dummyrunner-{name}.log")).start()
        stack.callback(dummies.stop)
        count = dummies.wait_logged_in(self.args.login_timeout)
        self.say(f"{count}/{self.args.players} dummy players logged in")
        time.sleep(self.args.settle)
        return count, dummies

    def run_stock(self):
        """Case 1 (and stock idle)."""
        lag_file = os.path.join(self.workdir, "lag-stock.txt")
        with contextlib.ExitStack() as stack:
            world = StockWorld(self.probe_env(lag_file, "stock"))
            stack.callback(world.cleanup)
            self.say("starting stock Evennia ...")
            world.start()
            client = LookClient(world.telnet_port, world.username, world.password)
            stack.callback(client.close)
            self.settle(world)
            self.measure("1i", "stock Evennia, idle", world, client, lag_file)
            count, _ = self.start_dummies(world, "stock", stack)
            self.measure("1", f"stock Evennia, {count} players", world, client, lag_file)

    def run_timmy(self):
        """Cases 2 to 5 (and Timmy World idle) on one world."""
        lag_file = os.path.join(self.workdir, "lag-timmy.txt")
        with contextlib.ExitStack() as stack:
            world, client, hang, ollamas = self.start_timmy(stack, self.probe_env(lag_file, "timmy"))
            self.measure("2i", "Timmy World, idle", world, client, lag_file)
            idle_interval = self.heartbeat_interval(client)
            count, dummies = self.start_dummies(world, "timmy", stack)
            self.measure("2", f"Timmy World, {count} players", world, client, lag_file)

            self.agents_load(world, client, hang)
            self.alternate_models(world, client, ollamas, lag_file)

            answer = client.command(f"py from server.conf import reactorprobe; reactorprobe.start_blocker('{BLOCK}')")
            if "Error" in answer:
                raise RuntimeError(f"could not start the blocker: {answer!r}")
            time.sleep(1)
            self.measure("5", f"as 4 + reactor blocked {BLOCK.replace('/', ' s every ')} s (control)",
                         world, client, lag_file)
            self.back_to_idle(world, client, dummies, hang, idle_interval)
            self.measure("2j", "Timmy World, idle again (after case 5)", world, client, lag_file)

    @staticmethod
    def agents_load(world, client, hang):
        """What case 3 adds to the players, but the agents' start: the probes hang, a beat every 5 s, agents on."""
        hang.hang = True
        answer = client.command("@heartbeat/interval 5")
        if "5" not in answer:
            raise RuntimeError(f"@heartbeat/interval 5 was not accepted: {answer!r}")
        world.env["TIMMY_AGENTS"] = "1"

    def alternate_models(self, world, client, ollamas, lag_file):
        """Cases 3 and 4 in alternating windows (3a, 4a, 3b, 4b, ...), each case pooling its own.

        The machine's speed drifts over the minutes a case takes, by as much
        as the difference the "case 4 within 10 % of case 3" target looks
        for; alternating puts both cases in the same minutes. At each switch
        the agents stop, the fake Ollama is replaced on the same port by one
        with the other delay, and the agents start again (nothing carried
        over from the other model, e.g. an open circuit breaker).
        `--windows` sets how many windows each case gets (4 by default).
        """
        titles = {2: ("3", "+ 5 agents (Ollama 2 s), heartbeat 5 s, 2 hanging probes"),
                  20: ("4", "as 3, Ollama answering in 20 s")}
        windows = {2: [], 20: []}
        share = 1.0 / self.args.windows
        for index, delay in enumerate((2, 20) * self.args.windows):
            if index:
                world.timmy("agents", "stop")
                ollamas[-1].stop()
                ollamas.append(FakeOllamaProcess(ollamas[0].port, delay).start())
            self.start_agents(world, client, warmup=max(self.args.warmup, delay + 2))
            key, title = titles[delay]
            label = f"{key}{chr(ord('a') + len(windows[delay]))}"
            windows[delay].append(self.measure(label, title, world, client, lag_file, share=share, keep=False))
        for delay, (key, title) in titles.items():
            self.cases.append(Case.pooled(key, title, windows[delay]))

    def start_timmy(self, stack, env):
        """Timmy World on a fake Ollama and a switchable HTTP service, the operator logged in, the Server settled.

        Args:
            stack (ExitStack): Everything started is stopped when it closes.
            env (dict): Environment for the world; --world-env wins over it and over the defaults here.

        Returns:
            tuple: (world, operator's LookClient, SwitchableHTTP, [FakeOllamaProcess answering in 2 s]);
                the list so a case can put another fake on the same port.
        """
        hang = SwitchableHTTP().start()
        stack.callback(hang.stop)
        ollamas = [FakeOllamaProcess(free_port(), 2).start()]
        stack.callback(lambda: [fake.stop() for fake in ollamas])
        env = dict(env, OLLAMA_HOST=ollamas[0].url, TIMMY_OPEN_REGISTRATION="1", TIMMY_AGENTS="0",
                   TIMMY_AGENT_IDLE_TICK=str(self.args.agent_idle_tick), TIMMY_AGENT_MIN_INTERVAL="1")
        env.update(self.args.world_env)
        world = timmy_world(env, hang.url, HANG_TIMEOUT)
        stack.callback(world.cleanup)
        self.say("starting Timmy World ...")
        world.start()
        client = LookClient(world.telnet_port, world.username, world.password)
        stack.callback(client.close)
        self.settle(world)
        return world, client, hang, ollamas

    def back_to_idle(self, world, client, dummies, hang, interval):
        """Undo cases 2-5: no blocker, agents or players, the probes answering, the first interval."""
        answer = client.command("py from server.conf import reactorprobe; print(reactorprobe.stop_blockers())")
        if not re.search(r"^\s*1\s*$", answer, re.M):
            raise RuntimeError(f"could not stop the blocker: {answer!r}")
        world.timmy("agents", "stop")
        dummies.stop()
        hang.hang = False
        answer = client.command(f"@heartbeat/interval {interval}")
        if str(interval) not in answer:
            raise RuntimeError(f"@heartbeat/interval {interval} was not accepted: {answer!r}")
        time.sleep(self.args.settle)

    @staticmethod
    def heartbeat_interval(client):
        """The heartbeat's interval in seconds, asked of the live world."""
        answer = client.command("py from world.heartbeat.service import heartbeat_script;"
                                " print(heartbeat_script().interval)")
        found = re.search(r"^\s*(\d+)\s*$", answer, re.M)
        if found is None:
            raise RuntimeError(f"could not read the heartbeat interval: {answer!r}")
        return int(found.group(1))

    def start_agents(self, world, client, warmup=None):
        """Start the agent supervisor, wait until the five are online, then `warmup` seconds."""
        world.timmy("agents", "start")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            online = client.command("who", quiet=0.3)
            if all(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])(?! World)", online) for name in AGENTS):
                break
            time.sleep(1)
        else:
            self.say("not every agent came online in 90 s; measuring anyway")
        time.sleep(self.args.warmup if warmup is None else warmup)

    def probe_env(self, lag_file, name):
        """The Server's probe variables (and the stall reporter with --stalls)."""
        env = {"TIMMY_LAG_PROBE_FILE": lag_file}
        if self.args.stalls:
            env.update(TIMMY_STALL_FILE=self.stall_file(lag_file), TIMMY_STALL_MS=str(self.args.stall_ms))
        return env

    @staticmethod
    def stall_file(lag_file):
        return lag_file.replace("lag-", "stalls-")


def row(case):
    looks, lags = case.looks, case.lags
    mem = case.memory
    return (f"{case.key:>3} {case.title[:58]:<58} {percentile(looks, .5):7.1f} {percentile(looks, .95):7.1f}"
            f" {percentile(looks, .99):7.1f} {max(looks or [0]):7.1f} {percentile(lags, .99):7.1f}"
            f" {max(lags or [0]):7.1f} {case.cpu.get('server', 0):6.1f} {case.cpu.get('portal', 0):6.1f}"
            f" {case.cpu.get('agents', 0):6.1f} {case.cpu.get('machine', 0):6.0f} {mem.get('server') or 0:6.0f}"
            f" {mem.get('portal') or 0:6.0f} {mem.get('agents') or 0:6.0f}")


def report(cases, args):
    """Print the table, the ratios to case 1 and the targets."""
    by = {case.key: case for case in cases}
    print()
    print(f"look over telnet: {args.samples} samples per case, {args.pause * 1000:.0f} ms apart;"
          f" N = {args.players} dummyrunner players; CPU in % of one core over {args.cpu_seconds:.0f} s"
          f" without looks (allCPU: the whole machine, dummyrunner and anything else included);"
          f" memory = RSS in MiB")
    print(f"{'':>3} {'case':<58} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'lag99':>7} {'lagmax':>7}"
          f" {'srvCPU':>6} {'prtCPU':>6} {'agtCPU':>6} {'allCPU':>6} {'srvMB':>6} {'prtMB':>6} {'agtMB':>6}")
    for case in cases:
        print(row(case))
    base = by.get("1")
    if base and base.looks:
        print("\nratios to case 1 (look p50 / p99 / max, server CPU):")
        for case in cases:
            if case.key in ("1", "1i") or not case.looks:
                continue
            ratios = [percentile(case.looks, f) / max(1e-6, percentile(base.looks, f)) for f in (.5, .99)]
            ratios.append(max(case.looks) / max(1e-6, max(base.looks)))
            cpu = case.cpu.get("server", 0) / max(1e-6, base.cpu.get("server", 0))
            print(f"  case {case.key:<2}  {ratios[0]:5.2f}  {ratios[1]:5.2f}  {ratios[2]:5.2f}   {cpu:5.2f}")
    print("\ntargets:")
    for text, ok in targets(by):
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    if {"2", "2i"} <= by.keys():
        print(f"  (no target) case 2, the players alone: p99 {percentile(by['2'].looks, .99):.1f} ms,"
              f" {sureness(by['2'].looks, timmy_idle_looks(by), 'x')} Timmy idle")
    if args.stalls:
        print(f"\nwhat held the Server's reactor {args.stall_ms:.0f} ms or more"
              " (stack samples, innermost game code first):")
        for case in cases:
            print(f"  case {case.key}:")
            for line in case.stalls or ["(nothing)"]:
                print(f"    {line}")


def timmy_idle_looks(by):
    """Timmy World's idle looks, both windows (before and after the loaded cases) pooled."""
    return by["2i"].looks + (by["2j"].looks if "2j" in by else [])


def save_looks(cases, workdir):
    """Every case's look times (ms, one per line, in the order taken) as looks-<case>.txt."""
    for case in cases:
        with open(os.path.join(workdir, f"looks-{case.key}.txt"), "w") as handle:
            handle.writelines(f"{look:.3f}\n" for look in case.looks)


def targets(by):
    """(description with figures, met?) for each target the issue sets."""
    p99 = lambda key: percentile(by[key].looks, .99)  # noqa: E731
    lag99 = lambda key: percentile(by[key].lags, .99)  # noqa: E731
    out = []
    if {"1", "3"} <= by.keys():
        out.append((f"case 3 p99 {p99('3'):.1f} ms <= 0.2 x case 1 p99 ({0.2 * p99('1'):.1f} ms)",
                    p99("3") <= 0.2 * p99("1")))
    if {"2i", "3"} <= by.keys():
        idle_looks = timmy_idle_looks(by)
        idle = percentile(idle_looks, .99)
        windows = (f"both idle windows: before {p99('2i'):.1f}, after {p99('2j'):.1f}" if "2j" in by
                   else "the idle window")
        out.append((f"case 3 p99 {p99('3'):.1f} ms <= 1.2 x Timmy idle p99 ({1.2 * idle:.1f} ms; idle p99"
                    f" {idle:.1f} ms over {windows}); {sureness(by['3'].looks, idle_looks, 'x')}",
                    p99("3") <= 1.2 * idle))
    if {"3", "4"} <= by.keys():
        out.append((f"case 4 p99 {p99('4'):.1f} ms within 10 % of case 3 ({p99('3'):.1f} ms);"
                    f" {sureness(by['4'].looks, by['3'].looks, '%')}",
                    abs(p99("4") - p99("3")) <= 0.1 * p99("3")))
    for key in ("2", "3", "4"):
        if key in by:
            worst = max(by[key].lags or [0])
            out.append((f"case {key} reactor lag p99 {lag99(key):.1f} ms <= 5, max {worst:.1f} ms <= 50",
                        lag99(key) <= 5 and worst <= 50))
    clean = [lag99(key) for key in ("2", "3", "4") if key in by]
    if "5" in by and clean:
        out.append((f"case 5 lag p99 {lag99('5'):.1f} ms >= 10 x the worst of cases 2-4 ({10 * max(clean):.1f} ms)",
                    lag99("5") >= 10 * max(clean)))
    if {"2", "3"} <= by.keys():
        added = by["3"].cpu["agents"] + max(0.0, (by["3"].cpu["server"] + by["3"].cpu["portal"])
                                            - (by["2"].cpu["server"] + by["2"].cpu["portal"]))
        out.append((f"five agents add {added:.1f} % of a core in case 3 (their processes {by['3'].cpu['agents']:.1f}"
                    f" % + Server/Portal over case 2) <= 5 %", added <= 5))
    return out


RESAMPLED_BLOCK = 500  # looks drawn together (about 11 s of them): the machine's slow stretches stay whole


def sureness(looks, against, unit):
    """The p99 ratio of `looks` to `against` with its 90 % block-bootstrap interval, as text.

    Args:
        unit (str): "x" for a ratio (1.05 x), "%" for a difference (+5 %).
    """
    ratio = percentile(looks, .99) / max(1e-9, percentile(against, .99))
    low, high = ratio_interval(looks, against, block=RESAMPLED_BLOCK) or (ratio, ratio)
    if unit == "%":
        return (f"{100 * (ratio - 1):+.0f} %, 90 % interval by resampling"
                f" {100 * (low - 1):+.0f} to {100 * (high - 1):+.0f} %")
    return f"{ratio:.2f} x, 90 % interval by resampling {low:.2f}-{high:.2f} x"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run (about 5 minutes)")
    parser.add_argument("--players", type=int, default=100, help="dummyrunner players (N)")
    parser.add_argument("--samples", type=int, help="look samples per case (default 5000, quick 200)")
    parser.add_argument("--windows", type=int, default=4,
                        help="alternating windows for each of cases 3 and 4 (default 4; up to 26)")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between two looks")
    parser.add_argument("--cpu-seconds", type=float, help="CPU window per case (default 30, quick 5)")
    parser.add_argument("--warmup", type=float, help="seconds for the agents to get going (default 30, quick 10)")
    parser.add_argument("--settle", type=float, help="seconds after the players logged in (default 20, quick 5)")
    parser.add_argument("--login-timeout", type=float, default=240.0, help="seconds to wait for the players")
    parser.add_argument("--agent-idle-tick", type=float, default=5.0, help="TIMMY_AGENT_IDLE_TICK for the agents")
    parser.add_argument("--only", choices=("stock", "timmy"), help="run one world's cases only")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, lag and look samples)")
    parser.add_argument("--stalls", action="store_true",
                        help="sample the Server's stack when its reactor is late, name the culprits (implies --keep)")
    parser.add_argument("--stall-ms", type=float, default=15.0, help="lateness that counts as a stall (--stalls)")
    parser.add_argument("--world-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for Timmy World (repeatable), e.g. TIMMY_AMP_ANSWERS=1"
                             " for Evennia's stock AMP link or TIMMY_NODELAY=0 for Nagle's algorithm back on")
    args = parser.parse_args(argv)
    if any("=" not in pair or not pair.split("=", 1)[0] for pair in args.world_env):
        parser.error("--world-env takes NAME=VALUE")
    args.world_env = dict(pair.split("=", 1) for pair in args.world_env)
    if not 1 <= args.windows <= 26:
        parser.error("--windows takes 1 to 26")
    if args.samples is not None and args.samples < 1:
        parser.error("--samples takes a positive count")
    args.keep = args.keep or args.stalls
    quick = args.quick
    args.samples = args.samples or (200 if quick else 5000)
    args.cpu_seconds = args.cpu_seconds if args.cpu_seconds is not None else (5.0 if quick else 30.0)
    args.warmup = args.warmup if args.warmup is not None else (10.0 if quick else 30.0)
    args.settle = args.settle if args.settle is not None else (5.0 if quick else 20.0)
    return args


def main(argv=None):
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="timmy-latency-")
    bench = Bench(args, workdir)
    started = time.monotonic()
    try:
        if args.only != "timmy":
            bench.run_stock()
        if args.only != "stock":
            bench.run_timmy()
    except KeyboardInterrupt:
        bench.say("interrupted; reporting what was measured")
    finally:
        report(bench.cases, args)
        print(f"\ntotal time {time.monotonic() - started:.0f} s; machine: {os.cpu_count()} cores,"
              f" {os.uname().sysname} {os.uname().release}")
        if args.keep:
            save_looks(bench.cases, workdir)
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
