"""
Steps about agents: look at one, restart its process, wait until it is back,
tell its runtime to change mode, wait for an orphan's parent.

Restarting an agent: while it is online its runtime is told to restart
(it exits with the restart code and the supervisor starts it at once).
Offline, in this order: the configured `restart_agent` command (for agents
run elsewhere, e.g. as systemd units), else SIGTERM to its process from the
supervisor's pid file (the supervisor restarts it), else `bin/timmy agents
start` (the documented CLI) to start the supervisor itself.
"""

from twisted.internet import defer

from world import agentfleet, servicestate
from world.presentation import age_text
from world.recovery import agentops, config
from world.recovery.steps import CommandStep, Step, StepOutcome
from world.recovery.toolkit import wait_until
from world.servicestate import DEGRADED, UP


def agent_line(agent, now=None):
    """'Timmy: online, mode hybrid, seen 5s ago' (or offline)."""
    ago = agentops.seen_ago(agent, now)
    seen = "never seen" if ago is None else f"seen {age_text(ago)} ago"
    state = f"online, mode {agent.mode}" if agent.online else "offline"
    return f"{agent.key}: {state}, {seen}"


class AgentCheckStep(Step):
    """Look at an agent (the check before)."""

    kind = "agent"
    informational = True

    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"check {self.name} before: online, puppeting, last sign of life"

    def run(self, run):
        agent = agentops.find(self.name)
        return StepOutcome(agentops.healthy(agent, run.kit.now()), agent_line(agent, run.kit.now()))


class RestartAgentStep(Step):
    """Restart the agent's process (see the module docstring for how)."""

    kind = "restart"

    def __init__(self, name):
        self.name = name

    def describe(self):
        agent = agentops.find(self.name)
        how = "the restart_agent command" if _configured("restart_agent") else "its process from agents/run/"
        fallback = f"restart {how}, or start the supervisor (bin/timmy agents start)"
        if agent is not None and agent.online:
            return (f"restart {self.name}: tell its runtime to restart; if it is not back within "
                    f"{_grace():g} s, close its sessions and {fallback}")
        return f"restart {self.name}: it is offline, so {fallback}"

    def destructive_reason(self):
        agent = agentops.find(self.name)
        if agent is not None and agentops.healthy(agent):
            return f"{self.name} is online and answering: restarting it interrupts a working agent"
        return None

    @defer.inlineCallbacks
    def run(self, run):
        agent = agentops.find(self.name)
        run.memo["restart_at"] = run.kit.now()
        old = run.memo["old_sessions"] = agentops.puppet_sessions(agent)
        said = ""
        if agent.online and agentops.process_gone(agent.key):
            closed = agentops.close_sessions(agent, reason="its process is gone")
            said = f"its process is gone, so its {closed} dead session(s) were closed; "
        elif agent.online:
            agentfleet.control(agent, "restart")
            back, _text, waited = yield wait_until(
                run.kit, lambda: (bool(agentops.puppet_sessions(agent) - old), ""), _grace())
            if back:
                return StepOutcome(True, f"told {self.name}'s runtime to restart; it was back in {waited:.1f} s")
            closed = agentops.close_sessions(agent, reason="its runtime does not answer")
            said = (f"its runtime did not restart within {_grace():g} s (a dead connection?), "
                    f"so its {closed} session(s) were closed; ")
        outcome = yield defer.maybeDeferred(self.restart_process, run, agent)
        outcome.text = said + outcome.text
        return outcome

    def restart_process(self, run, agent):
        """The process-level restart, for an agent whose runtime cannot be told."""
        if _configured("restart_agent"):
            return CommandStep("restart_agent", target=agent.key).run(run)
        pid = agentops.live_pid(agent.key)
        if pid:
            try:
                agentops.stop_process(pid)
            except OSError as err:
                return StepOutcome(False, f"could not stop {self.name}'s process (pid {pid}): {err.strerror}")
            return StepOutcome(True, f"stopped {self.name}'s process (pid {pid}); its supervisor starts it again")
        return CommandStep("start_agents").run(run)


def _grace():
    return config.seconds("RECOVERY_AGENT_RESTART_GRACE")


def _configured(name):
    try:
        return config.command(name) is not None
    except config.RecoveryConfigError:
        return True  # let the command step report the problem


class WaitAgentStep(Step):
    """The check after: the agent logged in again and puppets its character."""

    kind = "wait"

    def __init__(self, name):
        self.name = name

    def deadline(self):
        return config.seconds("RECOVERY_AGENT_WAIT")

    def describe(self):
        return (f"check {self.name} after: wait up to {self.deadline():.0f} s until it has logged in again, "
                f"puppets its character and reports")

    @defer.inlineCallbacks
    def run(self, run):
        old = run.memo.get("old_sessions", set())
        since = run.memo.get("restart_at", 0)

        def back():
            agent = agentops.find(self.name)
            fresh = agentops.puppet_sessions(agent) - old
            reported = bool(agent.last_seen) and agent.last_seen >= since
            if fresh and reported:
                return True, f"{self.name} logged in again (session {min(fresh)}), puppets {agent.key} and reports"
            return False, agent_line(agent, run.kit.now())

        done, text, waited = yield wait_until(run.kit, back, self.deadline())
        if not done:
            return StepOutcome(False, f"not back after {waited:.0f} s: {text}")
        stale = agentops.close_sessions(agentops.find(self.name), old, "replaced by the restarted runtime")
        closed = f"; closed {stale} stale session(s) of the old runtime" if stale else ""
        return StepOutcome(True, f"{text} ({waited:.1f} s){closed}")


class ControlStep(Step):
    """Send a control command (autonomy, relink) to an agent's runtime."""

    kind = "control"
    WORDS = {"autonomy": "put {name} in autonomy mode (it works from its planner until re-linked)",
             "relink": "re-link {name} with {parent} (clears the forced autonomy)"}

    def __init__(self, name, command, parent=""):
        self.name, self.command, self.parent = name, command, parent

    def describe(self):
        return self.WORDS[self.command].format(name=self.name, parent=self.parent or "its parent")

    def run(self, run):
        agent = agentops.find(self.name)
        if agent is None or not agent.online:
            return StepOutcome(False, f"{self.name} is offline and cannot be told; try @recover agent {self.name}")
        agentfleet.control(agent, self.command)
        return StepOutcome(True, f"{self.command} sent to {self.name}")


class WaitParentStep(Step):
    """Wait until an orphan's parent is online and Ollama is up."""

    kind = "wait"

    def __init__(self, child, parent):
        self.child, self.parent = child, parent

    def deadline(self):
        return config.seconds("RECOVERY_ORPHAN_WAIT")

    def describe(self):
        return (f"wait up to {self.deadline():.0f} s until {self.parent} is online and ollama is up "
                f"(as the heartbeat sees it)")

    @defer.inlineCallbacks
    def run(self, run):
        def reunited():
            parent = agentops.find(self.parent)
            ollama = servicestate.current("ollama").state
            online = bool(parent and parent.online)
            text = f"{self.parent} {'online' if online else 'offline'}, ollama {ollama}"
            return online and ollama in (UP, DEGRADED), text

        done, text, waited = yield wait_until(run.kit, reunited, self.deadline())
        if done:
            return StepOutcome(True, f"{text} ({waited:.1f} s)")
        return StepOutcome(False, f"{self.child} is still orphaned after {waited:.0f} s: {text}; "
                                  f"it keeps working in autonomy mode")
