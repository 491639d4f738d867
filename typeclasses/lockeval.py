"""
Lock checks without compiling Python on every check, for every typeclass of the game.

Evennia 5.0.1 parses a lock such as `call:false()` once, into an expression
with a placeholder per lock function (`"%s"`, `"not %s or %s"`). Every check
then runs the functions, puts their results into the expression and hands
the text to `eval()`, which compiles it anew each time: about 8 us a check,
and a command runs several (the `call` lock of everything in the room when
the command sets are gathered, then `view`, `search`, `cmd`). In the live
Server with 100 players that `eval()` was about a twelfth of the Server's
busy time (README, "Latency").

Here the parsed expression is a `LockExpression`: the same text, whose `%`
returns the compiled code for the filled-in text, kept once compiled
(expressions hold only `True`, `False`, `and`, `or`, `not` and parentheses,
so the distinct texts are few). Evennia's own `check()` runs unchanged and
`eval()` of compiled code gives the same answer. A lockstring is also parsed
only once per process (see `QuickLockHandler`), and a lock made only of
constant functions (`all()`, `false()`, ...) is answered without running
the check at all (`QuickLockHandler.check`). The game's base typeclasses
(objects through `ObjectParent`, Scripts, Accounts, Channels) mix it in.
"""

from collections import OrderedDict
from functools import lru_cache

from evennia.locks import lockfuncs
from evennia.locks.lockhandler import LockHandler
from evennia.utils.utils import lazy_property

# Evennia's lock functions whose answer does not depend on who asks or what is asked
CONSTANT_LOCKFUNCS = {lockfuncs.true: True, lockfuncs.all: True, lockfuncs.false: False, lockfuncs.none: False}


@lru_cache(maxsize=4096)
def compiled(expression):
    """The code of one filled-in lock expression such as `"True and not False"`."""
    return compile(expression, "<lock>", "eval")


class LockExpression(str):
    """A parsed lock's expression whose `%` (filling in the results) gives compiled code."""

    __slots__ = ()

    def __mod__(self, results):
        return compiled(str.__mod__(self, results))


# lockstring -> its parsed locks, the least recently used dropped beyond the limit
_PARSED = OrderedDict()
PARSED_LIMIT = 4096


class QuickLockHandler(LockHandler):
    """Evennia's lock handler with its parsed expressions made `LockExpression`s.

    A lockstring is parsed once per process: the parse (regular expressions,
    the lock functions looked up, a trial `eval()`) depends on the text
    alone, and code checks the same few strings over and over through
    `check_lockstring` (Evennia's `get_extra_display_name_info` parses
    `"perm(Builder)"` for every `look`). Each caller gets its own dict, as
    the handler deletes from its own in place; the parsed entries are
    shared and never changed. The cache is bounded and drops the string
    used least recently, so the strings every object loads once (with its
    own dbref in them) cannot crowd out the few checked on every command.
    A string that fails to parse is not kept, so
    it fails (and is logged) every time, as in Evennia; the warning Evennia
    logs for an access type given twice in one string comes only with its
    first parse.
    """

    def __init__(self, obj):
        self._constants = {}  # (access type, default) -> (the parsed entry, its answer for anyone or None)
        super().__init__(obj)

    def _parse_lockstring(self, storage_lockstring):
        parsed = _PARSED.get(storage_lockstring)
        if parsed is None:
            locks = super()._parse_lockstring(storage_lockstring)
            parsed = _PARSED[storage_lockstring] = {
                access_type: (LockExpression(expression), functions, raw)
                for access_type, (expression, functions, raw) in locks.items()
            }
            while len(_PARSED) > PARSED_LIMIT:
                _PARSED.popitem(last=False)
        else:
            _PARSED.move_to_end(storage_lockstring)
        return dict(parsed)

    def check(self, accessing_obj, access_type, default=False, no_superuser_bypass=False):
        """Evennia's check, answered at once when the lock's answer cannot depend on who asks.

        A lock made only of constant functions (`all()`, `false()`, ...),
        or an access type without a lock, has one answer for everyone:
        a True one is returned as is, a False one too when the superuser
        may not bypass it. Everything else goes through Evennia's check.
        Every character has `call:false()`, which the command handler
        checks (without bypass) for every object in the room on every
        command, and `view:all()`, which `look` checks for every object
        it lists: in a room with 100 players that was 100 to 200 checks
        per command (README, Latency).
        """
        answer = self.constant_answer(access_type, default)
        if answer or (answer is False and no_superuser_bypass):
            return answer
        return super().check(accessing_obj, access_type, default=default,
                             no_superuser_bypass=no_superuser_bypass)

    def constant_answer(self, access_type, default=False):
        """The answer of this lock for any accessing object, or None when it depends on who asks.

        Kept per access type with the parsed entry it was worked out from,
        and worked out again when the entry is another object: `add`,
        `replace`, `remove` and `reset` all put new entries in (entries are
        never changed in place, and the answer depends on the entry alone),
        so a changed lock is never answered from the old one.
        """
        entry = self.locks.get(access_type)
        key = (access_type, default)
        known = self._constants.get(key)
        if known is not None and known[0] is entry:
            return known[1]
        answer = default if entry is None else entry_constant(entry)
        self._constants[key] = (entry, answer)
        return answer


def entry_constant(entry):
    """The answer of a parsed lock (expression, functions, raw text) when it uses only constant functions, else None."""
    expression, functions, _raw = entry
    results = []
    for function, _args, _kwargs in functions:
        result = CONSTANT_LOCKFUNCS.get(function)
        if result is None:
            return None
        results.append(result)
    return bool(eval(expression % tuple(results)))  # noqa: S307 - only True/False/and/or/not, as in check()


class QuickLocksMixin:
    """Give a typeclass locks that are checked without compiling each time."""

    @lazy_property
    def locks(self):
        return QuickLockHandler(self)
