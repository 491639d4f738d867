"""
The action allowlist: everything an agent may do, and nothing else.

A model (or the planner) proposes a decision as a small JSON object::

    {"action": "go", "args": {"region": "oracle"}, "reason": "Ollama is down"}

`validate` checks it completely, outside the model, and turns it into a
`Decision` whose `command` is produced from a fixed template per action. There
is no free-form command action: the only text a model controls is an argument,
and every argument is checked against its pattern and length (too long is
rejected, never truncated and run). Free-text arguments are cleaned with
`world.presentation.plain_text` first, so the produced command is always one
line that starts with the template's fixed verb.

Answer rules (an `InvalidAnswer` names the first broken one):

- a string answer must be one JSON object (no prose, no code fences);
- exactly the keys `action`, `args` and `reason`: a missing key and any extra
  top-level key are rejected (an extra key means the model is not following
  the schema, so its other fields are not trusted either);
- `action` is a known action *and* allowed for this agent;
- `args` has exactly the action's argument names (an optional argument may be
  absent or empty); each value is a string matching its pattern;
- `reason` is a string; it is only logged, so it is cleaned and shortened.

Importing this module needs Django settings (plain_text uses Evennia's ANSI
tools).
"""

import json
import re
import unicodedata
from dataclasses import dataclass, field, replace

from world.plaintext import plain_text

REGION_KEYS = ("hearth", "forge", "oracle", "vault")
SEVERITIES = ("P0", "P1", "P2")
# Non-destructive playbooks only: `infra` (infrastructure loss) is never an agent's call.
RECOVER_SCENARIOS = ("agent", "ollama", "gitea", "orphan")
REASON_MAX_LENGTH = 200
MAX_ANSWER_CHARS = 64_000
# Text may not begin like a command, a switch, a pose or an assignment.
COMMAND_PREFIXES = ("@", "/", "+", ":", ";", "!", "&", "=", "\\")
_UNPRINTABLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co"}
TOP_LEVEL_KEYS = ("action", "args", "reason")


class InvalidAnswer(ValueError):
    """A model's (or planner's) answer is not an acceptable decision.

    Attributes:
        reason_code (str): Short machine-readable cause, e.g. "not_json".
        detail (str): What exactly was wrong, for logs.
        usage: Token usage of the model call that produced it, when known.
    """

    def __init__(self, reason_code, detail=""):
        self.reason_code = reason_code
        self.detail = detail
        self.usage = None
        super().__init__(f"{reason_code}: {detail}" if detail else reason_code)


@dataclass(frozen=True)
class ArgSpec:
    """One argument of an action.

    Attributes:
        name (str): The key in `args`.
        pattern (str): Regex the (cleaned) value must match completely.
        max_length (int): Longest accepted value; longer is rejected.
        required (bool): Whether the argument must be given.
        text (bool): Free text: cleaned with plain_text before checking.
        choices (tuple): The allowed values, when the argument is an enum.
        description (str): Shown to the model.
    """

    name: str
    pattern: str
    max_length: int
    required: bool = True
    text: bool = False
    choices: tuple = ()
    description: str = ""


@dataclass(frozen=True)
class ActionSpec:
    """One allowlisted action and the one way it becomes a command.

    Attributes:
        name (str): The action's name in answers.
        description (str): What it does, shown to the model.
        args (tuple): ArgSpecs, in template order.
        templates (tuple): Command templates with `{arg}` placeholders; the
            first whose placeholders are exactly the given arguments is used.
            Empty for an action that runs no command (`wait`).
    """

    name: str
    description: str
    args: tuple = ()
    templates: tuple = ()

    def arg(self, name):
        """Return the ArgSpec called `name`, or None."""
        return next((spec for spec in self.args if spec.name == name), None)


@dataclass(frozen=True)
class Decision:
    """A validated decision: one allowlisted action and its command line.

    Attributes:
        action (str): The action name.
        args (dict): Cleaned argument values.
        reason (str): The (cleaned, bounded) explanation, for logs.
        command (str or None): The in-game command to run, None for `wait`.
    """

    action: str
    args: dict = field(default_factory=dict)
    reason: str = ""
    command: str = None


def _enum_arg(name, choices, description):
    pattern = "|".join(re.escape(choice) for choice in choices)
    return ArgSpec(name, f"(?:{pattern})", max(len(c) for c in choices), choices=choices,
                   description=description)


def _text_arg(name, max_length, description):
    return ArgSpec(name, r"[^\x00-\x1f\x7f|]+", max_length, text=True, description=description)


_INCIDENT_ID = ArgSpec("id", r"[A-Za-z0-9][A-Za-z0-9_-]*", 32, description="incident id, as listed")

ACTIONS = {
    spec.name: spec
    for spec in (
        ActionSpec("say", "say something to everyone in the room",
                   (_text_arg("text", 300, "what to say, plain text"),), ("say {text}",)),
        ActionSpec("go", "walk through an exit to a neighbouring region",
                   (_enum_arg("region", REGION_KEYS, "region key"),), ("{region}",)),
        ActionSpec("look", "look around the current region", (), ("look",)),
        ActionSpec("heartbeat", "run the heartbeat checks now", (), ("@heartbeat",)),
        ActionSpec("status", "show the status board, or one service",
                   (ArgSpec("service", r"[a-z][a-z0-9_-]*", 32, required=False,
                            description="optional service name"),),
                   ("@status", "@status {service}")),
        ActionSpec("escalate", "open an incident and escalate it",
                   (_enum_arg("severity", SEVERITIES, "P0 critical, P1 major, P2 minor"),
                    _text_arg("summary", 200, "one-line summary")),
                   ("@escalate {severity} {summary}",)),
        ActionSpec("ack", "acknowledge an incident you handle", (_INCIDENT_ID,), ("@ack {id}",)),
        ActionSpec("note", "add a note to an incident",
                   (_INCIDENT_ID, _text_arg("text", 500, "the note, plain text")),
                   ("@incidents/note {id} = {text}",)),
        ActionSpec("backup", "take a backup now", (), ("@backup",)),
        ActionSpec("recover", "run a non-destructive recovery playbook",
                   (_enum_arg("scenario", RECOVER_SCENARIOS, "which playbook"),),
                   ("@recover {scenario}",)),
        ActionSpec("wait", "do nothing this turn", (), ()),
    )
}
ACTION_NAMES = tuple(ACTIONS)


def _template_verb(template):
    """The fixed first word of a template (for `go`, the region itself)."""
    return template.split(" ", 1)[0]


def _template_regex(spec, template):
    """A regex matching exactly the commands `template` can produce."""
    parts = re.split(r"(\{[a-z]+\})", template)
    regex = ""
    for part in parts:
        if part.startswith("{") and part.endswith("}"):
            arg = spec.arg(part[1:-1])
            regex += f"(?:{arg.pattern})"
        else:
            regex += re.escape(part)
    return re.compile(regex)


TEMPLATE_REGEXES = {
    name: tuple(_template_regex(spec, template) for template in spec.templates)
    for name, spec in ACTIONS.items()
}


def command_verbs():
    """Every first word a rendered command can start with."""
    verbs = set()
    for spec in ACTIONS.values():
        for template in spec.templates:
            verb = _template_verb(template)
            if verb.startswith("{"):
                verbs.update(spec.arg(verb[1:-1]).choices)
            else:
                verbs.add(verb)
    return frozenset(verbs)


def matches_a_template(command):
    """True if `command` is exactly what one allowlisted template produces."""
    return any(
        regex.fullmatch(command) for regexes in TEMPLATE_REGEXES.values() for regex in regexes
    )


def _check_allowed(allowed_actions):
    """Return `allowed_actions` as a tuple in allowlist order; unknown names are a bug."""
    allowed = tuple(allowed_actions)
    unknown = sorted(set(allowed) - set(ACTIONS))
    if unknown:
        raise ValueError(f"not allowlisted action(s): {', '.join(unknown)}")
    if not allowed:
        raise ValueError("no actions allowed")
    return tuple(name for name in ACTION_NAMES if name in allowed)


def _arg_schema(arg):
    schema = {"type": "string", "maxLength": arg.max_length}
    if arg.choices:
        schema["enum"] = list(arg.choices)
    if arg.description:
        schema["description"] = arg.description
    return schema


def _args_schema(spec):
    return {
        "type": "object",
        "properties": {arg.name: _arg_schema(arg) for arg in spec.args},
        "required": [arg.name for arg in spec.args if arg.required],
        "additionalProperties": False,
    }


def json_schema(allowed_actions):
    """The JSON schema for Ollama's `format`, restricted to `allowed_actions`.

    Args:
        allowed_actions (iterable of str): Action names this agent may use.

    Returns:
        dict: An object schema with `action` (enum), `args` (one of the
        allowed actions' argument objects) and `reason` (bounded string).

    Raises:
        ValueError: If a name is not in the allowlist (a programming error).
    """
    allowed = _check_allowed(allowed_actions)
    variants = []
    for name in allowed:
        schema = _args_schema(ACTIONS[name])
        if schema not in variants:
            variants.append(schema)
    args_schema = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(allowed)},
            "args": args_schema,
            "reason": {"type": "string", "maxLength": REASON_MAX_LENGTH},
        },
        "required": list(TOP_LEVEL_KEYS),
        "additionalProperties": False,
    }


def describe_actions(allowed_actions):
    """One line per allowed action, for a system prompt."""
    lines = []
    for name in _check_allowed(allowed_actions):
        spec = ACTIONS[name]
        args = ", ".join(
            f"{arg.name}{'' if arg.required else '?'}: "
            + ("|".join(arg.choices) if arg.choices else arg.description)
            for arg in spec.args
        )
        lines.append(f"- {name}({args}): {spec.description}")
    return "\n".join(lines)


def parse_answer(answer):
    """Turn a raw answer (JSON text or dict) into a dict, or raise InvalidAnswer."""
    if isinstance(answer, dict):
        return answer
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", errors="replace")
    if not isinstance(answer, str):
        raise InvalidAnswer("not_object", f"answer is a {type(answer).__name__}")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidAnswer("too_long", f"{len(answer)} characters")
    text = answer.strip()
    if not text:
        raise InvalidAnswer("empty", "the answer is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        code = "truncated" if text.startswith("{") and err.pos >= len(text) - 1 else "not_json"
        if err.msg.startswith("Unterminated string"):
            code = "truncated"
        raise InvalidAnswer(code, f"{err.msg} at character {err.pos}") from None
    if not isinstance(data, dict):
        raise InvalidAnswer("not_object", f"answer is a JSON {type(data).__name__}")
    return data


def _check_keys(data):
    missing = [key for key in TOP_LEVEL_KEYS if key not in data]
    if missing:
        raise InvalidAnswer("missing_key", ", ".join(missing))
    extra = sorted(str(key) for key in data if key not in TOP_LEVEL_KEYS)
    if extra:
        raise InvalidAnswer("extra_key", ", ".join(extra)[:200])


def _check_action(action, allowed):
    if not isinstance(action, str):
        raise InvalidAnswer("bad_action", f"action is a {type(action).__name__}")
    if action not in ACTIONS:
        raise InvalidAnswer("unknown_action", plain_text(action, 60))
    if action not in allowed:
        raise InvalidAnswer("action_not_allowed", action)
    return ACTIONS[action]


def clean_text(value):
    """Plain, single-line text: markup, MXP, control and format characters removed."""
    text = plain_text(value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _UNPRINTABLE_CATEGORIES)
    return " ".join(text.split())


def _check_arg_value(action, arg, value):
    """Return the accepted (cleaned) value of one argument, or raise InvalidAnswer."""
    where = f"{action}.{arg.name}"
    if not isinstance(value, str):
        raise InvalidAnswer("bad_arg_type", f"{where} is a {type(value).__name__}")
    if arg.choices and value not in arg.choices:
        raise InvalidAnswer("bad_arg", f"{where}: {plain_text(value, 60)!r} is not one of {', '.join(arg.choices)}")
    cleaned = value
    if arg.text and len(value) <= arg.max_length * 2 + 64:  # room for markup; huge input is not cleaned
        cleaned = clean_text(value)
    if len(cleaned) > arg.max_length:
        raise InvalidAnswer("arg_too_long", f"{where}: {len(cleaned)} characters (limit {arg.max_length})")
    if not cleaned:
        raise InvalidAnswer("empty_arg", where)
    if arg.text and cleaned.startswith(COMMAND_PREFIXES):
        raise InvalidAnswer("command_like_text", f"{where} starts with {cleaned[0]!r}")
    if not re.fullmatch(arg.pattern, cleaned):
        raise InvalidAnswer("bad_arg", f"{where}: {plain_text(cleaned, 60)!r}")
    return cleaned


def _check_args(spec, args):
    """Return the cleaned arguments of `spec` from `args`, or raise InvalidAnswer."""
    if not isinstance(args, dict):
        raise InvalidAnswer("bad_args", f"args is a {type(args).__name__}")
    unexpected = sorted(str(name) for name in args if spec.arg(name) is None)
    if unexpected:
        raise InvalidAnswer("unexpected_arg", f"{spec.name}: {', '.join(unexpected)}"[:200])
    cleaned = {}
    for arg in spec.args:
        value = args.get(arg.name)
        if value is None or (value == "" and not arg.required):
            if arg.required:
                raise InvalidAnswer("missing_arg", f"{spec.name}.{arg.name}")
            continue
        cleaned[arg.name] = _check_arg_value(spec.name, arg, value)
    return cleaned


def _build_command(spec, args):
    """Fill the template whose placeholders are exactly the given arguments."""
    for template, regex in zip(spec.templates, TEMPLATE_REGEXES[spec.name]):
        placeholders = set(re.findall(r"\{([a-z]+)\}", template))
        if placeholders == set(args):
            return template.format(**args), template, regex
    raise InvalidAnswer("render_mismatch", f"{spec.name}: no template for {sorted(args)}")


def render_command(decision):
    """Re-check a decision and return its command line (None for `wait`).

    Runs again right before a command is executed, so a Decision built by
    hand (or by the planner) passes the same gate as a model's answer.

    Args:
        decision (Decision): The decision to render.

    Returns:
        str or None: One line that starts with the template's fixed verb.

    Raises:
        InvalidAnswer: If the action, its arguments or the command do not
            match the allowlist and its templates.
    """
    spec = ACTIONS.get(decision.action)
    if spec is None:
        raise InvalidAnswer("unknown_action", plain_text(decision.action, 60))
    args = _check_args(spec, dict(decision.args))
    if not spec.templates:
        return None
    command, template, regex = _build_command(spec, args)
    verb = _template_verb(template)
    expected_start = args[verb[1:-1]] if verb.startswith("{") else verb
    single_line = len(command.splitlines()) == 1 and command == command.strip()
    if not (single_line and regex.fullmatch(command) and command.split(" ", 1)[0] == expected_start):
        raise InvalidAnswer("render_mismatch", f"{spec.name}: {plain_text(command, 80)!r}")
    return command


def validate(answer, allowed_actions):
    """Check a model's answer and turn it into a Decision.

    Args:
        answer (str or dict): The raw JSON text, or an already-parsed dict.
        allowed_actions (iterable of str): Action names this agent may use.

    Returns:
        Decision: With the command rendered from the action's template.

    Raises:
        InvalidAnswer: Naming the first problem (see the module docstring).
        ValueError: If `allowed_actions` names an action not in the allowlist.
    """
    allowed = _check_allowed(allowed_actions)
    data = parse_answer(answer)
    _check_keys(data)
    spec = _check_action(data["action"], allowed)
    args = _check_args(spec, data["args"])
    reason = data["reason"]
    if not isinstance(reason, str):
        raise InvalidAnswer("bad_reason", f"reason is a {type(reason).__name__}")
    decision = Decision(spec.name, args, plain_text(clean_text(reason), REASON_MAX_LENGTH))
    return replace(decision, command=render_command(decision))


def choice_schema(count):
    """The JSON schema for picking one of `count` numbered candidate plans."""
    if count < 1:
        raise ValueError("no candidates to choose from")
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "integer", "enum": list(range(1, count + 1))},
            "reason": {"type": "string", "maxLength": REASON_MAX_LENGTH},
        },
        "required": ["choice", "reason"],
        "additionalProperties": False,
    }


def validate_choice(answer, count):
    """Check an answer to `choice_schema(count)`.

    Args:
        answer (str or dict): The raw answer.
        count (int): How many candidates were offered.

    Returns:
        tuple: (index from 0, cleaned reason).

    Raises:
        InvalidAnswer: If it is not exactly {"choice": 1..count, "reason": str}.
    """
    data = parse_answer(answer)
    keys = set(data)
    if keys != {"choice", "reason"}:
        code = "missing_key" if not keys >= {"choice", "reason"} else "extra_key"
        raise InvalidAnswer(code, ", ".join(sorted(str(key) for key in keys))[:200])
    choice, reason = data["choice"], data["reason"]
    if isinstance(choice, bool) or not isinstance(choice, int) or not 1 <= choice <= count:
        raise InvalidAnswer("bad_choice", f"{plain_text(repr(choice), 40)} not in 1..{count}")
    if not isinstance(reason, str):
        raise InvalidAnswer("bad_reason", f"reason is a {type(reason).__name__}")
    return choice - 1, plain_text(clean_text(reason), REASON_MAX_LENGTH)
