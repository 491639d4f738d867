#!/usr/bin/env python3
"""
Fire drill: the seed's five failure scenarios rehearsed for real.

It starts the whole world from a temporary copy of this game on free ports:
the server, the five agents (their supervisor and processes), a fake Ollama
and a fake Gitea as real processes on loopback, with self-healing on and the
recovery playbooks' restart commands pointing at a script that really brings
a stopped fake back. Then, one after the other, each from a green world:

    agent   kill an agent's process (Timmy, SIGKILL)
    ollama  stop Ollama
    gitea   stop Gitea while an incident is climbing (a P0 reaches level 3 in the outage)
    orphan  cut Allegro-Primus off from his parent and from Ollama
    infra   destroy the database, rebuild from the latest verified backup (the README's CLI steps)

For each it measures, from the instant of the fault:

- time to detect: until the first incident about it opened (the incident's
  own record);
- time to recover: until the world is green again, as an operator sees it in
  `/api/status` (every service up, no incident open, every agent online and
  thinking with its model, the outbox empty, plus the scenario's own proof:
  the restarted process, the issue filed once); by the world's own means
  (self-healing, the supervisor, the agents), except `infra`, whose recovery
  is the operator's documented steps;
- what escalated to which level (the incidents' timelines) and which
  recovery ran;
- what was lost: accounts, incidents and their events, the outbox, the
  heartbeat history and the agents' memory, read from the database (read
  only) before the fault and after green; it must be nothing.

It prints a table, the details, the machine and the command line.

    .venv/bin/python bench/drill.py [--only agent,ollama] [--json] [--keep]
"""

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field

GAME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, GAME_DIR)

from bench.support import drillaudit  # noqa: E402
from bench.support.drillscenarios import SCENARIOS, common_problems  # noqa: E402
from bench.support.drillworld import AGENTS, AUTO_RECOVER, DrillOptions, DrillWorld  # noqa: E402

ORDER = ("agent", "ollama", "gitea", "orphan", "infra")


@dataclass
class Outcome:
    """What one scenario showed."""

    name: str
    title: str
    fault_at: float = None
    detected_at: float = None
    green_at: float = None
    max_level: int = None
    lost: list = field(default_factory=list)
    checked: str = ""
    details: list = field(default_factory=list)
    error: str = ""

    @property
    def detect_seconds(self):
        return None if self.detected_at is None else self.detected_at - self.fault_at

    @property
    def recover_seconds(self):
        return None if self.green_at is None else self.green_at - self.fault_at

    @property
    def passed(self):
        """Recovered, and nothing lost."""
        return not self.error and self.green_at is not None and not self.lost


class Drill:
    """Runs scenarios one after the other on one DrillWorld.

    Args:
        world (DrillWorld): A started world.
        args (argparse.Namespace): timeout, baseline_timeout, partition.
        say (callable): Progress output.
    """

    def __init__(self, world, args, say):
        self.world, self.args, self.say = world, args, say

    def wait_green(self, timeout, scenario=None, fault_at=None):
        """Poll /api/status until green; return (instant or None, last problems).

        Also keeps `self.only_incidents_at`: the first instant at which open
        incidents were all that kept the world from green.
        """
        deadline = time.monotonic() + timeout
        problems = ["not looked yet"]
        self.only_incidents_at = None
        while time.monotonic() < deadline:
            status = self.world.status()
            problems = common_problems(status, AGENTS, getattr(scenario, "allowed_incidents", ()),
                                       getattr(scenario, "excused_agents", ()))
            if status is None:
                problems = [f"/api/status does not answer ({self.world.last_error})"]
            elif scenario is not None:
                problems += scenario.healed(self.world, status, fault_at)
            if not problems:
                return time.time(), []
            if self.only_incidents_at is None and all(line.startswith("incident #") for line in problems):
                self.only_incidents_at = time.time()
            time.sleep(0.25)
        return None, problems

    def run(self, name):
        """Rehearse scenario `name` from a green world; return its Outcome."""
        scenario = SCENARIOS[name](self.args)
        outcome = Outcome(name, scenario.title)
        ready, problems = self.wait_green(self.args.baseline_timeout)
        if ready is None:
            outcome.error = "the world was not green before the fault: " + "; ".join(problems[:4])
            return outcome
        self.say(f"{name}: {scenario.title}")
        reference = self.rehearse(scenario, outcome)
        self.audit(outcome, scenario, reference)
        if outcome.fault_at and outcome.green_at is None:
            outcome.details += self.resolve_leftovers(outcome.fault_at)
        self.say(f"{name}: detect {seconds(outcome.detect_seconds)}, recover {seconds(outcome.recover_seconds)},"
                 f" lost {', '.join(outcome.lost) or 'nothing'}" + (f"; {outcome.error}" if outcome.error else ""))
        return outcome

    def rehearse(self, scenario, outcome):
        """Prepare, inject the fault, wait for green, tidy up; return the reference snapshot."""
        reference = None
        try:
            scenario.prepare(self.world)
            reference = scenario.reference or drillaudit.snapshot(self.world.database)
            outcome.fault_at = scenario.inject(self.world)
            scenario.during(self.world, outcome.fault_at)
            outcome.green_at, problems = self.wait_green(self.args.timeout, scenario, outcome.fault_at)
            if outcome.green_at is None:
                outcome.error = f"not green {self.args.timeout:.0f} s after the fault: " + "; ".join(problems[:6])
                if self.only_incidents_at:
                    outcome.error += f" (all else was back at {self.only_incidents_at - outcome.fault_at:+.1f} s)"
        except Exception as err:  # the drill reports a failed scenario and goes on
            outcome.error = f"{type(err).__name__}: {err}"
            self.say(traceback.format_exc())
        finally:
            with contextlib.suppress(Exception):
                scenario.finish(self.world)
        return reference

    def resolve_leftovers(self, fault_at):
        """Resolve, as the operator, incidents the scenario left open, so the next one starts green."""
        lines = []
        status = self.world.status() or {}
        for row in status.get("incidents") or []:
            if (row.get("opened_at") or 0) >= fault_at:
                with contextlib.suppress(Exception):
                    self.world.operator(f"@resolve {row['id']} = drill: left open by the scenario", r"\n")
                    lines.append(f"the drill's operator resolved incident #{row['id']}, left open")
        return lines

    def audit(self, outcome, scenario, reference):
        """Fill in detection, levels, the story and the loss check from the record."""
        if outcome.fault_at is None:
            return
        time.sleep(1.0)  # the last writes of the recovery settle
        try:
            after = drillaudit.snapshot(self.world.database)
        except Exception as err:
            outcome.lost = [f"the database could not be read after the scenario: {err}"]
            return
        if reference is not None:
            outcome.lost = drillaudit.lost(reference, after)
            outcome.checked = reference.describe()
        incidents = drillaudit.incidents_since(self.world.database, outcome.fault_at)
        detections = [row["opened_at"] for row in incidents if row["opened_at"] >= outcome.fault_at
                      and (not scenario.services or row["service"] in scenario.services)]
        outcome.detected_at = min(detections) if detections else None
        outcome.max_level = max((row["level"] for row in incidents), default=None)
        if outcome.detected_at is None and scenario.detect_note:
            outcome.details.append(f"detection: {scenario.detect_note}")
        outcome.details += [incident_line(row, outcome.fault_at) for row in incidents]
        outcome.details += [run_line(row, outcome.fault_at)
                            for row in drillaudit.recovery_runs_since(self.world.database, outcome.fault_at)]
        with contextlib.suppress(Exception):
            outcome.details += scenario.notes(self.world, outcome.fault_at)


def seconds(value):
    return "-" if value is None else f"{value:.1f} s"


def incident_line(row, fault_at):
    """One incident and its timeline, times relative to the fault."""
    events = ", ".join(f"{event['kind']}{' by ' + event['actor'] if event['actor'] else ''}"
                       f" {event['at'] - fault_at:+.1f}" for event in row["events"])
    return (f"incident #{row['id']} {row['severity']} {row['service'] or row['source']}: level {row['level']},"
            f" owner {row['owner'] or '-'}, {row['state']}; {events}")


def run_line(row, fault_at):
    """One recovery run, times relative to the fault."""
    ended = f"{row['finished_at'] - fault_at:+.1f}" if row["finished_at"] else "..."
    target = f" {row['target']}" if row["target"] else ""
    return (f"recovery #{row['id']} {row['scenario']}{target} ({row['trigger']},"
            f" {row['started_by']}): {row['state']} {row['started_at'] - fault_at:+.1f}..{ended} s")


# ------------------------------------------------------------------ report


def machine():
    """The machine the drill ran on."""
    model = "?"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu_model": model, "load": os.getloadavg(),
            "system": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def command_line():
    program = os.path.relpath(sys.executable, GAME_DIR) if sys.executable.startswith(GAME_DIR) else sys.executable
    return shlex.join([program] + sys.argv)


def table(outcomes):
    """The scenarios as a Markdown table."""
    lines = ["| scenario | detect | recover | max level | lost |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        lost = "; ".join(outcome.lost) if outcome.lost else ("nothing" if outcome.fault_at else "-")
        recover = seconds(outcome.recover_seconds) if outcome.green_at else "NOT RECOVERED"
        level = "-" if outcome.max_level is None else str(outcome.max_level)
        lines.append(f"| {outcome.name} | {seconds(outcome.detect_seconds)} | {recover} | {level} | {lost} |")
    return lines


def report(outcomes, info, options, say=print):
    say("")
    for line in table(outcomes):
        say(line)
    say("")
    for outcome in outcomes:
        say(f"{outcome.name}: {outcome.title}")
        if outcome.error:
            say(f"  FAILED: {outcome.error}")
        if outcome.checked:
            say(f"  checked before and after: {outcome.checked}")
        for line in outcome.details:
            say(f"  {line}")
    for line in info.get("startup") or []:
        say(f"at startup: {line}")
    say("")
    say(f"drill settings: {options.describe()}")
    say(f"machine: {info['cpus']} x {info['cpu_model']}, {info['system']}, Python {info['python']};"
        f" load {' '.join(f'{value:.2f}' for value in info['load_before'])} before,"
        f" {' '.join(f'{value:.2f}' for value in info['load'])} after; whole run {info['seconds']:.0f} s")
    say(f"command: {info['command']}")


def run_drill(names, args, say=print):
    """Start a drill world, run the scenarios `names`, stop it; return (outcomes, machine info).

    Args:
        names (list): Scenario names, in order.
        args (argparse.Namespace): As parse_args() makes (tests pass their own).
        say (callable): Progress output.
    """
    options = drill_options(args)
    started, load_before = time.monotonic(), os.getloadavg()
    outcomes, startup = [], []
    workdir = tempfile.mkdtemp(prefix="timmy-drill-")
    world = DrillWorld(options, workdir, say)
    try:
        say(f"starting the world (agents, fake Ollama, fake Gitea) in {workdir} ...")
        world.start()
        say(f"world up in {time.monotonic() - started:.0f} s at {world.game_dir}; first backup (@backup) ...")
        startup = first_backup(world) + supervisor_check(world, wait="agents" in world.options.auto_recover)
        drill = Drill(world, args, say)
        for name in names:
            outcomes.append(drill.run(name))
    finally:
        strays = world.cleanup(keep=args.keep)
        if strays:
            say(f"processes left after the drill: {strays}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    info = dict(machine(), load_before=load_before, seconds=time.monotonic() - started, command=command_line(),
                startup=startup, strays=strays)
    return outcomes, info


def first_backup(world):
    """The world's first backup, made in game (as Bezalel or the daily Script would); problems as lines."""
    answer = world.operator("@backup", r"Backup \S+ done[^\n]*\n|(?i:failed|refused)[^\n]*\n", timeout=120)
    return [] if "verified" in answer else [f"the first backup did not verify: {answer.strip()[-200:]}"]


def supervisor_check(world, wait):
    """A line if more than one agent supervisor runs (a start race); `wait` a little for one first."""
    if wait:
        time.sleep(5)
    pids = world.supervisors()
    return [f"{len(pids)} agent supervisors run from the copy (pids {pids}); there should be one"] \
        if len(pids) > 1 else []


def drill_options(args):
    return DrillOptions(heartbeat_interval=args.heartbeat_interval, p0_escalate_after=args.p0_escalate_after,
                        auto_recover=tuple(name.strip() for name in args.auto_recover.split(",") if name.strip()))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(ORDER),
                        help=f"comma-separated scenarios, in order (default: all: {','.join(ORDER)})")
    parser.add_argument("--json", action="store_true", help="print the results as JSON after the table")
    parser.add_argument("--keep", action="store_true", help="keep the world's copy (logs, database)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a scenario may take to recover")
    parser.add_argument("--baseline-timeout", type=float, default=240.0,
                        help="seconds to wait for a green world before each fault")
    parser.add_argument("--heartbeat-interval", type=int, default=2, help="TIMMY_HEARTBEAT_INTERVAL")
    parser.add_argument("--p0-escalate-after", type=int, default=10, help="seconds before a P0 climbs (gitea)")
    parser.add_argument("--auto-recover", default=",".join(AUTO_RECOVER),
                        help="checks with self-healing on (adding `agents` shows a start race, see the README)")
    parser.add_argument("--partition", type=float, default=15.0,
                        help="seconds Allegro-Primus stays cut off from his parent (orphan)")
    args = parser.parse_args(argv)
    args.names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in args.names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; scenarios: {', '.join(ORDER)}")
    return args


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    outcomes, info = run_drill(args.names, args, say)
    report(outcomes, info, drill_options(args), print)
    if args.json:
        print(json.dumps({"outcomes": [dict(asdict(o), detect_seconds=o.detect_seconds,
                                            recover_seconds=o.recover_seconds) for o in outcomes],
                          "machine": info, "settings": asdict(drill_options(args))}, indent=2, default=str))
    return 0 if outcomes and all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
