"""
Confirmation codes for destructive runs.

A destructive request gets a short random code, valid for
RECOVERY_CONFIRM_SECONDS, for the operator who asked and no one else. A
wrong, expired or another operator's code does nothing. Codes live in memory:
a reload forgets them (they last a minute anyway).
"""

import re
import secrets
import time
from dataclasses import dataclass

from world.recovery import config
from world.recovery.errors import ConfirmError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,16}$")

_PENDING = {}  # code -> Pending


@dataclass(frozen=True)
class Pending:
    """A destructive run waiting for its operator's confirmation."""

    code: str
    operator: str
    scenario: str
    target: str
    expires_at: float


def ask(operator, scenario, target, now=None):
    """Make a code for `operator` (replacing any code they had); return the Pending."""
    now = now or time.time()
    _forget(lambda pending: pending.operator == operator or pending.expires_at <= now)
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    pending = Pending(code, operator, scenario, target or "", now + config.seconds("RECOVERY_CONFIRM_SECONDS"))
    _PENDING[code] = pending
    return pending


def redeem(code, operator, now=None):
    """The Pending for `code` if it is this operator's and still valid (it is used up).

    Raises:
        ConfirmError: Wrong, expired or someone else's code; nothing is used up
            except an expired code of this operator.
    """
    now = now or time.time()
    code = (code or "").strip().upper()
    pending = _PENDING.get(code) if CODE_PATTERN.match(code) else None
    if pending is None or pending.operator != operator:
        raise ConfirmError("No recovery is waiting for your confirmation with that code.")
    del _PENDING[code]
    if pending.expires_at <= now:
        raise ConfirmError("That confirmation code has expired; run @recover again.")
    return pending


def clear():
    """Forget every pending confirmation (tests)."""
    _PENDING.clear()


def _forget(predicate):
    for code in [code for code, pending in _PENDING.items() if predicate(pending)]:
        del _PENDING[code]
