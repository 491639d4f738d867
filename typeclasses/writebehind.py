"""
Attributes written behind: the newest value at once, the database a little later.

Every agent decision changed five to seven of its character's Attributes
(last seen, goal, last decision and reason, decision times, recent
decisions, tokens), and every Attribute write is an UPDATE built by Django's
ORM on the reactor: 0.2-0.5 ms each, a few milliseconds per decision of
every agent, which the operators' commands waited behind (README,
"Latency", finding 14).

A `WriteBehindAttributeProperty` keeps its newest value in the object's
`write_behind` buffer, where every reader in the Server sees it at once; the
database gets the value at most `delay` seconds after the first change, one
Attribute per turn of the reactor, so no single turn holds the operators up
for long. A reload or a shutdown writes everything held first
(`flush_all()`, called from server/conf/at_server_startstop.py), and so does
an idmapper flush of the object. Only a crash (the Server killed) can lose
what changed in the last `delay` seconds, and only in the fields declared
this way; a value read from another process (the CLI, a backup) can be that
much older.

The buffer waits on a clock (the reactor; tests give a `task.Clock()`).
This is deliberately not `utils.delay(persistent=True)`: what it would
remember across a restart is the very value a restart loses.
"""

from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils import logger

_HOLDING = set()  # buffers holding unwritten values


class WriteBehindAttributeProperty(AttributeProperty):
    """An AttributeProperty whose writes go through its object's `write_behind` buffer."""

    def __get__(self, instance, owner):
        if instance is None:
            return self
        held = instance.write_behind.values.get(self._key)
        if held is not None:
            return held[1]
        return super().__get__(instance, owner)

    def __set__(self, instance, value):
        instance.write_behind.hold(self, value)

    def store(self, instance, value):
        """Write `value` to the database now (what the buffer calls)."""
        super().__set__(instance, value)


class WriteBehindBuffer:
    """The values an object holds for its `WriteBehindAttributeProperty` fields.

    Args:
        obj (TypedObject): The object whose Attributes these are.
        delay (float): Seconds between the first change and its write.
        clock (IReactorTime, optional): Where the write waits (the reactor by default).
    """

    def __init__(self, obj, delay, clock=None):
        self.obj, self.delay, self.clock = obj, delay, clock
        self.values = {}  # key -> (property, value), oldest change first
        self.call = None

    def hold(self, prop, value):
        """Keep `value` for `prop` and make sure a write is coming."""
        self.values[prop._key] = (prop, value)
        _HOLDING.add(self)
        if self.call is None or not self.call.active():
            self.call = self._clock().callLater(self.delay, self._write_next)

    def flush(self):
        """Write everything held now (a reload, a shutdown, an idmapper flush)."""
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None
        while self.values:
            self._store_oldest()
        _HOLDING.discard(self)

    def _write_next(self):
        """Write the oldest held value; the rest follow, one per reactor turn."""
        self.call = None
        if self.values:
            self._store_oldest()
        if self.values:
            self.call = self._clock().callLater(0, self._write_next)
        else:
            _HOLDING.discard(self)

    def _store_oldest(self):
        key = next(iter(self.values))
        prop, value = self.values.pop(key)
        if getattr(self.obj, "_is_deleted", False) or not self.obj.pk:
            return
        try:
            prop.store(self.obj, value)
        except Exception:  # one field that cannot be written must not stop the others
            logger.log_trace(f"Could not write {key} of {self.obj.key} (#{self.obj.pk}).")

    def _clock(self):
        if self.clock is None:
            from twisted.internet import reactor

            return reactor
        return self.clock


def flush_all():
    """Write every value any object holds (before a reload or a shutdown)."""
    for buffer in list(_HOLDING):
        buffer.flush()
