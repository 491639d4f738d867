"""
Logging in without stopping the world: the password hash is checked in a thread.

Evennia 5.0.1 checks a `connect` password on the reactor (`DefaultAccount.
authenticate` -> Django's `check_password`). With Django's PBKDF2 (a million
iterations, on purpose) that is about 0.27 s in which the Server does
nothing else: every agent connecting or reconnecting, and every operator
logging in, froze everyone's commands (the latency benchmark's lag probe
showed one 0.27 s stall per login, and 1.1 s when the five agents started).

`authenticate_in_thread` follows Evennia's `authenticate` step by step (the
login throttle, bans, the case-insensitive name lookup of Evennia's auth
backend, the failure hooks and security log lines), on the reactor, except
for the hash: the account's stored hash and the typed password go to a
worker thread as two strings (`verify_password`, no ORM there), and the
answer comes back to the reactor. A hash stored with outdated parameters is
re-made in the same thread and saved on the reactor, as Django's
`check_password` setter would. Like Evennia's backend, an unknown name is
refused without hashing anything.
"""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext as _
from evennia.accounts.accounts import LOGIN_THROTTLE
from evennia.accounts.models import AccountDB
from evennia.server.signals import SIGNAL_ACCOUNT_POST_LOGIN_FAIL
from evennia.utils import logger
from twisted.internet.defer import succeed
from twisted.internet.threads import deferToThread

THROTTLED = "Too many login failures; please try again in a few minutes."
BANNED = ("|rYou have been banned and cannot continue from here."
          "\nIf you feel this ban is in error, please email an admin.|x")
INCORRECT = "Username and/or password is incorrect."


def verify_password(raw_password, encoded):
    """Check `raw_password` against the stored hash `encoded`; safe in any thread (no ORM).

    Returns:
        tuple: (correct, new_encoded): `new_encoded` is a fresh hash when the
        stored one used outdated parameters and the password was correct,
        else None.
    """
    renewed = []
    correct = check_password(raw_password, encoded, setter=lambda raw: renewed.append(make_password(raw)))
    return correct, (renewed[0] if renewed else None)


def account_named(username):
    """The account whose name is `username`, ignoring case (Evennia's auth backend), or None."""
    try:
        return AccountDB.objects.get(username__iexact=username)
    except (AccountDB.DoesNotExist, AccountDB.MultipleObjectsReturned):
        return None


def authenticate_in_thread(account_class, username, password, ip="", session=None, in_thread=None):
    """Evennia's `account_class.authenticate`, with the hash checked off the reactor.

    Args:
        account_class (type): The Account typeclass (for its ban check).
        username (str): The name typed.
        password (str): The password typed.
        ip (str, optional): The client's address, for the throttle and the logs.
        session (Session, optional): The session logging in (failure hooks).
        in_thread (callable, optional): Runs a function in a worker thread
            and returns a Deferred of its result (default: Twisted's
            `deferToThread`, looked up at call time so tests can replace it).

    Returns:
        Deferred: Fires with (account or None, list of error messages).
    """
    ip = str(ip) if ip else ""
    if ip and LOGIN_THROTTLE.check(ip):
        return succeed((None, [_(THROTTLED)]))
    if account_class.is_banned(username=username, ip=ip):
        logger.log_sec(f"Authentication Denied (Banned): {username} (IP: {ip}).")
        LOGIN_THROTTLE.update(ip, "Too many sightings of banned artifact.")
        return succeed((None, [_(BANNED)]))
    account = account_named(username)
    if account is None:
        return succeed(_refused(username, ip, session))
    stored = account.password
    checked = (in_thread or deferToThread)(verify_password, password, stored)
    checked.addCallback(_answered, account, stored, username, ip, session)
    return checked


def _answered(result, account, stored, username, ip, session):
    """Back on the reactor: finish a login whose hash was checked."""
    correct, renewed = result
    if not correct:
        return _refused(username, ip, session)
    if renewed and account.password == stored:
        account.password = renewed
        account.save(update_fields=["password"])
    account.backend = settings.AUTHENTICATION_BACKENDS[0]  # what Django's authenticate() sets
    logger.log_sec(f"Authentication Success: {account} (IP: {ip}).")
    return account, []


def _refused(username, ip, session):
    """Evennia's failure path: log, throttle, the account's failed-login hook."""
    logger.log_sec(f"Authentication Failure: {username} (IP: {ip}).")
    if ip:
        LOGIN_THROTTLE.update(ip, _("Too many authentication failures."))
    account = AccountDB.objects.get_account_from_name(username) if session else None
    if account:
        SIGNAL_ACCOUNT_POST_LOGIN_FAIL.send(sender=account, session=session)
        account.at_failed_login(session)
    return None, [_(INCORRECT)]
