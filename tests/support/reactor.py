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

import select
import socket
import time

from twisted.internet import defer, reactor, task
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


@defer.inlineCallbacks
def until(predicate, timeout=5.0):
    """Spin the reactor until `predicate()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition was not met in time")
        yield task.deferLater(reactor, 0.01, lambda: None)


def waiting_bytes(transport, wait=1.0):
    """What has arrived on a TCP `transport`'s socket and is not read yet.

    Waits up to `wait` seconds for the first bytes without turning the
    reactor (bytes still in a Twisted buffer cannot arrive meanwhile), then
    peeks: the bytes stay for the protocol. Loopback delivers a `send()`
    soon, but not always before it returns.
    """
    readable, _, _ = select.select([transport.socket], [], [], wait)
    if not readable:
        return b""
    return transport.socket.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
