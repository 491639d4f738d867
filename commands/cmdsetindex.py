"""
Command sets that answer "is this command in me?" from an index of names.

Evennia merges the Session, Account and Character command sets (and those
of the exits and objects nearby) for a line a player types, whenever its
merge cache has nothing for that combination (cmdhandler.get_and_merge_cmdsets;
commands/mergekeeper.py keeps the cache useful). Each merge asks the higher-priority set, once per command of the other set,
whether it holds a command of that name: `CmdSet.__contains__` answers by
comparing the command with every command of the set (`Command.__eq__`, a
set intersection per pair) and remembers the answer in a WeakKeyDictionary
whose keys all hash alike (`Command.__hash__` is a constant), so each lookup
and insert walks every earlier entry too. With our commands added to the
defaults that came to about 12,000 comparisons per `look`, two thirds of
its cost on the Server (found by profiling the Server under
bench/latency.py's load).

`NameIndexedCmdSet` gives the same answer from the union of its commands'
keys and aliases: two commands are equal in Evennia exactly when their
name sets intersect, so "some command of mine equals `cmd`" is "my names
meet `cmd`'s names". The index is rebuilt whenever `commands` is assigned
(`add()` and `remove()` both end by assigning it) or its length changes.
A merge result is a copy of the higher-priority set's options
(`_duplicate()`), which Evennia makes a plain `CmdSet`; ours makes it a
`NameIndexedCmdSet`, so a merge onto the Account's or the Character's set,
or onto an exit's (typeclasses/exits.py), keeps answering from the index.

A stock set merged with ours (a contrib's, a `py`-added one such as the
dummyrunner's echo set) would otherwise bring the scan back: when it wins the
merge, the result is its plain copy, and every later merge asks that copy.
So `+` with a stock set on either side first copies the stock set into a
`NameIndexedCmdSet` (`__add__`, and `__radd__`, which Python calls before the
stock set's `__add__` because ours is a subclass): a copy of one small set,
not a scan of a hundred commands per command.

Every merge onto or with a `NameIndexedCmdSet` is remembered
(commands/mergememo.py): Evennia repeats three merges for every command
outside its merge cache, and a repeated merge now returns the same result.
`commands_version` counts assignments of `commands` for that memo.

`add()` itself was cubic in Evennia (a scan per command, then a `set()` of
constant-hash commands after each): commands/cmdsetadd.py gives the same
result in linear time.
"""

from evennia import CmdSet

from commands.cmdsetadd import add_commands
from commands.mergememo import remembered_merge


class NameIndexedCmdSet(CmdSet):
    """A CmdSet whose membership test is one set operation, not a scan."""

    @property
    def commands(self):
        """The commands of this set (assigning resets the name index)."""
        return self._indexed_commands

    @commands.setter
    def commands(self, value):
        self._indexed_commands = value
        self._name_index = None
        self.commands_version = getattr(self, "commands_version", 0) + 1

    def add(self, cmd, allow_duplicates=False):
        """Evennia's `add()` with the same result, in linear time (commands/cmdsetadd.py)."""
        add_commands(self, cmd, allow_duplicates, super().add)

    def command_names(self):
        """Every key and alias of this set's commands, as a frozenset."""
        index = self._name_index
        if index is None or index[0] != len(self._indexed_commands):
            names = frozenset().union(*(cmd._matchset for cmd in self._indexed_commands))
            index = self._name_index = (len(self._indexed_commands), names)
        return index[1]

    def _duplicate(self):
        """An empty NameIndexedCmdSet with this set's options (what a merge fills)."""
        cmdset = NameIndexedCmdSet()
        for key in self.to_duplicate:
            value = getattr(self, key)
            if value != getattr(cmdset, key):
                setattr(cmdset, key, value)
        cmdset.key_mergetypes = self.key_mergetypes.copy()
        return cmdset

    @classmethod
    def copy_of(cls, cmdset):
        """A NameIndexedCmdSet with `cmdset`'s options and commands."""
        copy = NameIndexedCmdSet._duplicate(cmdset)
        copy.commands = list(cmdset.commands)
        copy.system_commands = list(cmdset.system_commands)
        return copy

    def __add__(self, cmdset_a):
        """Merge `cmdset_a` onto this set (Evennia's rules; an indexed result, remembered)."""
        if not isinstance(cmdset_a, CmdSet) or not cmdset_a:
            return super().__add__(_indexed(cmdset_a))
        return remembered_merge(self, "add", cmdset_a, lambda: super(NameIndexedCmdSet, self).__add__(_indexed(cmdset_a)))

    def __radd__(self, cmdset_b):
        """Merge this set onto the stock set `cmdset_b` (Evennia's rules; an indexed result, remembered)."""
        if not isinstance(cmdset_b, CmdSet):
            return NotImplemented
        return remembered_merge(self, "radd", cmdset_b, lambda: CmdSet.__add__(NameIndexedCmdSet.copy_of(cmdset_b), self))

    def __contains__(self, othercmd):
        """True if a command of this set shares a key or alias with `othercmd`.

        Args:
            othercmd (Command or str): A command, or a command name.
        """
        names = getattr(othercmd, "_matchset", None)
        if names is None:
            return othercmd in self.command_names()
        return not self.command_names().isdisjoint(names)


def _indexed(cmdset):
    """`cmdset` itself if it is indexed (or empty/None), else an indexed copy of it."""
    if not cmdset or isinstance(cmdset, NameIndexedCmdSet):
        return cmdset
    return NameIndexedCmdSet.copy_of(cmdset)
