"""
Keeping a caller's merged command set alive from one command to the next.

Before every line a player types, Evennia merges the Session's, Account's,
Character's and the nearby objects' command sets into one
(cmdhandler.get_and_merge_cmdsets). It caches the result keyed by the
identities of the sets merged, but in a WeakValueDictionary: nothing else
holds the merged set once the command has run, so the entry is gone before
the next command and every command merges again (half of a `look`'s cost
on the Server with 100 players, bench/latency.py).

The game's command parser (server/conf/cmdparser.py, settings.COMMAND_PARSER)
is handed that merged set for every command; it keeps a reference to it in
the caller's `ndb` (a cache, never saved), so Evennia's own cache answers
the caller's next command while nothing changed around them.

Why the cache stays right: its key is the `id()` of every set merged, and
the merged set keeps those sets alive (`merged_from`), so no new set can
take one of their ids while the entry lives. Evennia's ways of changing
what a caller has (`CmdSetHandler.add/remove`, the stack rebuilt on
reload, a new exit set when an exit changes, moving to another room) all
change which set objects are in the list: another key, a fresh merge, and
the kept set is replaced. What the key cannot see is a set changed in
place while it sits in a stack (a command added to an existing set
instance); nothing in this game does that, and such code should add a new
set instead. A merged set holds no per-caller state: locks are checked on
each command when it is parsed.
"""

_NDB_KEY = "_merged_cmdset"


def keep_merged_cmdset(caller, cmdset):
    """Hold `cmdset` (a merged set) on `caller` until its next command.

    Args:
        caller (Session, Account or Object): Who typed the command.
        cmdset (CmdSet): The merged set the command is parsed against.
    """
    holder = getattr(caller, "ndb", None)
    if holder is not None:
        setattr(holder, _NDB_KEY, cmdset)


def kept_merged_cmdset(caller):
    """The merged set kept on `caller` (None if there is none)."""
    holder = getattr(caller, "ndb", None)
    return getattr(holder, _NDB_KEY, None) if holder is not None else None
