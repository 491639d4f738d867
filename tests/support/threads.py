"""
A stand-in for Twisted's `deferToThread` that runs nothing until the test says so,
and two helpers for what the answer may (not) do on the reactor and what it told.

Each call is kept with its Deferred: a test sees what would run in the
worker thread (a function and its arguments), checks what happened (or not)
on the reactor before the answer, then fires the answer computed by the
real function, or a failure.
"""

from unittest.mock import patch

from django.contrib.auth import base_user
from twisted.internet.defer import Deferred


def no_hashing_here():
    """Django's hashing on this thread fails while this is active (the reactor must not hash)."""
    return patch.object(base_user, "make_password", side_effect=AssertionError("hashed on the reactor"))


def sent(msg_mock):
    """Everything a patched `msg` was sent, one message per line (Evennia passes `text=` or a first argument)."""
    calls = msg_mock.call_args_list
    return "\n".join(str(call.kwargs.get("text", call.args[0] if call.args else "")) for call in calls)


class ThreadRecorder:
    """Stands in for deferToThread: keeps each call and its Deferred for the test to fire."""

    def __init__(self):
        self.calls = []

    def __call__(self, function, *args):
        deferred = Deferred()
        self.calls.append((function, args, deferred))
        return deferred

    def answer(self, index=0):
        """Run call `index` (here, as the thread would) and fire its Deferred with the result."""
        function, args, deferred = self.calls[index]
        deferred.callback(function(*args))

    def fail(self, index=0):
        """Fire call `index`'s Deferred with a failure, as a thread that raised would."""
        self.calls[index][2].errback(RuntimeError("the worker thread broke"))
