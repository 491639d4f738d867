"""
`password` and `userpassword`, with the hashes made off the reactor.

Evennia's commands (same syntax, locks and help), except that checking the
old password and hashing the new one run in a worker thread
(`world.passwords`), and the answer comes when they are done. Evennia
repeated each validation message once per message; here each is shown
once. Evennia's `password` also cut both passwords at the first comma (it
read them as comma-separated lists); here a password is taken whole. A
password echoed back (`userpassword`) is shown literally, never as colour
or link markup.
"""

from evennia.commands.default.account import CmdPassword as EvenniaPassword
from evennia.commands.default.admin import CmdNewPassword as EvenniaNewPassword
from evennia.utils import logger
from evennia.utils.ansi import raw

from world.passwords import change_password_in_thread, set_password_in_thread

FAILED = "|RThe password could not be changed; please try again.|n"


def _log_failure(failure, command):
    """The thread or the save broke: log it and say so plainly."""
    logger.log_err(f"{command.key}: the password change failed:\n{failure.getTraceback()}")
    command.msg(FAILED)


class CmdPassword(EvenniaPassword):
    __doc__ = EvenniaPassword.__doc__  # the help entry stays Evennia's

    def func(self):
        """Check the old password and hash the new one in a thread, then store it."""
        if not self.rhs:
            self.msg("Usage: password <oldpass> = <newpass>")
            return
        changing = change_password_in_thread(self.account, self.lhs, self.rhs)
        changing.addCallback(self._report)
        changing.addErrback(_log_failure, self)

    def _report(self, result):
        changed, reasons = result
        if not changed:
            self.msg("\n".join(reasons))
            return
        self.msg("Password changed.")
        logger.log_sec(f"Password Changed: {self.account} (Caller: {self.account}, IP: {self.session.address}).")


class CmdNewPassword(EvenniaNewPassword):
    __doc__ = EvenniaNewPassword.__doc__  # the help entry stays Evennia's

    def func(self):
        """Validate the new password, hash it in a thread, then store it."""
        if not self.rhs:
            self.msg("Usage: userpassword <user obj> = <new password>")
            return
        account = self.caller.search_account(self.lhs)
        if not account:
            return
        setting = set_password_in_thread(account, self.rhs)
        setting.addCallback(self._report, account)
        setting.addErrback(_log_failure, self)

    def _report(self, result, account):
        changed, reasons = result
        if not changed:
            self.msg("\n".join(reasons))
            return
        self.msg(f"{account.name} - new password set to '{raw(self.rhs)}'.")  # typed text shown literally
        if account.character != self.caller:
            account.msg(f"{self.caller.name} has changed your password to '{raw(self.rhs)}'.")
        logger.log_sec(f"Password Changed: {account} (Caller: {self.caller}, IP: {self.session.address}).")
