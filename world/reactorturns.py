"""
Work spread over turns of the reactor, one piece per turn.

A piece of periodic work that runs in one turn holds every operator's command
until it is done (README, "Latency", findings 15, 18 and 21). `in_turns` runs
each call in a turn of its own, in order, so the network is polled between
them.
"""

from twisted.internet import defer, task


def in_turns(calls, reactor=None, on_failure=None):
    """Run each call in a reactor turn of its own, in order.

    Args:
        calls (iterable): Callables without arguments; one may return a Deferred,
            which the next waits for.
        reactor (IReactorTime, optional): Where the turns come from (tests pass a clock).
        on_failure (callable, optional): Called with (failure, index) when a call
            fails; the calls after it still run. Without it, a failure stops the
            rest and reaches the returned Deferred.

    Returns:
        Deferred: Fires with the last call's result once every call has run.
    """
    if reactor is None:
        from twisted.internet import reactor

    deferred = defer.succeed(None)
    for index, call in enumerate(calls):
        deferred.addCallback(lambda _, call=call: task.deferLater(reactor, 0, call))
        if on_failure is not None:
            deferred.addErrback(on_failure, index)
    return deferred
