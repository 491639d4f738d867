"""
The incidents Script's periodic work, one piece per turn of the reactor.

Every few seconds the escalation matrix expires silences, climbs overdue
incidents, re-alerts acknowledged ones and delivers the Gitea outbox. Each is
one or two ORM queries that Django compiles anew (0.5-1 ms each on the
project's machine); run in one turn, they held every operator's command
behind a 2-3 ms block every 5 s (README, "Latency", finding 21). Here each
gets a turn of its own, in that order, and a piece that fails is logged
without stopping the ones after it.
"""

from evennia.utils import logger

from world.incidents import core, outbox, silences
from world.reactorturns import in_turns

STEPS = (
    ("silences", silences.expire),
    ("escalations", core.escalate_due),
    ("re-alerts", core.realert_due),
    ("outbox", outbox.deliver_due),
)


def run_due_work(reactor=None, steps=STEPS):
    """Run each step in a reactor turn of its own, in order.

    Args:
        reactor (IReactorTime, optional): Where the turns come from (tests pass a clock).
        steps (tuple): (name, callable) pairs; a callable may return a Deferred.

    Returns:
        Deferred: Fires with None once every step has run (or failed and been logged).
    """
    def log_failed_step(failure, index):
        logger.log_trace(f"Incidents: the {steps[index][0]} step failed: {failure.getErrorMessage()}")

    return in_turns([step for _, step in steps], reactor, on_failure=log_failed_step).addCallback(lambda _: None)
