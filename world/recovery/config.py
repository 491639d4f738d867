"""
Recovery settings, read in one place, and the command allowlist.

`RECOVERY_COMMANDS` maps a command name to an argv template:

    RECOVERY_COMMANDS = {
        "restart_ollama": {"argv": ["systemctl", "restart", "ollama"], "timeout": 60},
        "restart_agent": {"argv": ["systemctl", "restart", "timmy-agent@{target}"], "timeout": 30},
    }

An argv is a list of strings, run without a shell. `{target}` is the only
placeholder; it may appear in any argument but the program, and its value
must match ARGUMENT_PATTERN (no leading '-', no '/', no shell metacharacters)
before it is substituted. `destructive: True` makes a command need an Admin
and a confirmation every time. A command that is not configured is reported
as such by the step that needs it, and the playbook escalates.
"""

import os
import re
import string
import sys
from dataclasses import dataclass

from django.conf import settings

ARGUMENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
PLACEHOLDERS = ("target",)
MAX_TIMEOUT = 3600.0
DEFAULT_TIMEOUT = 60.0

DEFAULTS = {
    "RECOVERY_CONFIRM_SECONDS": 60,
    "RECOVERY_AUTO_LIMIT": 3,
    "RECOVERY_AUTO_WINDOW": 3600,
    "RECOVERY_OUTPUT_LIMIT": 64 * 1024,
    "RECOVERY_SERVICE_WAIT": 60,
    "RECOVERY_AGENT_WAIT": 90,
    "RECOVERY_AGENT_RESTART_GRACE": 15,
    "RECOVERY_ORPHAN_WAIT": 600,
    "RECOVERY_OUTBOX_WAIT": 20,
    "RECOVERY_POLL_INTERVAL": 2.0,
    "RECOVERY_AGENT_STALE_AFTER": 300,
    "RECOVERY_SERVICE_PLAYBOOKS": {"ollama": "ollama", "gitea": "gitea", "agents": "agent"},
}


class RecoveryConfigError(ValueError):
    """A RECOVERY_* setting is malformed; the message names it."""


class ArgumentRejected(ValueError):
    """A value offered for a placeholder is not a safe argument."""


def setting(name):
    """A RECOVERY_* setting, or its default when settings.py does not set it."""
    return getattr(settings, name, DEFAULTS[name])


def seconds(name):
    """A RECOVERY_* duration as a float."""
    return float(setting(name))


def agent_run_dir():
    """Where the agent supervisor keeps its pid files (agents/run/)."""
    return getattr(settings, "RECOVERY_AGENT_RUN_DIR", None) or os.path.join(settings.GAME_DIR, "agents", "run")


def builtin_commands():
    """Commands that need no configuration: the documented CLI of this repository."""
    timmy = os.path.join(settings.GAME_DIR, "bin", "timmy")
    return {"start_agents": {"argv": [sys.executable, timmy, "agents", "start"], "timeout": 60}}


@dataclass(frozen=True)
class CommandSpec:
    """One allowlisted command."""

    name: str
    argv: tuple
    timeout: float = DEFAULT_TIMEOUT
    destructive: bool = False

    def render(self, target=None):
        """The argv with `{target}` substituted (validated first).

        Raises:
            ArgumentRejected: The value is not a safe argument.
            RecoveryConfigError: The template needs a value that was not given.
        """
        if target is not None:
            check_argument(target)
        return [self.argv[0]] + [_substitute(self.name, part, target) for part in self.argv[1:]]

    @property
    def needs_target(self):
        return any("{target}" in part for part in self.argv[1:])


def check_argument(value):
    """Raise ArgumentRejected unless `value` is a safe single argument."""
    if not isinstance(value, str) or not ARGUMENT_PATTERN.match(value):
        raise ArgumentRejected(
            "an argument must be 1-64 letters, digits, '.', '_', ':' or '-', not starting with '-' or '.'"
        )
    return value


def _substitute(name, part, target):
    fields = _fields(name, part)
    if not fields:
        return part
    if target is None:
        raise RecoveryConfigError(f"RECOVERY_COMMANDS['{name}'] needs a target and none was given")
    return part.replace("{target}", target)


def _fields(name, part):
    """The placeholders in one argument; only a bare `{target}` is allowed."""
    try:
        parsed = list(string.Formatter().parse(part))
    except ValueError as err:
        raise RecoveryConfigError(f"RECOVERY_COMMANDS['{name}']: bad argument {part!r} ({err})")
    fields = [field for _text, field, spec, conversion in parsed if field is not None]
    for _text, field, spec, conversion in parsed:
        if field is not None and (field not in PLACEHOLDERS or spec or conversion):
            raise RecoveryConfigError(
                f"RECOVERY_COMMANDS['{name}']: unknown placeholder {{{field}}} (only {{target}} is allowed)"
            )
    return fields


def parse_command(name, entry):
    """Validate one RECOVERY_COMMANDS entry; return a CommandSpec.

    Raises:
        RecoveryConfigError: Naming the entry and what is wrong.
    """
    label = f"RECOVERY_COMMANDS['{name}']"
    if not isinstance(entry, dict):
        raise RecoveryConfigError(f"{label} must be a dict with 'argv'")
    unknown = set(entry) - {"argv", "timeout", "destructive"}
    if unknown:
        raise RecoveryConfigError(f"{label}: unknown field(s) {', '.join(sorted(unknown))}")
    argv = entry.get("argv")
    if (not isinstance(argv, (list, tuple)) or not argv
            or not all(isinstance(part, str) and part and "\x00" not in part for part in argv)):
        raise RecoveryConfigError(f"{label}: 'argv' must be a non-empty list of non-empty strings")
    if _fields(name, argv[0]):
        raise RecoveryConfigError(f"{label}: the program (argv[0]) cannot be a placeholder")
    for part in argv[1:]:
        _fields(name, part)
    timeout = entry.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
        raise RecoveryConfigError(f"{label}: 'timeout' must be a number of seconds in (0, {MAX_TIMEOUT:.0f}]")
    return CommandSpec(name, tuple(argv), float(timeout), bool(entry.get("destructive", False)))


def command(name):
    """The CommandSpec called `name`, or None when it is not configured.

    Raises:
        RecoveryConfigError: The entry exists but is malformed.
    """
    entries = dict(builtin_commands())
    entries.update(getattr(settings, "RECOVERY_COMMANDS", None) or {})
    entry = entries.get(name)
    if entry is None:
        return None
    return parse_command(name, entry)


def check_all():
    """Validate every configured command; return a list of problems (empty = fine)."""
    problems = []
    for name, entry in (getattr(settings, "RECOVERY_COMMANDS", None) or {}).items():
        if entry is None:
            continue
        try:
            parse_command(name, entry)
        except RecoveryConfigError as err:
            problems.append(str(err))
    return problems
