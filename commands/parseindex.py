"""
Which commands of a merged set can match a line at all.

Evennia's parser (`evennia.commands.cmdparser`) asks every command of the
merged set whether one of its names starts the line (`build_matches`, one to
three passes: the line as typed, the line without a `2-` style number, the
line without `CMD_IGNORE_PREFIXES`). With about 120 commands that is 0.12 ms
of the 1.1 ms a dummy player's command costs the Server under
bench/latency.py's load, on every command.

A name (lower-cased, with or without the ignored prefixes) only matches if
the line (lower-cased, in one of those three forms) starts with it, so the
two share their first character. The merged set is indexed once by the first
characters of its commands' names, and the game's parser
(server/conf/cmdparser.py) hands Evennia's parser only the commands filed
under the line's first characters, in the set's own order: Evennia's parser
then runs unchanged on a set that holds every command it could have matched,
and returns exactly what it returns on the whole set.

Kept whole: a command with an empty name (it matches any line) or with its
own `match()` (it may match anything). The index is rebuilt when the set's
command list is replaced or changes length; like commands/mergekeeper.py it
cannot see a command renamed in place (`set_key`) inside a merged set, which
nothing in this game does.
"""

from django.conf import settings
from evennia.commands.cmdparser import try_num_differentiators
from evennia.commands.command import Command

_IGNORE_PREFIXES = settings.CMD_IGNORE_PREFIXES
_INDEX_ATTRIBUTE = "_first_letter_index"
_ANY = None  # the index key of the commands that are candidates for every line


def _first_letters(cmd):
    """The first characters of `cmd`'s names as Evennia matches them, or {_ANY}."""
    if type(cmd).match is not Command.match:
        return {_ANY}
    names = list(cmd._keyaliases) + list(getattr(cmd, "_noprefix_aliases", {}))
    if not all(names):
        return {_ANY}
    return {name[0] for name in names}


def _build_index(commands):
    """{first letter or _ANY: [positions in `commands`]}."""
    index = {}
    for position, cmd in enumerate(commands):
        for letter in _first_letters(cmd):
            index.setdefault(letter, []).append(position)
    return index


def _index_of(cmdset, commands):
    """The index of `cmdset`, built or rebuilt when its command list changed."""
    token = (id(commands), len(commands), getattr(cmdset, "commands_version", None))
    kept = getattr(cmdset, _INDEX_ATTRIBUTE, None)
    if kept is None or kept[0] != token:
        kept = (token, commands, _build_index(commands))  # `commands` held so its id stays unique
        setattr(cmdset, _INDEX_ATTRIBUTE, kept)
    return kept[2]


def line_letters(raw_string):
    """The first characters of every form of the line Evennia's parser matches names against.

    Args:
        raw_string (str): The line as typed (already stripped by the command handler).

    Returns:
        set: One to three characters.
    """
    forms = [raw_string]
    number, without_number = try_num_differentiators(raw_string)
    if number is not None:
        forms.append(without_number)
    if _IGNORE_PREFIXES:
        for form in list(forms):
            forms.append(form.lstrip(_IGNORE_PREFIXES) if len(form) > 1 else form)
    return {form.lower()[:1] for form in forms}


def candidate_commands(raw_string, cmdset):
    """The commands of `cmdset` that could match `raw_string`, in the set's order.

    Args:
        raw_string (str): What the caller typed.
        cmdset (CmdSet): The merged command set.

    Returns:
        list: A sub-list of `list(cmdset)` that includes every command
        Evennia's parser could match against `raw_string`.
    """
    commands = cmdset.commands
    index = _index_of(cmdset, commands)
    positions = set(index.get(_ANY, ()))
    for letter in line_letters(raw_string):
        positions.update(index.get(letter, ()))
    return [commands[position] for position in sorted(positions)]
