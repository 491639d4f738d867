"""
Exits: the paths between regions.
"""

from evennia.objects.objects import DefaultExit

from commands.cmdsetindex import NameIndexedCmdSet

from .objects import ObjectParent


class Exit(ObjectParent, DefaultExit):
    """A path from one region to another."""

    def create_exit_cmdset(self, exidbobj):
        """The exit's command set, indexed by name (commands/cmdsetindex.py).

        Each `look` or other command merges every exit's set onto the
        Character's: a stock exit set answers each of the Character's ~90
        commands by scanning, this one by a set lookup.
        """
        return NameIndexedCmdSet.copy_of(super().create_exit_cmdset(exidbobj))
