"""
No long garbage-collection pauses on the reactor.

Python's cyclic collector now and then runs a full (generation 2)
collection, which walks every tracked object in the process, garbage or
not. After startup the Server holds over a hundred thousand of them
(Django, Evennia, the idmapper cache), and every logged-in player adds
more (its cmdsets, handlers, sessions): with 100 players a full collection
stopped the reactor for 50-170 ms at a random moment, idle or not. That
was the largest single cause of reactor lag bench/latency.py found
(`--stalls` names it).

`gc.freeze()` moves everything alive at that moment into the permanent
generation, which collections skip, so later full collections walk only
what was made since. We freeze twice over:

- once, `FREEZE_AFTER` seconds after startup, when startup's garbage is
  collected and the long-lived objects (modules, classes, settings, the
  world loaded so far) are in place;
- again right after any full collection that took `SLOW_COLLECTION` or
  more: that collection has just freed all the garbage, so what is left is
  alive, and the next full collections are cheap again. In a steady state
  full collections stay fast and nothing more is frozen.

After each freeze one more (empty, so free) collection resets the
collector's count of long-lived objects. Python waits for the long-lived
objects made since the last full collection to reach a quarter of that
count, and it would otherwise go on counting the frozen ones: after
startup's freeze, the first full collection came only once 100 players had
logged in, and walked all they had made in 36-54 ms. Now full collections
come as often as the collector's own thresholds allow, each walking only
what was made since the one before, and the first that takes
`SLOW_COLLECTION` freezes again.

The price: a reference cycle among frozen objects that die later (say, the
session of a player who logs out) is never collected. The leak is bounded
by the largest heap the process reached, and costs memory only.

`TIMMY_GC_FREEZE=0` turns all of it off.
"""

import gc
import os
import time

FREEZE_AFTER = 20.0
SLOW_COLLECTION = 0.010

_freezing = False


def enabled():
    """False when TIMMY_GC_FREEZE is 0/off/no/false in the environment."""
    return os.environ.get("TIMMY_GC_FREEZE", "1").strip().lower() not in ("0", "off", "no", "false")


def freeze(collect=True):
    """Optionally collect everything first, then freeze what is alive.

    It does not return `gc.get_freeze_count()`: that walks the whole frozen
    list (a few hundred thousand objects spread over the heap) and held the
    reactor for up to 25 ms after a freeze (the stall reporter named it).

    The collection after the freeze walks nothing (everything is frozen) and
    so costs nothing, but it resets the collector's count of long-lived
    objects to what is left unfrozen, about zero. Without it the collector
    keeps counting the frozen objects as long-lived and waits for a quarter
    of their number (some 50,000 objects after startup) to pile up before
    its next full collection, which then walks all of them at once.
    """
    global _freezing
    _freezing = True  # its own collections call for no further freeze
    try:
        if collect:
            gc.collect()
        gc.freeze()
        gc.collect()
    finally:
        _freezing = False


class FreezeAfterSlowCollections:
    """A `gc.callbacks` entry: freezes (on the reactor) after a slow full collection.

    Args:
        reactor: Where the freeze runs (`callFromThread`: a collection may
            happen in any thread).
        slow (float): Seconds a full collection must take to call for a freeze.
    """

    def __init__(self, reactor, slow=SLOW_COLLECTION):
        self.reactor, self.slow = reactor, slow
        self.started = None
        self.freezes = 0

    def __call__(self, phase, info):
        if phase == "start":
            self.started = time.perf_counter()
            return
        if info.get("generation") == 2 and self.started is not None and not _freezing:
            if time.perf_counter() - self.started >= self.slow:
                self.reactor.callFromThread(self._freeze)
        self.started = None

    def _freeze(self):
        self.freezes += 1
        freeze(collect=False)  # the slow collection just freed the garbage


def install(reactor, delay=FREEZE_AFTER):
    """Freeze `delay` s after startup and after every slow full collection.

    Args:
        reactor: The running process's reactor.
        delay (float): Seconds after startup for the first freeze.

    Returns:
        FreezeAfterSlowCollections or None: The callback (None when switched off).
    """
    if not enabled():
        return None
    reactor.callLater(delay, freeze)
    callback = FreezeAfterSlowCollections(reactor)
    gc.callbacks.append(callback)
    return callback
