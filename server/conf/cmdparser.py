"""
The game's command parser: Evennia's, on the commands that can match.

settings.COMMAND_PARSER points here. Parsing is exactly Evennia's
(`evennia.commands.cmdparser.cmdparser`), run on the commands of the merged
set that could match the line at all (commands/parseindex.py: the same
result without trying every name of every command). Before it, the merged
set is kept on the caller, so Evennia's merge cache still holds it at the
caller's next command (commands/mergekeeper.py).
"""

from evennia.commands.cmdparser import cmdparser as evennia_cmdparser

from commands.mergekeeper import keep_merged_cmdset
from commands.parseindex import candidate_commands


def cmdparser(raw_string, cmdset, caller, match_index=None):
    """Match `raw_string` against `cmdset` (Evennia's parser, on the candidates) and keep the set.

    Args:
        raw_string (str): What the caller typed.
        cmdset (CmdSet): The merged, currently valid command set.
        caller (Session, Account or Object): Who typed it.
        match_index (int, optional): Which of several same-named matches.

    Returns:
        list: Evennia's matches, `[(cmdname, args, cmdobj, cmdlen, mratio, raw_cmdname), ...]`.
    """
    keep_merged_cmdset(caller, cmdset)
    return evennia_cmdparser(raw_string, candidate_commands(raw_string, cmdset), caller, match_index=match_index)
