"""
`who`, listing who is online without EvTable (world/whoonline.py says why).
"""

import time

import evennia
from evennia.commands.default.account import CmdWho as DefaultCmdWho

from world.whoonline import who_text


class CmdWho(DefaultCmdWho):
    """
    List who is online.

    Usage:
      who
      doing

    Shows every logged-in account, how long it has been connected and how
    long since its last command. Developers and Admins also see each
    session's character, room, command count, protocol and host; `doing`
    shows them the short list everyone else sees.

    Examples:
      who
      doing
    """

    def func(self):
        """List the sessions, with the session columns for the privileged."""
        account = self.account
        privileged = self.cmdstring != "doing" and account.check_permstring("Admin")  # Admin and above
        handler = evennia.SESSION_HANDLER
        self.msg(who_text(account, handler.get_sessions(), privileged, handler.account_count(), time.time()))
