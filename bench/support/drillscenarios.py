"""
The five scenarios of the seed's emergency procedures, as faults a drill
injects into a running world (bench/support/drillworld.py):

    agent   kill an agent's process (Timmy, SIGKILL)
    ollama  stop Ollama (its process killed)
    gitea   stop Gitea while an incident is climbing (it reaches level 3 during the outage)
    orphan  cut Allegro-Primus off from his parent (Allegro's process killed and not
            restarted for a while) and from Ollama (stopped)
    infra   destroy the database and rebuild from the latest verified backup with the
            README's CLI steps (backup, stop, delete, list, restore, run)

Each scenario has hooks the runner (bench/drill.py) calls in order:
`prepare` (before the snapshot the loss check compares with), `inject`
(the fault; returns its instant), `during` (what happens while the fault
lasts), `healed` (what still keeps the world from being green, beyond the
common checks), `finish` (tidy up after green or a timeout) and `notes`
(what the report says about it). Nothing here repairs anything: recovery
is the world's own (self-healing, the supervisor, the agents), except in
`infra`, whose recovery is by definition the operator's documented steps.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

from . import drillaudit
from .drillworld import AGENTS

GREEN_MODES = ("llm", "hybrid", "planner")
GREEN_STATES = ("up", "degraded")
DRILL_MARK = "drill"


# ------------------------------------------------------------ green checks


def agent_row(status, name):
    """The agent's row in an /api/status answer (an empty dict if absent)."""
    return next((row for row in (status or {}).get("agents") or [] if row.get("name") == name), {})


def service_row(status, name):
    """The service's row in an /api/status answer (an empty dict if absent)."""
    return next((row for row in (status or {}).get("services") or [] if row.get("name") == name), {})


def common_problems(status, agents, allowed_incidents=(), excused_agents=()):
    """Why the world is not green, as short lines (empty: green).

    Green: the API answers, the heartbeat beats, every service is up (or
    degraded), no incident is open, every agent is online and thinking with
    its model or planner (not in autonomy, not paused), the outbox is empty.
    """
    if status is None:
        return ["/api/status does not answer"]
    problems = []
    if (status.get("heartbeat") or {}).get("stale"):
        problems.append("the heartbeat is stale")
    problems += [f"{row['name']} is {row['state']}" for row in status.get("services") or []
                 if row.get("state") not in GREEN_STATES]
    problems += [f"incident #{row['id']} is open ({row.get('summary', '')[:60]})"
                 for row in status.get("incidents") or [] if row.get("id") not in allowed_incidents]
    for name in agents:
        if name in excused_agents:
            continue
        row = agent_row(status, name)
        if not row.get("online"):
            problems.append(f"{name} is offline")
        elif row.get("mode") not in GREEN_MODES:
            problems.append(f"{name} is in {row.get('mode')} mode")
    pending = (status.get("escalation") or {}).get("pending") or 0
    if pending:
        problems.append(f"{pending} Gitea notification(s) waiting in the outbox")
    return problems


def fresh_since(row, key, since):
    """True if the row's `key` (a unix time) is later than `since`."""
    value = row.get(key)
    return isinstance(value, (int, float)) and value > since


def service_back(world, status, fake, old_pid):
    """Problems until `fake` runs as a new process and the heartbeat saw it up since."""
    pid = fake.pid
    if pid == old_pid or not fake.running():
        return [f"{fake.kind} has not been restarted"]
    restarted_at = os.path.getmtime(fake.pidfile)
    row = service_row(status, fake.kind)
    if row.get("state") != "up" or not fresh_since(row, "checked_at", restarted_at):
        return [f"the heartbeat has not seen {fake.kind} up since its restart"]
    return []


def stopped(fake):
    """Kill a running fake; return the instant (RuntimeError if it was not running)."""
    fault_at = fake.stop()
    if fault_at is None:
        raise RuntimeError(f"{fake.kind} was not running, so it could not be stopped")
    return fault_at


def agent_back(world, status, name, old_pid, since):
    """Problems until agent `name` runs as a new process that has reported since `since`."""
    pid = world.agent_pid(name)
    if not pid or pid == old_pid or not world.alive(pid):
        return [f"{name}'s process has not been restarted"]
    if not fresh_since(agent_row(status, name), "last_seen", since):
        return [f"{name} has not reported since"]
    return []


# ---------------------------------------------------------------- scenarios


class Scenario:
    """A fault and what counts as recovered from it (see the module docstring)."""

    name = ""
    title = ""
    services = ()  # incidents about these count as detection (empty: any)
    detect_note = ""  # said when nothing opened an incident

    def __init__(self, options):
        self.options = options
        self.allowed_incidents = ()
        self.excused_agents = ()
        self.reference = None  # what the loss check compares with (None: the live world before the fault)

    def prepare(self, world):
        """Set the stage (before the reference snapshot)."""

    def inject(self, world):
        """Cause the fault; return its instant (unix time)."""
        raise NotImplementedError

    def during(self, world, fault_at):
        """Whatever happens while the fault lasts (returns when the runner should look for green)."""

    def healed(self, world, status, fault_at):
        """Scenario-specific reasons the world is not green yet (empty: none)."""
        return []

    def finish(self, world):
        """Tidy up (after green, or after the runner gave up)."""

    def notes(self, world, fault_at):
        """Lines for the report."""
        return []


class AgentKill(Scenario):
    """Timmy's process dies (SIGKILL); the supervisor should start him again."""

    name = "agent"
    title = "kill an agent's process (Timmy, SIGKILL)"
    services = ("agents",)
    detect_note = "no incident: the supervisor restarted it before any check noticed"
    victim = "Timmy"

    def inject(self, world):
        self.old_pid = world.agent_pid(self.victim)
        if not world.alive(self.old_pid):
            raise RuntimeError(f"{self.victim} has no live process to kill")
        fault_at = time.time()
        os.kill(self.old_pid, signal.SIGKILL)
        return fault_at

    def healed(self, world, status, fault_at):
        return agent_back(world, status, self.victim, self.old_pid, fault_at)

    def notes(self, world, fault_at):
        return [f"{self.victim}: pid {self.old_pid} killed, now pid {world.agent_pid(self.victim)}"]


class OllamaStop(Scenario):
    """Ollama's process dies; self-healing should restart it through RECOVERY_COMMANDS."""

    name = "ollama"
    title = "stop Ollama (its process killed)"
    services = ("ollama",)

    def inject(self, world):
        self.old_pid = world.ollama.pid
        return stopped(world.ollama)

    def healed(self, world, status, fault_at):
        return service_back(world, status, world.ollama, self.old_pid)


class GiteaClimb(Scenario):
    """Gitea goes down a second before a P0 incident climbs to level 3.

    The peer (Ezra) is paused first: awake, he acknowledges a P0 within
    seconds and it never climbs (the agents doing their job). The incident
    is resolved by the operator at the end, so its Gitea issue is closed.
    """

    name = "gitea"
    title = "stop Gitea while an incident is climbing (P0, peer away)"
    services = ("gitea",)
    peer = "Ezra"
    lead = 1.0  # seconds between the fault and the incident's climb to level 3

    def prepare(self, world):
        world.operator(f"@agents/pause {self.peer}", r"\n")
        world_wait(world, lambda status: agent_row(status, self.peer).get("mode") == "paused", 30)
        text = world.operator(f"@escalate P0 {DRILL_MARK}: a climbing incident while the forge goes dark",
                              r"#(\d+)[^\n]*\n")
        self.incident_id = int(re.search(r"#(\d+)", text).group(1))
        self.allowed_incidents = (self.incident_id,)
        self.excused_agents = (self.peer,)
        row = drillaudit.incident(world.database, self.incident_id)
        self.climb_at = row["next_escalation_at"]
        time.sleep(max(0.0, self.climb_at - self.lead - time.time()))

    def inject(self, world):
        self.old_pid = world.gitea.pid
        return stopped(world.gitea)

    def healed(self, world, status, fault_at):
        problems = service_back(world, status, world.gitea, self.old_pid)
        filed = self.issues_filed(world)
        if len(filed) != 1:
            problems.append(f"the level-3 issue is filed {len(filed)} times")
        return problems

    def issues_filed(self, world):
        marker = f"<!-- timmy-incident-{self.incident_id} -->"
        return [issue for issue in world.gitea.issues() if marker in issue.get("body", "")]

    def finish(self, world):
        world.operator(f"@resolve {self.incident_id} = {DRILL_MARK} over", r"\n")
        world.operator(f"@agents/resume {self.peer}", r"\n")
        world_wait(world, lambda status: ((status or {}).get("escalation") or {}).get("pending") == 0
                   and all(issue["state"] == "closed" for issue in self.issues_filed(world)), 60)

    def notes(self, world, fault_at):
        lines = [f"{self.peer} paused; P0 #{self.incident_id} due to climb to level 3 at"
                 f" {self.climb_at - fault_at:+.1f} s"]
        for row in drillaudit.outbox_since(world.database, fault_at - 60):
            if row["incident_id"] != self.incident_id:
                continue
            sent = f"sent {row['sent_at'] - fault_at:+.1f} s" if row["sent_at"] else row["state"]
            error = f", last error: {row['last_error'][:60]}" if row["last_error"] else ""
            lines.append(f"outbox #{row['id']} {row['kind']}: queued {row['created_at'] - fault_at:+.1f} s,"
                         f" {row['attempts']} attempt(s), {sent}{error}")
        filed = self.issues_filed(world)
        lines.append(f"Gitea issue(s) for #{self.incident_id}: "
                     + (", ".join(f"#{issue['number']} ({issue['state']})" for issue in filed) or "none"))
        return lines


class Orphan(Scenario):
    """Allegro-Primus loses his parent and Ollama at once.

    The parent's host is cut off: the supervisor is frozen (SIGSTOP) so it
    cannot restart Allegro, whose process is killed; Ollama is stopped.
    After `options.partition` seconds (and once the child is in autonomy
    mode) the supervisor is thawed, as when the link comes back.
    """

    name = "orphan"
    title = "cut Allegro-Primus off from his parent and from Ollama"
    services = ("ollama", "agents")
    child, parent = "Allegro-Primus", "Allegro"

    def inject(self, world):
        self.supervisor = world.supervisor_pid()
        self.old_parent = world.agent_pid(self.parent)
        self.old_ollama = world.ollama.pid
        self.autonomy_at = self.relinked_at = None
        fault_at = time.time()
        os.kill(self.supervisor, signal.SIGSTOP)
        os.kill(self.old_parent, signal.SIGKILL)
        world.ollama.stop()
        return fault_at

    def during(self, world, fault_at):
        autonomous = world_wait(world, lambda status: agent_row(status, self.child).get("mode") == "autonomy",
                                self.options.partition + 60)
        self.autonomy_at = autonomous
        time.sleep(max(0.0, fault_at + self.options.partition - time.time()))
        self.thaw()
        self.relinked_at = time.time()

    def thaw(self):
        try:
            os.kill(self.supervisor, signal.SIGCONT)
        except (OSError, TypeError):
            pass

    def healed(self, world, status, fault_at):
        problems = service_back(world, status, world.ollama, self.old_ollama)
        problems += agent_back(world, status, self.parent, self.old_parent, self.relinked_at)
        child = agent_row(status, self.child)
        if not fresh_since(child, "last_seen", self.relinked_at) or child.get("mode") not in GREEN_MODES:
            problems.append(f"{self.child} has not decided with his model since the link came back")
        return problems

    def finish(self, world):
        self.thaw()

    def notes(self, world, fault_at):
        autonomy = (f"in autonomy at {self.autonomy_at - fault_at:+.1f} s" if self.autonomy_at
                    else "never seen in autonomy mode")
        return [f"{self.child} {autonomy}; parent cut off until {self.relinked_at - fault_at:+.1f} s"]


class InfraLoss(Scenario):
    """The README's restore, step by step, timed.

    `bin/timmy backup` (online, verified), then the machine "dies": `bin/timmy
    stop` (the fault instant), the database and its -wal/-shm are deleted,
    `bin/timmy list --json` names the latest verified backup, `bin/timmy
    restore <id>`, `bin/timmy run`. Nothing may be lost against the backup;
    what the world wrote between the backup and the stop is reported apart
    (it is the recovery point, not a loss of the restore).
    """

    name = "infra"
    title = "destroy the database, rebuild from the latest verified backup (CLI steps)"
    detect_note = "declared by the operator (the machine is gone)"

    def prepare(self, world):
        self.steps, self.observed = [], []
        made = re.search(r"Backup (\S+) done:[^\n]*verified", self.step(world, "backup").stdout)
        if not made:
            raise RuntimeError("`bin/timmy backup` did not make a verified backup")
        self.backup_id = made.group(1)
        self.observed += self.after_cli_backup(world)
        path = os.path.join(world.game_dir, "backups", self.backup_id, "database.sqlite3")
        self.reference = drillaudit.snapshot(path, immutable=True)

    def after_cli_backup(self, world):
        """What the CLI backup did to the running world (it should be nothing)."""
        lines = [f"the live database's {suffix} file is gone after `bin/timmy backup`"
                 for suffix in ("-wal", "-shm") if not os.path.exists(world.database + suffix)]
        if world_wait(world, lambda status: status is not None, 5) is None:
            lines.append(f"/api/status fails after `bin/timmy backup` ({world.last_error})")
        return lines

    def step(self, world, *args, stdout_apart=False):
        """Run one CLI step, timed; stdout_apart keeps stderr out of stdout (JSON output)."""
        started = time.monotonic()
        result = cli_apart(world, *args) if stdout_apart else world.timmy(*args)
        self.steps.append((" ".join(args), time.monotonic() - started, result.returncode))
        if result.returncode != 0:
            raise RuntimeError(f"bin/timmy {' '.join(args)} exited {result.returncode}: {result.stdout[-500:]}")
        return result

    def latest_verified(self, world):
        """`bin/timmy list --json`: the newest backup that verified."""
        entries, noise = json_in(self.step(world, "list", "--json", stdout_apart=True).stdout)
        if noise:
            self.observed.append(f"`bin/timmy list --json` printed {noise!r} before its JSON")
        verified = [entry["id"] for entry in entries if entry.get("valid") and entry.get("verified")]
        if not verified:
            raise RuntimeError("there is no verified backup")
        return verified[-1]

    def inject(self, world):
        fault_at = time.time()
        world.disconnect()
        self.step(world, "stop")
        self.stopped = drillaudit.snapshot(world.database, immutable=True)
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(world.database + suffix)
            except FileNotFoundError:
                pass
        self.destroyed_at = time.time()
        chosen = self.latest_verified(world)
        if chosen != self.backup_id:
            self.observed.append(f"the latest verified backup is {chosen}, not {self.backup_id} just made")
        self.step(world, "restore", chosen)
        self.step(world, "run")
        self.started_at = time.time()
        world.connect()
        return fault_at

    def healed(self, world, status, fault_at):
        return [f"{name} has not reported since the restart" for name in AGENTS
                if not fresh_since(agent_row(status, name), "last_seen", self.started_at)]

    def notes(self, world, fault_at):
        steps = ", ".join(f"{args} {seconds:.1f} s" for args, seconds, _code in self.steps)
        return [f"backup {self.backup_id}; steps: {steps}"] + [f"OBSERVED: {line}" for line in self.observed] + [
                "written between the backup and the stop (the recovery point, not restored by design): "
                + drillaudit.written_between(self.reference, self.stopped)]


def cli_apart(world, *args):
    """`bin/timmy ARGS` in the drill's copy with stdout and stderr apart, as a script reads it."""
    live = world.world
    return subprocess.run([sys.executable, os.path.join(live.game_dir, "bin", "timmy"), *args],
                          cwd=live.game_dir, env=live.env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def json_in(output):
    """(the JSON document in a command's output, whatever came before it)."""
    try:
        return json.loads(output), ""
    except ValueError:
        start = min((index for index in (output.find("\n["), output.find("\n{")) if index >= 0), default=-1)
        if start < 0:
            raise
        return json.loads(output[start:]), output[:start].strip()


SCENARIOS = {cls.name: cls for cls in (AgentKill, OllamaStop, GiteaClimb, Orphan, InfraLoss)}


def world_wait(world, predicate, timeout, interval=0.25):
    """Poll /api/status until `predicate(status)` holds; return that instant (None on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate(world.status()):
            return time.time()
        time.sleep(interval)
    return None
