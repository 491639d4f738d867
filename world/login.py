"""
Logging in and creating an account without stopping the world: the password hash is made in a thread.

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

`create_in_thread` does the same for `create` at the login screen: the new
password is hashed in a thread (`world/passwords.py`) and Evennia's own
`create` then runs on the reactor with that hash.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from evennia.accounts.accounts import LOGIN_THROTTLE
from evennia.accounts.models import AccountDB
from evennia.server.signals import SIGNAL_ACCOUNT_POST_LOGIN_FAIL
from evennia.utils import logger
from twisted.internet.defer import succeed
from twisted.internet.threads import deferToThread

from world.passwords import hash_in_thread, prehashed, verify_password

THROTTLED = "Too many login failures; please try again in a few minutes."
BANNED = ("|rYou have been banned and cannot continue from here."
          "\nIf you feel this ban is in error, please email an admin.|x")
INCORRECT = "Username and/or password is incorrect."


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


def new_account_errors(account_class, username, password):
    """What Evennia's `create` would refuse in the name or password (no hash needed), as messages."""
    valid, errors = account_class.validate_username(username)
    if not valid:
        return list(errors)
    valid, error = account_class.validate_password(password, account=account_class(username=username))
    return [] if valid else list(error.messages)


def create_in_thread(account_class, username, password, ip="", in_thread=None):
    """Evennia's `account_class.create`, with the password hashed off the reactor.

    A name or password Evennia would refuse is refused at once, without a
    hash; otherwise the hash is made in a worker thread and, back on the
    reactor, Evennia's `create` runs (every check again, the throttle, bans,
    channels, the character) storing that hash instead of making one.

    Args:
        account_class (type): The Account typeclass.
        username (str): The name, already normalized.
        password (str): The password typed.
        ip (str, optional): The client's address (throttle, logs).
        in_thread (callable, optional): As for `authenticate_in_thread`.

    Returns:
        Deferred: Fires with (account or None, list of error messages).
    """
    errors = new_account_errors(account_class, username, password)
    if errors:
        return succeed((None, errors))
    hashed = hash_in_thread(password, in_thread=in_thread)
    hashed.addCallback(_create_hashed, account_class, username, password, ip)
    return hashed


def _create_hashed(encoded, account_class, username, password, ip):
    """Back on the reactor: Evennia's `create`, storing the hash made in the thread."""
    with prehashed(password, encoded):
        return account_class.create(username=username, password=password, ip=ip)
