"""
A trial TestCase that starts from a clean reactor.

Django's runner runs trial test cases too; trial then spins the global
reactor for tests that return Deferreds, and fails a test if the reactor has
timers pending afterwards. Earlier (non-reactor) tests leave timers behind:
Evennia starts each Script's LoopingCall on the global reactor and never
spins it. Those leftovers belong to tests that are over, so they are
cancelled before each reactor test; anything this test leaves is still caught.
"""

from twisted.internet import reactor
from twisted.trial import unittest


class ReactorTestCase(unittest.TestCase):
    """Base for tests that run on the real reactor."""

    def setUp(self):
        super().setUp()
        for call in reactor.getDelayedCalls():
            if call.active():
                call.cancel()
