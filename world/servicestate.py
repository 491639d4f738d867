"""
The latest known state of each service, as regions and `@status` show it.

Until the heartbeat has checked a service, its state is `unknown`. Readers
use `current()`, which answers from the heartbeat's memory and never waits
on a probe.
"""

import time
from dataclasses import dataclass

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
STATES = (UP, DEGRADED, DOWN, UNKNOWN)


@dataclass(frozen=True)
class ServiceState:
    """The confirmed state of one service and its latest check."""

    name: str
    state: str = UNKNOWN
    latency_ms: float = None
    reason: str = "not checked yet"
    checked_at: float = None
    since: float = None

    def age(self, now=None):
        """Seconds since the last check, or None if never checked."""
        if self.checked_at is None:
            return None
        return max(0.0, (now or time.time()) - self.checked_at)


def current(name):
    """Return the latest ServiceState of `name` (unknown if never checked).

    Reads the heartbeat's memory; never probes, never waits.

    Args:
        name (str): Service name, as in settings.HEALTH_CHECKS.

    Returns:
        ServiceState: Never None.
    """
    from world.heartbeat.service import state_of

    return state_of(name)


def current_many(names):
    """The latest ServiceState of each of `names`, in order (one Script lookup)."""
    from world.heartbeat.service import states_of

    return states_of(names)
