"""
`connect` at the login screen, with the password checked off the reactor.

Evennia's command, except that the name and password go to
`world.login.authenticate_in_thread` and the login finishes when the answer
comes back: the 0.27 s password hash no longer stops the Server for
everyone else. A second `connect` on the same session while one is being
checked is refused, and an answer for a session that disconnected
meanwhile is dropped. `connect guest` stays Evennia's.
"""

import re

from django.conf import settings
from evennia.commands.default.unloggedin import CmdUnconnectedConnect as EvenniaConnect
from evennia.utils import class_from_module, logger

from world.login import authenticate_in_thread

USAGE = "\n\r Usage (without <>): connect <name> <password>"
PENDING = "Your login is being checked; a moment, please."
FAILED = "|RThe login could not be checked; please try again.|n"


def name_and_password(args):
    """Evennia's split of `connect` arguments: quoted parts, else name and the rest."""
    parts = [part.strip() for part in re.split(r"\"", args) if part.strip()]
    if len(parts) == 1:
        parts = parts[0].split(None, 1)
    return parts


class CmdUnconnectedConnect(EvenniaConnect):
    __doc__ = EvenniaConnect.__doc__  # the help entry stays Evennia's

    def func(self):
        """Check the name and password in a thread; log the session in when they are right."""
        session = self.caller
        parts = name_and_password(self.args)
        if len(parts) == 1 and parts[0].lower() == "guest":
            return super().func()
        if len(parts) != 2:
            session.msg(USAGE)
            return None
        if session.ndb.login_pending:
            session.msg(PENDING)
            return None
        session.ndb.login_pending = True
        account_class = class_from_module(settings.BASE_ACCOUNT_TYPECLASS)
        checked = authenticate_in_thread(account_class, parts[0], parts[1], ip=session.address, session=session)
        checked.addCallback(_finish_login, session)
        checked.addErrback(thread_failed, session, "login_pending", "connect: the password check failed", FAILED)
        return None


def still_connected(session):
    """True if `session` is still one of the Server's sessions."""
    from evennia.server.sessionhandler import SESSION_HANDLER

    return SESSION_HANDLER.get(session.sessid) is session


def _finish_login(result, session):
    """Log `session` in, or tell it why not (on the reactor)."""
    session.ndb.login_pending = False
    account, errors = result
    if not still_connected(session):
        return
    if account:
        session.sessionhandler.login(session, account)
    else:
        session.msg("|R%s|n" % "\n".join(errors))


def thread_failed(failure, session, pending, what, message):
    """Work for a login-screen command broke: log it, tell the player plainly, let them try again.

    Args:
        failure (Failure): What broke.
        session (Session): Who asked.
        pending (str): The session's `ndb` flag that kept a second try out; cleared.
        what (str): The log line's start (which command, what failed).
        message (str): What the player is told, if still connected.
    """
    setattr(session.ndb, pending, False)
    logger.log_err(f"{what}:\n{failure.getTraceback()}")
    if still_connected(session):
        session.msg(message)
