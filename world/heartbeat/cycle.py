"""
One heartbeat cycle: every probe started at once, gathered when all are done.

Ten services that all hang take about one timeout, not ten.
"""

from twisted.internet import defer

from world.heartbeat.probes import probe


def run_cycle(checks, reactor=None, on_start=None):
    """Probe every check concurrently.

    Args:
        checks (list): CheckSpec objects.
        reactor (optional): Reactor/clock passed to each probe.
        on_start (callable, optional): Called with each check as its probe
            starts (tests use it to prove all start before any completes).

    Returns:
        Deferred: Fires with the list of ProbeResults, in the order of `checks`.
    """
    deferreds = []
    for check in checks:
        if on_start:
            on_start(check)
        deferreds.append(probe(check, reactor))
    gathered = defer.gatherResults(deferreds, consumeErrors=True)
    return gathered
