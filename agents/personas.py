"""
Persona definitions: load and validate `agents/personas.toml`.

Like world/regions.py, this only reads and checks data: every problem found is
reported at once in a PersonaDataError, each naming the persona at fault.
Models and strategies can be overridden (from settings) at load time; the
overrides are validated the same way.
"""

import os
import re
import tomllib
from dataclasses import dataclass, field, replace

from agents.actions import ACTIONS, REGION_KEYS
from agents.planner import GOAL_LIBRARY, GOAL_NEEDS_ACTIONS

DEFAULT_PERSONAS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "personas.toml")
STRATEGIES = ("llm", "planner", "hybrid")
PERMISSIONS = ("Player", "Helper", "Builder")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
PERSONA_FIELDS = {"name", "role", "description", "home", "model", "strategy",
                  "permission", "actions", "goals", "relations"}
DEFAULTS_FIELDS = {"model", "strategy"}
SINGLE_RELATIONS = ("parent", "mentor")
LIST_RELATIONS = ("children", "mentees", "siblings")
# relation -> the relation the other persona must have back.
MIRRORED = {"parent": "children", "children": "parent", "mentor": "mentees",
            "mentees": "mentor", "siblings": "siblings"}
PRIORITY_RANGE = (1, 100)


class PersonaDataError(ValueError):
    """The persona data is unusable; the message names every problem."""

    def __init__(self, problems, path=""):
        self.problems = list(problems)
        where = f" in {path}" if path else ""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"Persona data{where} is invalid:\n{lines}")


@dataclass(frozen=True)
class Persona:
    """One agent: identity, model, what it may do and what it wants.

    `goals` is a tuple of (goal name, priority), highest priority first;
    `dict(persona.goals)` gives the mapping.
    """

    name: str
    role: str
    description: str
    home: str
    model: str
    strategy: str
    permission: str
    actions: tuple
    goals: tuple
    parent: str = ""
    mentor: str = ""
    children: tuple = ()
    mentees: tuple = ()
    siblings: tuple = ()

    def allows(self, action):
        """True if `action` is in this persona's allowlist."""
        return action in self.actions

    def related(self, relation):
        """The names in `relation` (parent, mentor, children, mentees, siblings) as a tuple."""
        value = getattr(self, relation)
        return (value,) if isinstance(value, str) and value else tuple(value or ())


@dataclass(frozen=True)
class PersonaSet:
    """All personas, in file order."""

    personas: tuple
    by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def __iter__(self):
        return iter(self.personas)

    def __len__(self):
        return len(self.personas)

    def get(self, name):
        """The Persona called `name`, or None."""
        return self.by_name.get(name)

    @property
    def names(self):
        """Persona names in file order."""
        return tuple(persona.name for persona in self.personas)


def load_personas(path, region_keys=REGION_KEYS, default_model=None, models=None, strategies=None):
    """Read and validate a persona data file.

    Args:
        path (str): Path to the TOML file.
        region_keys (iterable of str): Valid home regions.
        default_model (str, optional): When set, the model of every persona
            not named in `models` (e.g. a small model for CI).
        models (dict, optional): {persona name: model} overrides.
        strategies (dict, optional): {persona name: strategy} overrides.

    Returns:
        PersonaSet

    Raises:
        PersonaDataError: If the file is missing, not TOML, or invalid.
    """
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise PersonaDataError([f"file not found: {path}"])
    except tomllib.TOMLDecodeError as err:
        raise PersonaDataError([f"not valid TOML: {err}"], path)
    return parse_personas(data, path, region_keys, default_model, models, strategies)


def parse_personas(data, path="", region_keys=REGION_KEYS, default_model=None, models=None, strategies=None):
    """Validate already-parsed persona data (arguments as for load_personas).

    Raises:
        PersonaDataError: Listing every problem found.
    """
    problems = []
    unknown_top = set(data) - {"defaults", "persona"}
    if unknown_top:
        problems.append(f"unknown top-level section(s): {', '.join(sorted(unknown_top))}")
    defaults = _parse_defaults(data.get("defaults", {}), problems)
    raw_personas = data.get("persona", [])
    if not isinstance(raw_personas, list) or not raw_personas:
        raise PersonaDataError(problems + ["no [[persona]] defined"], path)
    personas = [_parse_persona(raw, index, defaults, tuple(region_keys), problems)
                for index, raw in enumerate(raw_personas)]
    personas = [persona for persona in personas if persona]
    by_name = _index_by_name(personas, problems)
    _check_relations(personas, by_name, problems)
    personas = _apply_overrides(personas, by_name, default_model, models or {}, strategies or {}, problems)
    if problems:
        raise PersonaDataError(problems, path)
    return PersonaSet(tuple(personas), {persona.name: persona for persona in personas})


def _parse_defaults(raw, problems):
    if not isinstance(raw, dict):
        problems.append("[defaults] must be a table")
        return {}
    unknown = set(raw) - DEFAULTS_FIELDS
    if unknown:
        problems.append(f"[defaults]: unknown field(s) {', '.join(sorted(unknown))}")
    _check_model(raw.get("model"), "[defaults]", problems, required=False)
    _check_strategy(raw.get("strategy"), "[defaults]", problems, required=False)
    return raw


def _check_model(model, label, problems, required=True):
    if model is None and not required:
        return
    if not isinstance(model, str) or not MODEL_PATTERN.match(model):
        problems.append(f"{label}: model must be an Ollama model name (got {model!r})")


def _check_strategy(strategy, label, problems, required=True):
    if strategy is None and not required:
        return
    if strategy not in STRATEGIES:
        problems.append(f"{label}: strategy must be one of {', '.join(STRATEGIES)} (got {strategy!r})")


def _text(raw, key, label, problems):
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{label}: {key} is missing")
        return ""
    return " ".join(value.split())


def _parse_persona(raw, index, defaults, region_keys, problems):
    """Turn one [[persona]] table into a Persona, or None when unusable."""
    if not isinstance(raw, dict):
        problems.append(f"persona #{index + 1} is not a table")
        return None
    name = raw.get("name")
    label = f"persona '{name}'" if isinstance(name, str) else f"persona #{index + 1}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(f"{label}: name must be a letter then letters, digits, '-' or '_' (got {name!r})")
        return None
    unknown = set(raw) - PERSONA_FIELDS
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    home = raw.get("home")
    if home not in region_keys:
        problems.append(f"{label}: home {home!r} is not a region ({', '.join(region_keys)})")
    model = raw.get("model", defaults.get("model"))
    _check_model(model, label, problems)
    strategy = raw.get("strategy", defaults.get("strategy"))
    _check_strategy(strategy, label, problems)
    permission = raw.get("permission")
    if permission not in PERMISSIONS:
        problems.append(f"{label}: permission must be one of {', '.join(PERMISSIONS)} (got {permission!r})")
    actions = _parse_actions(raw.get("actions"), label, problems)
    goals = _parse_goals(raw.get("goals", {}), actions, label, problems)
    relations = _parse_relations(raw.get("relations", {}), label, problems)
    if "stay_with_mentor" in dict(goals) and not relations.get("mentor"):
        problems.append(f"{label}: goal 'stay_with_mentor' needs a mentor")
    return Persona(
        name=name, role=_text(raw, "role", label, problems),
        description=_text(raw, "description", label, problems),
        home=home, model=model, strategy=strategy, permission=permission,
        actions=actions, goals=goals, **relations,
    )


def _parse_actions(value, label, problems):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{label}: actions must be a list of action names")
        return ()
    unknown = [item for item in value if item not in ACTIONS]
    if unknown:
        problems.append(f"{label}: unknown action(s) {', '.join(unknown)}")
    duplicates = sorted({item for item in value if value.count(item) > 1})
    if duplicates:
        problems.append(f"{label}: action(s) listed twice: {', '.join(duplicates)}")
    if "wait" not in value:
        problems.append(f"{label}: actions must include 'wait'")
    return tuple(dict.fromkeys(item for item in value if item in ACTIONS))


def _parse_goals(value, actions, label, problems):
    if not isinstance(value, dict):
        problems.append(f"{label}: goals must be a table of goal = priority")
        return ()
    goals = []
    low, high = PRIORITY_RANGE
    for name, priority in value.items():
        if name not in GOAL_LIBRARY:
            problems.append(f"{label}: unknown goal '{name}' (known: {', '.join(GOAL_LIBRARY)})")
            continue
        if isinstance(priority, bool) or not isinstance(priority, int) or not low <= priority <= high:
            problems.append(f"{label}: goal '{name}' priority must be an integer {low}..{high}")
            continue
        needed = GOAL_NEEDS_ACTIONS[name]
        if not set(needed) & set(actions):
            problems.append(f"{label}: goal '{name}' needs action {' or '.join(needed)}, which it may not take")
        goals.append((name, priority))
    return tuple(sorted(goals, key=lambda goal: (-goal[1], goal[0])))


def _parse_relations(value, label, problems):
    if not isinstance(value, dict):
        problems.append(f"{label}: relations must be a table")
        return {}
    unknown = set(value) - set(SINGLE_RELATIONS) - set(LIST_RELATIONS)
    if unknown:
        problems.append(f"{label}: unknown relation(s) {', '.join(sorted(unknown))}")
    relations = {}
    for key in SINGLE_RELATIONS:
        if key in value:
            if isinstance(value[key], str) and value[key].strip():
                relations[key] = value[key].strip()
            else:
                problems.append(f"{label}: relation {key} must be a name")
    for key in LIST_RELATIONS:
        if key in value:
            names = value[key]
            if isinstance(names, list) and all(isinstance(item, str) and item.strip() for item in names):
                relations[key] = tuple(item.strip() for item in names)
            else:
                problems.append(f"{label}: relation {key} must be a list of names")
    return relations


def _index_by_name(personas, problems):
    by_name, seen = {}, {}
    for persona in personas:
        folded = persona.name.lower()
        if folded in seen:
            problems.append(f"persona '{persona.name}' is defined twice")
            continue
        seen[folded] = persona.name
        by_name[persona.name] = persona
    return by_name


def _check_relations(personas, by_name, problems):
    """Relation targets exist, are not the persona itself, and are mirrored."""
    for persona in personas:
        label = f"persona '{persona.name}'"
        for relation in SINGLE_RELATIONS + LIST_RELATIONS:
            for target in persona.related(relation):
                other = by_name.get(target)
                if target == persona.name:
                    problems.append(f"{label}: {relation} is itself")
                elif other is None:
                    problems.append(f"{label}: {relation} '{target}' is not a persona")
                elif persona.name not in other.related(MIRRORED[relation]):
                    problems.append(
                        f"{label}: {relation} '{target}' does not list '{persona.name}' "
                        f"as {MIRRORED[relation]}")


def _apply_overrides(personas, by_name, default_model, models, strategies, problems):
    """Return personas with model and strategy overrides applied (validated)."""
    for kind, overrides in (("model", models), ("strategy", strategies)):
        for name in sorted(set(overrides) - set(by_name)):
            problems.append(f"{kind} override for unknown persona '{name}'")
    if default_model is not None:
        _check_model(default_model, "default model override", problems)
    result = []
    for persona in personas:
        label = f"override for persona '{persona.name}'"
        model = models.get(persona.name, default_model or persona.model)
        strategy = strategies.get(persona.name, persona.strategy)
        _check_model(model, label, problems)
        _check_strategy(strategy, label, problems)
        result.append(replace(persona, model=model, strategy=strategy))
    return result

