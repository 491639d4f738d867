"""
The deterministic goal planner (GOAP) agents fall back on without a model.

World state is a frozen mapping of facts taken from an observation
(`world_state_from_observation`). Goals have priorities, a relevance test and
the facts they want; planner actions have a cost, preconditions, effects and
the allowlisted action (with arguments) each maps to. `plan` finds the
cheapest sequence of actions for the highest-priority goal that is relevant,
unmet and achievable with uniform-cost search (bounded in depth and nodes,
ties broken by action names, so the same state always gives the same plan).
`candidate_plans` returns several plans for the hybrid strategy.

Facts (a missing boolean fact is False):

- `at_region` (str), `home_region` (str), `mentor_region` (str or absent)
- `service_down:<name>`, `service_attended:<name>` (an unresolved incident exists)
- `incident_owned_open`, `incident_owned_acked`, `incident_owned_id` (str)
- `backup_stale`, `heartbeat_stale`, `ollama_up`, `mentor_present`, `orphaned`
"""

import heapq
import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.actions import validate

DEFAULT_MAX_DEPTH = 8
DEFAULT_MAX_NODES = 5000
DEFAULT_BACKUP_STALE_AFTER = 26 * 3600
DEFAULT_HEARTBEAT_STALE_AFTER = 300
IDLE_GOAL = "idle"
DOWN = "down"
# Which recovery playbook brings back which service.
SERVICE_SCENARIOS = {"ollama": "ollama", "gitea": "gitea", "agents": "agent"}
SERVICE_SEVERITY = {"evennia": "P0", "backup": "P2"}
DEFAULT_SEVERITY = "P1"


class WorldState(Mapping):
    """An immutable, hashable mapping of fact name to value."""

    __slots__ = ("_facts", "_hash")

    def __init__(self, facts=None, **more):
        merged = dict(facts or {}, **more)
        self._facts = {key: merged[key] for key in sorted(merged)}
        self._hash = hash(frozenset(self._facts.items()))

    def __getitem__(self, key):
        return self._facts[key]

    def __iter__(self):
        return iter(self._facts)

    def __len__(self):
        return len(self._facts)

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        if isinstance(other, WorldState):
            return self._hash == other._hash and self._facts == other._facts
        return NotImplemented if not isinstance(other, Mapping) else self._facts == dict(other)

    def __repr__(self):
        return f"WorldState({self._facts!r})"

    def fact(self, name, wanted=True):
        """The value of `name`; a missing fact is False if `wanted` is a bool, else None."""
        return self._facts.get(name, False if isinstance(wanted, bool) else None)

    def satisfies(self, conditions):
        """True if every fact in `conditions` has the wanted value here."""
        return all(self.fact(name, value) == value for name, value in conditions.items())

    def applied(self, effects):
        """A new WorldState with `effects` set."""
        return WorldState({**self._facts, **effects})

    def true_facts(self, prefix):
        """Names after `prefix` of the facts starting with it that are True, sorted."""
        return sorted(key[len(prefix):] for key, value in self._facts.items()
                      if key.startswith(prefix) and value is True)


@dataclass(frozen=True)
class PlannerAction:
    """One step the planner may take, and the allowlisted action it maps to.

    Attributes:
        name (str): Unique, descriptive (e.g. "go:hearth->oracle").
        cost (int): Positive search cost.
        preconditions (WorldState): Facts that must hold before.
        effects (WorldState): Facts that hold after.
        action (str): The allowlisted action name.
        args (tuple): Its arguments as sorted (name, value) pairs.
    """

    name: str
    cost: int
    preconditions: WorldState
    effects: WorldState
    action: str
    args: tuple = ()

    def answer(self, reason):
        """The step as an answer dict `actions.validate` accepts."""
        return {"action": self.action, "args": dict(self.args), "reason": reason}


def planner_action(name, cost, pre, eff, action, **args):
    """Build a PlannerAction from plain dicts."""
    return PlannerAction(name, cost, WorldState(pre), WorldState(eff), action, tuple(sorted(args.items())))


WAIT = planner_action("wait", 0, {}, {}, "wait")


@dataclass(frozen=True)
class Goal:
    """Something an agent wants, with a priority.

    Attributes:
        name (str): The goal's name (as in personas.toml).
        priority (int): Higher is more important.
        desired (callable): state -> Mapping of the facts wanted.
        relevant (callable): state -> bool, whether it applies now.
    """

    name: str
    priority: int
    desired: object
    relevant: object

    def desired_facts(self, state):
        """The facts this goal wants in `state`."""
        return dict(self.desired(state))

    def is_met(self, state):
        """True if the goal does not apply or its facts already hold."""
        return not self.relevant(state) or state.satisfies(self.desired_facts(state))


@dataclass(frozen=True)
class Plan:
    """A sequence of steps reaching one goal."""

    goal: str
    steps: tuple
    cost: int

    @property
    def first(self):
        """The step to take now."""
        return self.steps[0]

    def describe(self):
        """A one-line summary, e.g. "keep_services_up: go oracle; escalate P1 ollama is down"."""
        parts = []
        for step in self.steps:
            args = " ".join(value for _, value in step.args)
            parts.append(f"{step.action} {args}".strip())
        return f"{self.goal}: {'; '.join(parts)}"

    def decision(self, allowed_actions):
        """The first step as a validated actions.Decision.

        Raises:
            actions.InvalidAnswer: If the step is not allowed (never silently run).
        """
        return validate(self.first.answer(f"planner: {self.goal}"), allowed_actions)


IDLE_PLAN = Plan(IDLE_GOAL, (WAIT,), 0)


@dataclass(frozen=True)
class RegionMap:
    """Where regions lead and where services live (mirrors world/regions.toml)."""

    hub: str
    exits: dict = field(hash=False)
    services: dict = field(hash=False)

    @classmethod
    def from_world_spec(cls, spec):
        """Build from a world.regions.WorldSpec."""
        exits = {region.key: tuple(sorted(e.to for e in region.exits)) for region in spec.regions}
        services = {service: region.key for region in spec.regions for service in region.services}
        return cls(spec.hub, exits, services)

    def region_of(self, service):
        """The region housing `service` (the hub if unknown)."""
        return self.services.get(service, self.hub)


DEFAULT_REGION_MAP = RegionMap(
    hub="hearth",
    exits={"hearth": ("forge", "oracle", "vault"), "forge": ("hearth",),
           "oracle": ("hearth",), "vault": ("hearth",)},
    services={"evennia": "hearth", "agents": "hearth", "disk": "hearth",
              "gitea": "forge", "ollama": "oracle", "backup": "vault"},
)


# ---------------------------------------------------------------- goals

def _unattended_down(state):
    return [name for name in state.true_facts("service_down:")
            if not state.fact(f"service_attended:{name}")]


def _mentor_is_elsewhere(state):
    mentor_region = state.fact("mentor_region", "")
    return bool(mentor_region) and state.fact("at_region", "") != mentor_region


GOAL_LIBRARY = {
    "keep_services_up": (
        lambda s: {f"service_attended:{name}": True for name in _unattended_down(s)},
        lambda s: bool(_unattended_down(s)),
    ),
    "answer_incidents": (
        lambda s: {"incident_owned_acked": True},
        lambda s: s.fact("incident_owned_open") and bool(s.fact("incident_owned_id", "")),
    ),
    "keep_backups_fresh": (lambda s: {"backup_stale": False}, lambda s: s.fact("backup_stale")),
    "watch_heartbeat": (lambda s: {"heartbeat_stale": False}, lambda s: s.fact("heartbeat_stale")),
    "stay_with_mentor": (lambda s: {"at_region": s.fact("mentor_region", "")}, _mentor_is_elsewhere),
    "return_home": (
        lambda s: {"at_region": s.fact("home_region", "")},
        lambda s: bool(s.fact("home_region", "")) and s.fact("at_region", "") != s.fact("home_region", ""),
    ),
}
GOAL_NAMES = tuple(GOAL_LIBRARY)
# A goal is only achievable with one of these allowlisted actions.
GOAL_NEEDS_ACTIONS = {
    "keep_services_up": ("escalate", "recover"),
    "answer_incidents": ("ack",),
    "keep_backups_fresh": ("backup",),
    "watch_heartbeat": ("heartbeat",),
    "stay_with_mentor": ("go",),
    "return_home": ("go",),
}


def make_goals(priorities):
    """Goals from {goal name: priority} (or (name, priority) pairs), highest first.

    Raises:
        KeyError: For a goal name not in GOAL_LIBRARY.
    """
    goals = [Goal(name, int(priority), *GOAL_LIBRARY[name]) for name, priority in dict(priorities).items()]
    return tuple(sorted(goals, key=lambda goal: (-goal.priority, goal.name)))


# -------------------------------------------------------------- actions

def _go_actions(region_map):
    return [
        planner_action(f"go:{origin}->{to}", 1, {"at_region": origin}, {"at_region": to}, "go", region=to)
        for origin, neighbours in sorted(region_map.exits.items()) for to in neighbours
    ]


def _service_actions(state, region_map):
    steps = []
    for name in state.true_facts("service_down:"):
        where = {"at_region": region_map.region_of(name), f"service_down:{name}": True}
        severity = SERVICE_SEVERITY.get(name, DEFAULT_SEVERITY)
        steps.append(planner_action(
            f"escalate:{name}", 2, {**where, f"service_attended:{name}": False},
            {f"service_attended:{name}": True}, "escalate", severity=severity, summary=f"{name} is down"))
        if name in SERVICE_SCENARIOS:
            steps.append(planner_action(
                f"recover:{name}", 3, where, {f"service_down:{name}": False, f"service_attended:{name}": True},
                "recover", scenario=SERVICE_SCENARIOS[name]))
    return steps


def _duty_actions(state, region_map):
    steps = [
        planner_action("backup", 2, {"at_region": region_map.region_of("backup")},
                       {"backup_stale": False}, "backup"),
        planner_action("heartbeat", 1, {"at_region": region_map.hub}, {"heartbeat_stale": False}, "heartbeat"),
    ]
    incident_id = state.fact("incident_owned_id", "")
    if incident_id:
        steps.append(planner_action(
            "ack", 1, {"at_region": region_map.hub, "incident_owned_open": True, "incident_owned_acked": False},
            {"incident_owned_acked": True}, "ack", id=incident_id))
    return steps


def planner_actions(state, allowed_actions, region_map=DEFAULT_REGION_MAP):
    """The planner actions available in `state`, limited to allowed actions.

    Args:
        state (WorldState): The current facts (down services, incident id).
        allowed_actions (iterable of str): The persona's allowlisted actions.
        region_map (RegionMap): Exits and service locations.

    Returns:
        tuple of PlannerAction, sorted by name.
    """
    allowed = set(allowed_actions)
    steps = _go_actions(region_map) + _service_actions(state, region_map) + _duty_actions(state, region_map)
    return tuple(sorted((step for step in steps if step.action in allowed), key=lambda step: step.name))


# --------------------------------------------------------------- search

def search(start, desired, actions, limit=1, max_depth=DEFAULT_MAX_DEPTH, max_nodes=DEFAULT_MAX_NODES):
    """Uniform-cost search for action sequences from `start` reaching `desired`.

    Args:
        start (WorldState): Where to begin.
        desired (Mapping): Facts to reach.
        actions (iterable of PlannerAction): Available steps.
        limit (int): How many distinct plans to return (cheapest first).
        max_depth (int): Longest plan considered.
        max_nodes (int): Most states expanded before giving up.

    Returns:
        list of tuple: Step sequences without cycles, cheapest first (ties:
        by the sequence of action names).
    """
    actions = sorted(actions, key=lambda step: step.name)
    counter = itertools.count()
    frontier = [(0, (), next(counter), (start,), ())]
    expanded, found, nodes = Counter(), [], 0
    while frontier and nodes < max_nodes and len(found) < limit:
        cost, names, _, path, steps = heapq.heappop(frontier)
        state = path[-1]
        if state.satisfies(desired):
            if steps:
                found.append(steps)
            continue
        if expanded[state] >= limit or len(steps) >= max_depth:
            continue
        expanded[state] += 1
        nodes += 1
        for step in actions:
            if not state.satisfies(step.preconditions):
                continue
            after = state.applied(step.effects)
            if after not in path:  # no no-ops, no detours through a state already passed
                heapq.heappush(frontier, (cost + step.cost, names + (step.name,), next(counter),
                                          path + (after,), steps + (step,)))
    return found


def _plans_for_goal(state, goal, actions, limit, **bounds):
    desired = goal.desired_facts(state)
    return [Plan(goal.name, steps, sum(step.cost for step in steps))
            for steps in search(state, desired, actions, limit=limit, **bounds)]


def plan(state, goals, actions, **bounds):
    """The cheapest plan for the highest-priority relevant, unmet, achievable goal.

    Args:
        state (WorldState): Current facts.
        goals (iterable of Goal): The persona's goals.
        actions (iterable of PlannerAction): Available steps.
        **bounds: `max_depth`, `max_nodes` for the search.

    Returns:
        Plan: The plan, or IDLE_PLAN (wait) when no goal needs or allows work.
    """
    for goal in sorted(goals, key=lambda goal: (-goal.priority, goal.name)):
        if goal.is_met(state):
            continue
        plans = _plans_for_goal(state, goal, actions, 1, **bounds)
        if plans:
            return plans[0]
    return IDLE_PLAN


def candidate_plans(state, goals, actions, k=3, **bounds):
    """Up to `k` plans with different first steps, for the model to choose from.

    The best plan of every relevant, unmet, achievable goal comes first (in
    priority order), then alternatives for the most important goal.

    Returns:
        list of Plan: Never empty; [IDLE_PLAN] when there is nothing to do.
    """
    ordered = [goal for goal in sorted(goals, key=lambda goal: (-goal.priority, goal.name))
               if not goal.is_met(state)]
    per_goal = [_plans_for_goal(state, goal, actions, k, **bounds) for goal in ordered]
    per_goal = [plans for plans in per_goal if plans]
    chosen, first_steps = [], set()
    for plans in [[plans[0]] for plans in per_goal] + per_goal[:1]:
        for candidate in plans:
            key = (candidate.first.action, candidate.first.args)
            if key not in first_steps and len(chosen) < k:
                first_steps.add(key)
                chosen.append(candidate)
    return chosen or [IDLE_PLAN]


# ---------------------------------------------------------- observation

def _is_stale(observation, flag, age_key, stale_after):
    if flag in observation:
        return bool(observation[flag])
    if age_key in observation:
        age = observation[age_key]
        return age is None or age > stale_after
    return False


def _owned_incident(observation, name):
    """The most severe open incident owned by `name` (or None)."""
    owned = [incident for incident in observation.get("incidents") or ()
             if incident.get("owner") == name and incident.get("state", "open") == "open"]
    owned.sort(key=lambda incident: (bool(incident.get("acked")), str(incident.get("severity", "P9")),
                                     str(incident.get("id"))))
    return owned[0] if owned else None


def _first_responder_is_someone_else(observation, name):
    """True when another agent is on duty and online (its region is known)."""
    on_duty = observation.get("on_duty")
    return bool(on_duty) and on_duty != name and bool((observation.get("agents") or {}).get(on_duty))


def _incident_facts(observation, name):
    facts = {}
    for incident in observation.get("incidents") or ():
        # Open or acknowledged: someone has it, so nobody files it again.
        if incident.get("state", "open") != "resolved" and incident.get("service"):
            facts[f"service_attended:{incident['service']}"] = True
    owned = _owned_incident(observation, name)
    if owned:
        facts.update(incident_owned_open=True, incident_owned_acked=bool(owned.get("acked")),
                     incident_owned_id=str(owned.get("id", "")))
    return facts


def _relation_facts(observation, persona, ollama_up):
    facts = {}
    agents = observation.get("agents") or {}
    mentor, parent = getattr(persona, "mentor", ""), getattr(persona, "parent", "")
    if mentor:
        if agents.get(mentor):
            facts["mentor_region"] = agents[mentor]
        facts["mentor_present"] = mentor in (observation.get("present") or ())
    if parent:
        parent_reachable = observation.get("parent_reachable", bool(agents.get(parent)))
        facts["orphaned"] = not (parent_reachable and ollama_up)
    return facts


def world_state_from_observation(observation, persona, backup_stale_after=DEFAULT_BACKUP_STALE_AFTER,
                                 heartbeat_stale_after=DEFAULT_HEARTBEAT_STALE_AFTER):
    """The planner's facts from an observation dict (see agents/observation.py).

    Args:
        observation (dict): `location`, `present`, `agents` ({name: region or
            None}), `services` ({name: state}), `incidents` (dicts with id,
            service, severity, owner, acked, state), `backup_stale` or
            `backup_age` (seconds, None = never), `heartbeat_stale` or
            `heartbeat_age`, optionally `ollama_up` and `parent_reachable`.
        persona: Anything with `name`, `home`, `mentor`, `parent`.
        backup_stale_after (float): Backup age in seconds that counts as stale.
        heartbeat_stale_after (float): Heartbeat age that counts as stale.

    Returns:
        WorldState
    """
    services = observation.get("services") or {}
    ollama_up = bool(observation.get("ollama_up", services.get("ollama") != DOWN))
    facts = {"home_region": persona.home, "ollama_up": ollama_up}
    if observation.get("location"):
        facts["at_region"] = observation["location"]
    for name, service_state in services.items():
        if service_state == DOWN:
            facts[f"service_down:{name}"] = True
    facts.update(_incident_facts(observation, persona.name))
    if _first_responder_is_someone_else(observation, persona.name):
        # Level 1 belongs to the on-duty agent: while it is online, a down
        # service is its to see and file; peers come in when paged.
        for name in services:
            facts[f"service_attended:{name}"] = True
    facts["backup_stale"] = _is_stale(observation, "backup_stale", "backup_age", backup_stale_after)
    facts["heartbeat_stale"] = _is_stale(observation, "heartbeat_stale", "heartbeat_age", heartbeat_stale_after)
    facts.update(_relation_facts(observation, persona, ollama_up))
    return WorldState(facts)


def plan_for(observation, persona, region_map=DEFAULT_REGION_MAP, k=1, **options):
    """Convenience for the runtime: observation + persona -> plans.

    Args:
        observation (dict): As for world_state_from_observation.
        persona: A Persona (`actions`, `goals` {name: priority}, ...).
        region_map (RegionMap): Exits and service locations.
        k (int): 1 for `plan`, more for `candidate_plans`.
        **options: `backup_stale_after`, `heartbeat_stale_after`,
            `max_depth`, `max_nodes`.

    Returns:
        list of Plan: One plan (k=1) or up to k candidates; never empty.
    """
    stale = {key: options.pop(key) for key in ("backup_stale_after", "heartbeat_stale_after") if key in options}
    state = world_state_from_observation(observation, persona, **stale)
    goals = make_goals(persona.goals)
    steps = planner_actions(state, persona.actions, region_map)
    if k <= 1:
        return [plan(state, goals, steps, **options)]
    return candidate_plans(state, goals, steps, k=k, **options)
