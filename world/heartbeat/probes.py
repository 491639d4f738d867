"""
Probes: one non-blocking check per kind, each returning a Deferred that fires
with a ProbeResult and never errbacks.

Every probe is bounded by its check's timeout, a `callLater` on the given
reactor (a `task.Clock` in tests): a target that never answers
reports `timeout after N s`, never `up`. Network I/O goes through Twisted
(treq, endpoints); filesystem calls run in a thread; nothing here blocks the
reactor or touches the ORM from a thread.
"""

import os
import time
from dataclasses import asdict, dataclass, field

from twisted.internet import defer, error, threads
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from world.servicestate import DEGRADED, DOWN, UNKNOWN, UP


@dataclass
class ProbeResult:
    """What one probe found."""

    name: str
    state: str
    reason: str
    latency_ms: float = None
    checked_at: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def ok(self):
        """Up or degraded: the service answers."""
        return self.state in (UP, DEGRADED)

    def as_dict(self):
        """A JSON-able dict (for the heartbeat log and the web API)."""
        return asdict(self)


def probe(check, reactor=None):
    """Run the probe for `check`; return a Deferred firing with a ProbeResult.

    Args:
        check (CheckSpec): What to probe.
        reactor (IReactorTime, optional): The clock and reactor (the global one by default).
    """
    if reactor is None:
        from twisted.internet import reactor
    started = reactor.seconds()
    runner = PROBES[check.kind]
    try:
        deferred = defer.maybeDeferred(runner, check, reactor)
    except Exception as err:  # a probe must never raise into the cycle
        deferred = defer.fail(err)
    deadline = _Deadline(deferred, check.timeout, reactor)
    deferred.addCallback(_finish, check, reactor, started)
    deferred.addErrback(_failed, check, reactor, started, deadline)
    deferred.addBoth(deadline.disarm)
    return deferred


class _Deadline:
    """Cancels a probe when its timeout passes, and remembers that it did.

    A cancelled request may fail with any error (treq wraps the cancellation
    in ResponseNeverReceived), so the reason comes from this flag.
    """

    def __init__(self, deferred, timeout, reactor):
        self.expired = False
        self.call = reactor.callLater(timeout, self._expire, deferred)

    def _expire(self, deferred):
        self.expired = True
        deferred.cancel()

    def disarm(self, result):
        if self.call.active():
            self.call.cancel()
        return result


def _finish(outcome, check, reactor, started):
    """Turn a probe's (state, reason, details) into a ProbeResult."""
    state, reason, details = outcome
    latency = (reactor.seconds() - started) * 1000.0
    if state == UP and check.degraded_ms and latency > check.degraded_ms:
        state, reason = DEGRADED, f"slow: {latency:.0f} ms (limit {check.degraded_ms:.0f} ms)"
    return ProbeResult(check.name, state, reason, round(latency, 1), time.time(), details)


def _failed(failure, check, reactor, started, deadline):
    """Any failure is `down`, with a short reason a person understands."""
    latency = (reactor.seconds() - started) * 1000.0
    reason = f"timeout after {check.timeout:.1f} s" if deadline.expired else failure_reason(failure, check)
    return ProbeResult(check.name, DOWN, reason, round(latency, 1), time.time())


def failure_reason(failure, check):
    """A short reason for a failed probe: 'connection refused', 'timeout after 5.0 s', ..."""
    if failure.check(defer.TimeoutError, error.TimeoutError, defer.CancelledError):
        return f"timeout after {check.timeout:.1f} s"
    if failure.check(error.ConnectionRefusedError):
        return "connection refused"
    if failure.check(error.DNSLookupError):
        return "host not found"
    if failure.check(ProbeFailed):
        return str(failure.value)
    name = type(failure.value).__name__
    if "ResponseNeverReceived" in name or "ConnectionLost" in name or "ConnectionDone" in name:
        return "connection lost before a response"
    return f"{name}: {failure.getErrorMessage()}"[:120]


class ProbeFailed(Exception):
    """A probe reached the service and found it unhealthy; the message is the reason."""


@defer.inlineCallbacks
def _http_get(url, reactor):
    """GET a URL with treq; return (status, body bytes)."""
    import treq
    from twisted.web.client import Agent

    agent = Agent(reactor)
    response = yield treq.request("GET", url, agent=agent, persistent=False)
    body = yield treq.content(response)
    return response.code, body


@defer.inlineCallbacks
def probe_http(check, reactor):
    """HTTP GET: the expected status (default: any 2xx/3xx) means up."""
    status, _body = yield _http_get(check.target, reactor)
    expected = check.options.get("expect_status")
    if (expected and status != expected) or (not expected and status >= 400):
        raise ProbeFailed(f"HTTP {status}")
    return UP, f"HTTP {status}", {"status": status}


@defer.inlineCallbacks
def probe_ollama(check, reactor):
    """Ollama: /api/version must answer; /api/tags lists the models present."""
    import json

    base = check.target.rstrip("/")
    status, body = yield _http_get(base + "/api/version", reactor)
    if status != 200:
        raise ProbeFailed(f"HTTP {status}")
    version = _json_field(body, "version")
    status, body = yield _http_get(base + "/api/tags", reactor)
    if status != 200:
        return DEGRADED, f"version {version}, but /api/tags gave HTTP {status}", {"version": version}
    try:
        models = sorted(model["name"] for model in json.loads(body).get("models", []))
    except (ValueError, TypeError, KeyError, AttributeError):
        return DEGRADED, "/api/tags is not the expected JSON", {"version": version}
    reason = f"v{version}, {len(models)} model(s)" + (f": {', '.join(models[:4])}" if models else "")
    return UP, reason, {"version": version, "models": models}


def _json_field(body, key):
    """One field of a JSON object body, or '?'."""
    import json

    try:
        return str(json.loads(body).get(key, "?"))
    except (ValueError, AttributeError):
        return "?"


class _Hangup(Protocol):
    """Connects, then hangs up at once."""

    def connectionMade(self):
        self.transport.loseConnection()


@defer.inlineCallbacks
def probe_tcp(check, reactor):
    """TCP: a completed connection means up."""
    host, _, port = check.target.rpartition(":")
    endpoint = HostnameEndpoint(reactor, host.strip("[]"), int(port), timeout=check.timeout)
    yield connectProtocol(endpoint, _Hangup())
    return UP, f"port {port} answers", {}


@defer.inlineCallbacks
def probe_evennia(check, reactor):
    """The game itself: the Portal's telnet port answers; uptime when known."""
    state, _reason, details = yield probe_tcp(check, reactor)
    try:
        from evennia.utils import gametime

        details["uptime"] = gametime.uptime()
        reason = f"portal answers, server up {details['uptime'] / 3600:.1f} h"
    except Exception:  # outside the server (the CLI) there is no game time
        reason = "portal answers"
    return state, reason, details


@defer.inlineCallbacks
def probe_disk(check, reactor):
    """Disk: how full the filesystem holding `target` is, against thresholds."""
    stats = yield threads.deferToThread(os.statvfs, check.target)
    total = stats.f_blocks * stats.f_frsize
    free = stats.f_bavail * stats.f_frsize
    used = total - stats.f_bfree * stats.f_frsize
    percent = 100.0 * used / max(1, used + free)
    details = {"percent": round(percent, 1), "free_bytes": free, "total_bytes": total}
    text = f"disk {percent:.0f}% full, {free / 2**30:.1f} GiB free"
    if percent >= check.options["critical_percent"]:
        return DOWN, text, details
    if percent >= check.options["warn_percent"]:
        return DEGRADED, text, details
    return UP, text, details


def probe_agents(check, reactor):
    """Agents: each agent's last sign of life against `stale_after`.

    An agent never seen at all is given `stale_after` from the server's
    start to log in: at a world's first start the agents start after the
    server, and counting them down then opened a false incident (and could
    start a second agent supervisor through self-healing).
    """
    from evennia.utils import gametime

    from world.heartbeat.liveness import agent_last_seen

    seen = agent_last_seen()
    if not seen:
        return UNKNOWN, "no agents yet", {}
    stale_after = check.options["stale_after"]
    now = time.time()
    started = gametime.SERVER_START_TIME
    in_grace = bool(started) and now - started <= stale_after
    stale = sorted(name for name, when in seen.items()
                   if (when and now - when > stale_after) or (not when and not in_grace))
    waiting = sorted(name for name, when in seen.items() if not when and in_grace)
    details = {"agents": {name: when for name, when in seen.items()}, "stale": stale, "waiting": waiting}
    if len(waiting) == len(seen):
        return UNKNOWN, f"no agent has logged in yet (server started {now - started:.0f} s ago)", details
    if not stale:
        return UP, f"{len(seen) - len(waiting)} agent(s) alive", details
    if len(stale) == len(seen):
        return DOWN, f"no agent seen for {stale_after:.0f} s", details
    return DEGRADED, f"silent: {', '.join(stale)}", details


@defer.inlineCallbacks
def probe_backup(check, reactor):
    """Backups: the latest backup's age and verification (files read in a thread)."""
    from world.backup import backup_health

    health = yield threads.deferToThread(backup_health)
    return health.state, health.reason, {"age": health.age, "verified": health.verified}


PROBES = {
    "http": probe_http,
    "ollama": probe_ollama,
    "tcp": probe_tcp,
    "evennia": probe_evennia,
    "disk": probe_disk,
    "agents": probe_agents,
    "backup": probe_backup,
}
