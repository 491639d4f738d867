"""
`create` at the login screen, with the new password hashed off the reactor.

Evennia's command (the same name split, normalization note and yes/no
question), except that the account is made by `world.login.create_in_thread`:
the 0.27 s hash runs in a worker thread and the rest of Evennia's `create`
on the reactor when it is done. A second `create` on the same session while
one is under way is refused; the answer for a session that left meanwhile
is not shown (the account is made all the same: it was asked for). The
name and password echoed back are shown literally, never as colour or link
markup.
"""

from django.conf import settings
from evennia.commands.default.unloggedin import CmdUnconnectedCreate as EvenniaCreate
from evennia.utils import class_from_module
from evennia.utils.ansi import raw
from twisted.internet.defer import maybeDeferred

from commands.connect import name_and_password, still_connected, thread_failed
from world.login import create_in_thread

USAGE = ("\n Usage (without <>): create <name> <password>"
         "\nIf <name> or <password> contains spaces, enclose it in double quotes.")
NORMALIZED = ("Note: your username was normalized to strip spaces and remove characters "
              "that could be visually confusing.")
QUESTION = "You want to create an account '{name}' with password '{password}'.\nIs this what you intended? [Y]/N?"
ABORTED = "Aborted. If your user name contains spaces, surround it by quotes."
PENDING = "Your account is being created; a moment, please."
FAILED = "|RThe account could not be created; please try again.|n"
WELCOME = "A new account '{name}' was created. Welcome!\n\nYou can now log in with the command 'connect {login}'."


class CmdUnconnectedCreate(EvenniaCreate):
    __doc__ = EvenniaCreate.__doc__  # the help entry stays Evennia's

    def func(self):
        """Ask for confirmation, then make the account with its hash made in a thread."""
        session = self.caller
        parts = name_and_password(self.args)
        if len(parts) != 2:
            session.msg(USAGE)
            return
        if session.ndb.create_pending:
            session.msg(PENDING)
            return
        account_class = class_from_module(settings.BASE_ACCOUNT_TYPECLASS)
        username, password = account_class.normalize_username(parts[0]), parts[1]
        if username != parts[0]:
            session.msg(NORMALIZED)
        answer = yield QUESTION.format(name=raw(username), password=raw(password))  # typed text shown literally
        if answer.lower() in ("n", "no"):
            session.msg(ABORTED)
            return
        if session.ndb.create_pending:  # another create was confirmed while this one asked
            session.msg(PENDING)
            return
        session.ndb.create_pending = True
        made = maybeDeferred(create_in_thread, account_class, username, password, ip=session.address)
        made.addCallback(_report_created, session, username)
        made.addErrback(thread_failed, session, "create_pending", "create: the account could not be made", FAILED)


def _report_created(result, session, username):
    """Tell the session whether its account was made (on the reactor)."""
    session.ndb.create_pending = False
    account, errors = result
    if not still_connected(session):
        return
    if account:
        login = f'"{username}" <your password>' if " " in username else f"{username} <your password>"
        session.msg(WELCOME.format(name=raw(username), login=raw(login)))
    else:
        session.msg("|R%s|n" % "\n".join(errors))
