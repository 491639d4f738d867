"""
A trial TestCase that starts from a clean reactor.

Django's runner runs trial test cases too; trial then spins the global
reactor for tests that return Deferreds, and fails a test if the reactor has
timers pending afterwards. Earlier (non-reactor) tests leave timers behind:
Evennia starts each Script's LoopingCall on the global reactor and never
spins it, and a thread finishing late (a backup, a report) can start a
Script or a heartbeat probe while a reactor test happens to be spinning.
Those belong to tests that are over: they are cancelled before each reactor
test, and after it only Script ticks and the connection attempts of the
heartbeat's probes are cleared; anything else a test leaves is still caught.
"""

from twisted.internet import reactor
from twisted.trial import unittest

FOREIGN_TIMERS = ("ScriptBase._step_task", "startConnectionAttempts")


def _is_foreign(call):
    """A timer from Evennia's Scripts or a background probe's connection attempt."""
    func = getattr(call, "func", None)
    name = getattr(getattr(func, "f", func), "__qualname__", "") or repr(func)
    return any(marker in name or marker in repr(func) for marker in FOREIGN_TIMERS)


class ReactorTestCase(unittest.TestCase):
    """Base for tests that run on the real reactor."""

    def setUp(self):
        super().setUp()
        for call in reactor.getDelayedCalls():
            if call.active():
                call.cancel()
        self.addCleanup(self._clear_foreign_timers)

    def _clear_foreign_timers(self):
        for call in reactor.getDelayedCalls():
            if call.active() and _is_foreign(call):
                call.cancel()
