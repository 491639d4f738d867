"""
No long garbage-collection pauses on the reactor.

Python's cyclic collector now and then runs a full (generation 2)
collection, which walks every tracked object in the process. After startup
the Server holds hundreds of thousands of them (Django, Evennia, the
idmapper cache), so a full collection stops the reactor for 70-130 ms at a
random moment, idle or not: that was the largest single cause of reactor
lag bench/latency.py found (`--stalls` names it).

`gc.freeze()` moves everything alive at that moment into the permanent
generation, which collections skip; later full collections walk only what
was made since, and take a few milliseconds. Both service plugins freeze
once, `FREEZE_AFTER` seconds after startup, when startup's garbage is gone
and the long-lived objects (modules, classes, settings, the world loaded so
far) are in place. The price: a reference cycle among objects that existed
then and die later is never collected, a leak bounded by the startup heap.

`TIMMY_GC_FREEZE=0` turns it off.
"""

import gc
import os

FREEZE_AFTER = 20.0


def enabled():
    """False when TIMMY_GC_FREEZE is 0/off/no/false in the environment."""
    return os.environ.get("TIMMY_GC_FREEZE", "1").strip().lower() not in ("0", "off", "no", "false")


def freeze():
    """Collect once, then freeze everything alive; returns the frozen object count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_after_startup(reactor, delay=FREEZE_AFTER):
    """Schedule `freeze()` on `reactor` (unless switched off); returns the DelayedCall or None."""
    if not enabled():
        return None
    return reactor.callLater(delay, freeze)
