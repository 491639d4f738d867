"""
One heartbeat cycle: every probe started at once, gathered when all are done.

Ten services that all hang take about one timeout, not ten.

"At once" means within a few milliseconds: each probe starts in its own turn
of the reactor (the first right away). Starting one (an HTTP request, a
connection, a thread) costs the reactor up to a millisecond, and starting
all six in one turn held every operator's command behind a 3-5 ms block at
every beat (README, "Latency", finding 15); between two starts the reactor
now reads the network and runs what is waiting.
"""

from twisted.internet import defer

from world.heartbeat.probes import probe


def run_cycle(checks, reactor=None, on_start=None):
    """Probe every check concurrently, starting one per reactor turn.

    Args:
        checks (list): CheckSpec objects.
        reactor (optional): Reactor/clock passed to each probe, and where
            the next start is scheduled.
        on_start (callable, optional): Called with each check as its probe
            starts (tests use it to prove all start before any completes).

    Returns:
        Deferred: Fires with the list of ProbeResults, in the order of `checks`.
    """
    if reactor is None:
        from twisted.internet import reactor
    results = [defer.Deferred() for _check in checks]

    def start(index):
        check = checks[index]
        if on_start:
            on_start(check)
        probe(check, reactor).chainDeferred(results[index])  # a probe never errbacks
        if index + 1 < len(checks):
            reactor.callLater(0, start, index + 1)

    if checks:
        start(0)
    return defer.gatherResults(results, consumeErrors=True)
