"""
The five scenarios of the seed's emergency procedures, each a playbook: a
check before, the remedy, a check after, a note on the incident, and an
escalation when something failed.

    agent   complete agent failure: restart its process, verify it is back
    ollama  Ollama failure: restart, wait for /api/version, check the model, agents back from autonomy
    gitea   Gitea unavailable: restart, verify the API, flush the escalation outbox
    orphan  child orphaned: autonomy mode, re-link with the parent when it is reachable again
    infra   infrastructure loss: the guided rebuild from the latest verified backup (shown, not run)
"""

from dataclasses import dataclass, field

from world import servicestate
from world.backup.ids import LATEST, is_valid_id
from world.presentation import plain_text
from world.recovery import agentops
from world.recovery.agentsteps import (AgentCheckStep, ControlStep, RestartAgentStep, WaitAgentStep,
                                       WaitParentStep)
from world.recovery.config import ArgumentRejected, check_argument
from world.recovery.errors import RecoveryError
from world.recovery.infrasteps import GuidanceStep, LatestBackupStep
from world.recovery.servicesteps import AgentModesStep, ModelStep, OutboxStep
from world.recovery.steps import CommandStep, EscalateStep, NoteStep, ProbeStep, WaitHealthyStep, check_for
from world.servicestate import DOWN

SCENARIOS = ("agent", "ollama", "gitea", "orphan", "infra")
TITLES = {
    "agent": "complete agent failure: restart an agent's process and verify it is back",
    "ollama": "Ollama failure: restart it, wait for /api/version, check the model, agents out of autonomy",
    "gitea": "Gitea unavailable: restart it, verify the API, flush the escalation outbox",
    "orphan": "child orphaned: autonomy mode, re-link with the parent when reachable again",
    "infra": "infrastructure loss: the guided rebuild from the latest verified backup (a plan to follow)",
}
TARGETS = {"agent": "agent name", "orphan": "child agent", "infra": "backup id"}
DEFAULT_CHILD = "Allegro-Primus"
MAX_INPUT = 200


def scenario_list():
    return ", ".join(SCENARIOS)


def parse_request(text):
    """(scenario, target or None) from `<scenario> [target]`.

    Raises:
        RecoveryError: Naming the problem and listing the valid scenarios.
    """
    text = (text or "").strip()
    words = text.split()
    if not words:
        raise RecoveryError(f"Say which scenario. Scenarios: {scenario_list()}.")
    if len(text) > MAX_INPUT or len(words) > 2:
        raise RecoveryError(f"Give a scenario and at most one target. Scenarios: {scenario_list()}.")
    scenario = words[0].lower()
    if scenario not in SCENARIOS:
        raise RecoveryError(f"Unknown scenario '{plain_text(words[0], 20)}'. Scenarios: {scenario_list()}.")
    target = words[1] if len(words) == 2 else None
    if target is None:
        return scenario, None
    if scenario not in TARGETS:
        raise RecoveryError(f"'{scenario}' takes no target. Scenarios: {scenario_list()}.")
    try:
        check_argument(target)
    except ArgumentRejected as err:
        raise RecoveryError(f"'{plain_text(target, 20)}' is not a valid {TARGETS[scenario]}: {err}. "
                            f"Scenarios: {scenario_list()}.")
    return scenario, target


@dataclass
class Playbook:
    """A scenario made concrete for one target: its steps, in order."""

    scenario: str
    target: str
    service: str
    steps: list
    title: str = ""
    still_failing: object = field(default=lambda: "")

    def destructive_reasons(self):
        """Why this run would interrupt something that works (empty: it would not)."""
        return [reason for step in self.steps if (reason := step.destructive_reason())]


def build(scenario, target=None):
    """The playbook of `scenario` for `target`.

    Raises:
        RecoveryError: The scenario cannot be run (no such agent, Gitea not configured, ...).
    """
    builders = {"agent": _agent, "ollama": _ollama, "gitea": _gitea, "orphan": _orphan, "infra": _infra}
    playbook = builders[scenario](target)
    playbook.title = TITLES[scenario]
    return playbook


def _agent(target):
    agent = _find_agent(target) if target else None
    if agent is None:
        failed = agentops.failed_agents()
        if not failed:
            raise RecoveryError("Every agent is online and answering; name one to restart it: @recover agent <name>.")
        agent = failed[0]
    name = agent.key
    steps = [AgentCheckStep(name), RestartAgentStep(name), WaitAgentStep(name),
             NoteStep("agents"), EscalateStep("agents", "agent")]

    def others_failing():
        return ", ".join(other.key for other in agentops.failed_agents())

    return Playbook("agent", name, "agents", steps, still_failing=others_failing)


def _find_agent(name):
    agent = agentops.find(name)
    if agent is None:
        names = ", ".join(agentops.names()) or "none yet"
        raise RecoveryError(f"There is no agent called '{plain_text(name, 30)}'. Agents: {names}.")
    return agent


def _service(scenario, service, after):
    steps = [ProbeStep(service), CommandStep(f"restart_{service}", service=service), WaitHealthyStep(service)]
    steps += after + [NoteStep(service), EscalateStep(service, scenario)]
    return Playbook(scenario, "", service, steps)


def _ollama(_target):
    return _service("ollama", "ollama", [ModelStep(), AgentModesStep()])


def _gitea(_target):
    if check_for("gitea") is None:
        raise RecoveryError("Gitea is not configured here (GITEA_URL is unset): there is nothing to recover.")
    return _service("gitea", "gitea", [OutboxStep()])


def _orphan(target):
    child = _find_agent(target or DEFAULT_CHILD)
    parent = agentops.parent_of(child.key)
    if not parent:
        raise RecoveryError(f"{child.key} has no parent, so it cannot be orphaned.")
    steps = [AgentCheckStep(child.key), ControlStep(child.key, "autonomy"), WaitParentStep(child.key, parent),
             ControlStep(child.key, "relink", parent), NoteStep("agents"), EscalateStep("agents", "orphan")]
    return Playbook("orphan", child.key, "agents", steps)


def _infra(target):
    if target and target != LATEST and not is_valid_id(target):
        raise RecoveryError(f"'{plain_text(target, 30)}' is not a backup id (see @backup/list).")
    wanted = None if target in (None, LATEST) else target
    return Playbook("infra", target or "", "", [LatestBackupStep(wanted), GuidanceStep()])


# ------------------------------------------------------------ applies now


def applies(scenario):
    """(True/False/None, why): whether the scenario's failure is happening now (None: not applicable)."""
    return {"agent": _agent_applies, "ollama": lambda: _service_applies("ollama"),
            "gitea": lambda: _service_applies("gitea"), "orphan": _orphan_applies,
            "infra": lambda: (None, "a plan for rebuilding a lost machine; the world is running")}[scenario]()


def _agent_applies():
    failed = agentops.failed_agents()
    if not agentops.names():
        return None, "no agents exist yet"
    if failed:
        return True, "failed: " + ", ".join(agent.key for agent in failed)
    return False, "every agent is online and answering"


def _service_applies(service):
    if check_for(service) is None:
        return None, f"{service} is not configured"
    state = servicestate.current(service)
    return state.state == DOWN, f"{service} is {state.state} ({plain_text(state.reason, 40)})"


def _orphan_applies():
    child = agentops.find(DEFAULT_CHILD)
    parent_name = agentops.parent_of(DEFAULT_CHILD) if child else ""
    if child is None or not parent_name:
        return None, f"no {DEFAULT_CHILD} with a parent here"
    parent = agentops.find(parent_name)
    ollama = servicestate.current("ollama").state
    orphaned = not (parent and parent.online) or ollama == DOWN
    where = f"{parent_name} {'online' if parent and parent.online else 'offline'}, ollama {ollama}"
    return orphaned, where
