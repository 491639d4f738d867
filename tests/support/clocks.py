"""
A test clock that tells the reactor's turns apart.
"""

from twisted.internet.task import Clock


class ReactorTurnClock(Clock):
    """A task.Clock whose `advance` is one turn of the reactor.

    Twisted's reactor runs a `callLater(0, ...)` made during a turn in the
    next turn, after polling the network; task.Clock would run it in the
    same `advance`. Here only the calls already due when `advance` begins run.
    """

    def advance(self, amount):
        self.rightNow += amount
        self._sortCalls()
        due = [call for call in self.calls if call.getTime() <= self.seconds()]
        for call in due:
            self.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)
