"""
The game's command parser: Evennia's, plus keeping the merged command set.

settings.COMMAND_PARSER points here. Parsing is exactly Evennia's
(`evennia.commands.cmdparser.cmdparser`); before it, the merged set the
command is parsed against is kept on the caller, so Evennia's merge cache
still holds it at the caller's next command (commands/mergekeeper.py).
"""

from evennia.commands.cmdparser import cmdparser as evennia_cmdparser

from commands.mergekeeper import keep_merged_cmdset


def cmdparser(raw_string, cmdset, caller, match_index=None):
    """Match `raw_string` against `cmdset` (Evennia's parser) and keep the set.

    Args:
        raw_string (str): What the caller typed.
        cmdset (CmdSet): The merged, currently valid command set.
        caller (Session, Account or Object): Who typed it.
        match_index (int, optional): Which of several same-named matches.

    Returns:
        list: Evennia's matches, `[(cmdname, args, cmdobj, cmdlen, mratio, raw_cmdname), ...]`.
    """
    keep_merged_cmdset(caller, cmdset)
    return evennia_cmdparser(raw_string, cmdset, caller, match_index=match_index)
