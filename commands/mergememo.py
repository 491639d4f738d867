"""
Remembering the command-set merges Evennia repeats for every command.

Before each command, `cmdhandler.get_and_merge_cmdsets` merges the current
sets of the Session, the Account and the Character one onto another,
starting from a fresh empty `CmdSet()` (`current_cmdset + current`), only to
hand the result to the providers' `at_cmdset_get()` and `get_cmdsets()`.
Its merge cache does not cover these three merges, so every command paid
for them again: 0.12 ms of the 1.1 ms a dummy player's command costs the
Server under bench/latency.py's load.

A merge's result depends only on the two sets' commands and their options,
so each `NameIndexedCmdSet` (commands/cmdsetindex.py) keeps the results of
its last few merges, keyed by a fingerprint of both sides (`fingerprint`),
and answers a repeated merge with the same result object. Each step of the
chain then gives the same object every time, so the next step hits too.

What the fingerprint sees: which set (its identity, unless it is empty),
its command lists (identity and length; `NameIndexedCmdSet` also counts
every assignment of `commands`, which `add()` and `remove()` end with) and
every option a merge reads or copies, the object the set sits on by
identity (a merge copies the reference; hashing a database object is a
Django call, a tenth of the lookup's cost). An entry holds the sets and
lists it was keyed on, and through them that object, so none of their ids
can be reused while it lives. What it
cannot see, like Evennia's own merge cache and commands/mergekeeper.py, is a
command swapped inside a list in place at the same length; nothing in this
game does that. A result is shared by everyone whose merge gives it. Evennia
sets `merged_from` on a final merge (to the same value each time) and its
`help` de-duplicates the set it was found in (the game's `help` works on a
copy, commands/help.py); should anything still change a result's commands,
the entry is not used again and the merge is redone.
"""

from collections import OrderedDict

MEMO_SIZE = 4  # merges remembered per set: enough for a chain and one change
_MEMO_ATTRIBUTE = "_merge_memo"


def fingerprint(cmdset):
    """What a merge reads from `cmdset`, as a hashable key.

    Args:
        cmdset (CmdSet): Either side of a merge.

    Returns:
        tuple: Equal for two states of a set whose merges give equal results.
    """
    commands, system = cmdset.commands, cmdset.system_commands
    identity = (id(cmdset), id(commands), id(system)) if commands or system else None
    options = tuple(id(value) if name == "cmdsetobj" else value
                    for name, value in ((name, getattr(cmdset, name)) for name in cmdset.to_duplicate))
    return (identity, len(commands), len(system), getattr(cmdset, "commands_version", None), options,
            tuple(sorted(cmdset.key_mergetypes.items())))


def _held(cmdset, itself=True):
    """What an entry keeps alive so the ids in its key stay unique (the owner holds the memo itself)."""
    lists = (cmdset.commands, cmdset.system_commands)
    return (cmdset,) + lists if itself else lists


def _state_of(result):
    """How `result`'s commands stood when it was remembered (a change in place means: merge again)."""
    return (id(result.commands), len(result.commands), getattr(result, "commands_version", None))


def remembered_merge(owner, kind, other, merge):
    """The result of merging `other` with `owner`, computed at most once per state.

    Args:
        owner (CmdSet): The set that keeps the memo (the merge's own operand).
        kind (str): Which operation ("add" or "radd"), part of the key.
        other (CmdSet): The other operand.
        merge (callable): Computes the result when it is not remembered.

    Returns:
        CmdSet: The merged set (the remembered object on a hit).
    """
    key = (kind, fingerprint(owner), fingerprint(other))
    memo = owner.__dict__.get(_MEMO_ATTRIBUTE)
    if memo is None:
        memo = owner.__dict__[_MEMO_ATTRIBUTE] = OrderedDict()
    try:
        entry = memo.get(key)
    except TypeError:  # an unhashable option: just merge
        return merge()
    if entry is not None and entry[2] == _state_of(entry[1]):
        memo.move_to_end(key)
        return entry[1]
    result = merge()
    memo[key] = ((_held(owner, itself=False), _held(other)), result, _state_of(result))
    while len(memo) > MEMO_SIZE:
        memo.popitem(last=False)
    return result
