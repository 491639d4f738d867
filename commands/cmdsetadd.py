"""
`CmdSet.add()` with Evennia's result, in linear time.

Evennia's `add()` (5.0.1) removes the commands equal to each new one by
scanning the set (`list.count`, `list.remove`: a `Command.__eq__` per
command) and then, unless duplicates are allowed, runs the whole list
through `set()`. Every command hashes alike (`Command.__hash__` is a
constant), so that `set()` compares each command with every earlier one:
building the Character's set of about 70 commands took 12 ms, paid for every
character created, loaded or puppeted, and in every test.

Here the equals are found by name (two commands are equal in Evennia exactly
when their names intersect) and the set's reordering is reproduced instead
of recomputed: when the commands are pairwise unequal, `list(set(commands))`
visits them in an order that depends only on their number and their common
hash (every insert follows the same probe sequence to the first free
slot), so it is worked out once per length on placeholder objects with
that hash. Whenever a case is outside what this reasons about (a command
class with its own `__eq__` or `__hash__`, commands that are not pairwise
unequal, a command without names, a whole cmdset added), Evennia's own
`add()` runs.
"""

from evennia.commands.command import Command
from evennia.utils.utils import inherits_from, is_iter

_SET_ORDERS = {}


class _Placeholder:
    """An object with a given hash, equal only to itself (like unequal commands)."""

    __slots__ = ("_hash",)

    def __init__(self, hash_value):
        self._hash = hash_value

    def __hash__(self):
        return self._hash


def set_order(count, hash_value):
    """Positions, in `list(set(items))` order, of `count` pairwise unequal items hashing to `hash_value`."""
    key = (count, hash_value)
    order = _SET_ORDERS.get(key)
    if order is None:
        placeholders = [_Placeholder(hash_value) for _ in range(count)]
        position = {id(item): index for index, item in enumerate(placeholders)}
        order = _SET_ORDERS[key] = tuple(position[id(item)] for item in set(placeholders))
    return order


def _plain(commands):
    """True if every command compares and hashes the way Command does and has names."""
    return all(
        type(cmd).__eq__ is Command.__eq__ and type(cmd).__hash__ is Command.__hash__ and cmd._matchset
        for cmd in commands
    )


def _pairwise_unequal(commands):
    """True if no two entries share a name and no command appears twice."""
    if len({id(cmd) for cmd in commands}) != len(commands):
        return False
    names = frozenset().union(*(cmd._matchset for cmd in commands))
    return len(names) == sum(len(cmd._matchset) for cmd in commands)


def _replace(commands, cmd):
    """`commands` without those equal to `cmd` (Evennia's count/remove), then `cmd`."""
    names = cmd._matchset
    kept = [other for other in commands if names.isdisjoint(other._matchset)]
    kept.append(cmd)
    return kept


def add_commands(cmdset, cmd, allow_duplicates, stock_add):
    """Add `cmd` (a command, commands or a cmdset) to `cmdset` the way `stock_add` would.

    Args:
        cmdset (CmdSet): The set to add to.
        cmd (Command, list or CmdSet): What `CmdSet.add()` accepts.
        allow_duplicates (bool): Evennia's flag: skip the final de-duplication.
        stock_add (callable): Evennia's `add()` bound to `cmdset`, for the
            cases this does not reason about.
    """
    if inherits_from(cmd, "evennia.commands.cmdset.CmdSet"):
        return stock_add(cmd, allow_duplicates=allow_duplicates)  # rare; keeps Evennia's loop check
    new = [cmdset._instantiate(each) for each in cmd] if is_iter(cmd) else [cmdset._instantiate(cmd)]
    commands, system_commands = cmdset.commands, cmdset.system_commands
    if not _plain(new) or not _plain(commands) or not _plain(system_commands):
        return stock_add(new, allow_duplicates=allow_duplicates)
    for each in new:
        each.cmdset_source = cmdset
        if getattr(each, "obj", None) is None:
            each.obj = cmdset.cmdsetobj
        commands = _replace(commands, each)
        if each.key.startswith("__"):
            system_commands[:] = _replace(system_commands, each)
    if not allow_duplicates:
        commands = _deduplicated(commands)
    cmdset.commands = commands


def _deduplicated(commands):
    """`list(set(commands))`, reproduced in linear time when the commands are pairwise unequal."""
    if not commands or not _pairwise_unequal(commands):
        return list(set(commands))
    order = set_order(len(commands), hash(commands[0]))
    return [commands[index] for index in order]
