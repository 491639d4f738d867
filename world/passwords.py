"""
Password hashes made off the reactor, for `create`, `password`, `userpassword`
and the agents' accounts `@buildworld` makes.

Django's PBKDF2 takes about 0.27 s per hash, on purpose; Evennia 5.0.1 makes
it on the reactor when an account is created at the login screen, when a
player changes their password (twice: the old one checked, the new one
hashed) and when an admin sets one, and the whole Server waits meanwhile.
`connect` checks its hash in a thread (`verify_password` here, used by
`world/login.py`), and so does the rest:

- `hash_in_thread` makes the hash of a new password in a worker thread
  (a string in, a string out, no ORM there); `world.login.create_in_thread`
  uses it for `create`.
- `change_password_in_thread` (`password`) checks the old password and
  hashes the new one in one thread call (`check_and_hash`);
  `set_password_in_thread` (`userpassword`) hashes the new one. Both
  validate on the reactor first, store on the reactor after, refuse a
  second change of the same account while one is under way, and store
  nothing if the account's hash changed meanwhile.
- `prehashed(raw, encoded)` is a context manager: while it is open, the
  game's `Account.set_password(raw)` stores `encoded` instead of hashing
  `raw` again. Evennia's own steps (`Account.create`, its security log, the
  `at_password_change` hook) then run unchanged on the reactor, only
  without the hash. The mapping only ever holds a hash *of* its key, so
  whichever thread reads it stores a correct hash for that password.

- `hash_all_in_thread` hashes several passwords in one thread call and
  `all_prehashed` opens `prehashed` for each: `@buildworld` makes the
  agents' accounts (or sets a password the credentials file had lost) with
  them (world/builder.py `build_world_in_game`).

Left on the reactor: the build at the first start (`at_initial_setup`),
before anyone can be on, and `bin/timmy build`, which runs no reactor.
"""

import contextlib

from django.contrib.auth.hashers import check_password, make_password
from twisted.internet.defer import succeed
from twisted.internet.threads import deferToThread

OLD_WRONG = "The specified old password isn't correct."
PENDING = "A password change for this account is already under way; a moment, please."
CHANGED_MEANWHILE = "The password was changed meanwhile; nothing was done. Please try again."

_PREHASHED = {}


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


def hash_in_thread(raw_password, in_thread=None):
    """The hash of `raw_password`, made in a worker thread.

    Args:
        raw_password (str): The password typed.
        in_thread (callable, optional): Runs a function in a worker thread and
            returns a Deferred of its result (default: Twisted's `deferToThread`,
            looked up at call time so tests can replace it).

    Returns:
        Deferred: Fires with the encoded hash (str).
    """
    return (in_thread or deferToThread)(make_password, raw_password)


def hash_all(raw_passwords):
    """{raw: hash} for each of `raw_passwords`; safe in any thread (no ORM)."""
    return {raw: make_password(raw) for raw in raw_passwords}


def hash_all_in_thread(raw_passwords, in_thread=None):
    """`hash_all` in a worker thread; no thread at all when there is nothing to hash.

    Returns:
        Deferred: Fires with {raw: hash} (at once with {} for no passwords).
    """
    raw_passwords = list(raw_passwords)
    if not raw_passwords:
        return succeed({})
    return (in_thread or deferToThread)(hash_all, raw_passwords)


def check_and_hash(old_password, stored, new_password):
    """Check `old_password` against `stored`; if right, hash `new_password`. Safe in any thread.

    Args:
        old_password (str): The old password typed.
        stored (str): The account's stored hash.
        new_password (str or None): The new password; None hashes nothing.

    Returns:
        tuple: (old password correct, hash of the new one, or None when the old
        one was wrong or there is no new one).
    """
    correct, _renewed = verify_password(old_password, stored)
    return correct, (make_password(new_password) if correct and new_password is not None else None)


def check_and_hash_in_thread(old_password, stored, new_password, in_thread=None):
    """`check_and_hash` in a worker thread (see `hash_in_thread` for `in_thread`).

    Returns:
        Deferred: Fires with (old password correct, new hash or None).
    """
    return (in_thread or deferToThread)(check_and_hash, old_password, stored, new_password)


@contextlib.contextmanager
def prehashed(raw_password, encoded):
    """While open, `Account.set_password(raw_password)` stores `encoded` (a hash of it) instead of hashing."""
    _PREHASHED[raw_password] = encoded
    try:
        yield
    finally:
        _PREHASHED.pop(raw_password, None)


@contextlib.contextmanager
def all_prehashed(hashes):
    """`prehashed` for every (raw, encoded) pair of `hashes` ({raw: encoded}) at once."""
    with contextlib.ExitStack() as stack:
        for raw_password, encoded in hashes.items():
            stack.enter_context(prehashed(raw_password, encoded))
        yield


def prehashed_for(raw_password):
    """The hash `prehashed` holds for `raw_password`, or None."""
    return _PREHASHED.get(raw_password)


def store_hashed(account, raw_password, encoded):
    """Set `account`'s password to `raw_password` using its hash `encoded` (made in a thread), and save."""
    with prehashed(raw_password, encoded):
        account.set_password(raw_password)
    account.save(update_fields=["password"])


def change_password_in_thread(account, old_password, new_password, in_thread=None):
    """Evennia's `password` command's steps, with both hashes made in one worker thread.

    The new password is validated on the reactor (Django's validators, no
    hash); the old one is checked and the new one hashed in the thread (the
    new one only if the old one was right and the new one valid); back on
    the reactor the hash is stored, unless the stored hash changed meanwhile.
    One change per account at a time.

    Args:
        account (Account): Whose password.
        old_password (str): The old password typed.
        new_password (str): The new password typed.
        in_thread (callable, optional): As for `hash_in_thread`.

    Returns:
        Deferred: Fires with (changed, list of messages saying why not).
    """
    if account.ndb.password_pending:
        return succeed((False, [PENDING]))
    valid, error = account.validate_password(new_password)
    stored = account.password
    checked = check_and_hash_in_thread(old_password, stored, new_password if valid else None, in_thread=in_thread)
    checked.addCallback(_check_answered, account, stored, new_password, error)
    return _one_at_a_time(account, checked)


def _check_answered(result, account, stored, new_password, error):
    correct, encoded = result
    if not correct:
        return False, [OLD_WRONG]
    if error is not None:
        return False, list(error.messages)
    return _store_unless_changed(account, stored, new_password, encoded)


def set_password_in_thread(account, new_password, in_thread=None):
    """Evennia's `userpassword` steps: validate on the reactor, hash in a worker thread, store.

    Returns:
        Deferred: Fires with (changed, list of messages saying why not).
    """
    if account.ndb.password_pending:
        return succeed((False, [PENDING]))
    valid, error = account.validate_password(new_password)
    if not valid:
        return succeed((False, list(error.messages)))
    stored = account.password
    hashed = hash_in_thread(new_password, in_thread=in_thread)
    hashed.addCallback(lambda encoded: _store_unless_changed(account, stored, new_password, encoded))
    return _one_at_a_time(account, hashed)


def _store_unless_changed(account, stored, new_password, encoded):
    if account.password != stored:
        return False, [CHANGED_MEANWHILE]
    store_hashed(account, new_password, encoded)
    return True, []


def _one_at_a_time(account, deferred):
    """Mark `account` as having a change under way until `deferred` fires, either way."""
    account.ndb.password_pending = True

    def done(result):
        account.ndb.password_pending = False
        return result

    return deferred.addBoth(done)
