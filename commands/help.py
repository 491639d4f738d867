"""
Evennia's `help`, on a copy of the command set it lists.

Evennia's CmdHelp calls `make_unique()` on the merged command set the
command was found in, which removes same-named commands from that set in
place. Evennia throws a merged set away after each command, but the game
keeps and reuses it (commands/mergekeeper.py, commands/mergememo.py): without
the copy, after `help` two exits or objects offering the same command would
no longer be told apart ("More than one match") until the merge was redone.
"""

from evennia import CmdSet, default_cmds

from commands.cmdsetindex import NameIndexedCmdSet


class CmdHelp(default_cmds.CmdHelp):
    __doc__ = default_cmds.CmdHelp.__doc__  # the help entry stays Evennia's

    def collect_topics(self, caller, mode="list"):
        """Evennia's topics, collected from a copy of `self.cmdset` (see the module)."""
        if isinstance(self.cmdset, CmdSet):
            self.cmdset = NameIndexedCmdSet.copy_of(self.cmdset)
        return super().collect_topics(caller, mode=mode)
