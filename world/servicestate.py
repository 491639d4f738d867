"""
The latest known state of each service, as regions and `@status` show it.

Until the heartbeat has checked a service, its state is `unknown`. The
heartbeat (world/heartbeat) records results here through `record()`; readers
use `current()` and never wait on a probe.
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

    Args:
        name (str): Service name, as in settings.

    Returns:
        ServiceState: Never None.
    """
    provider = _provider()
    if provider is None:
        return ServiceState(name)
    return provider(name) or ServiceState(name)


_PROVIDERS = []


def set_provider(func):
    """Install the function that answers `current()` (the heartbeat does this)."""
    _PROVIDERS[:] = [func]


def _provider():
    return _PROVIDERS[0] if _PROVIDERS else None
