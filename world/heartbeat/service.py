"""
One heartbeat, end to end, and the latest known state of each service.

`beat(script)` is what the heartbeat Script runs every interval and what
`@heartbeat` runs on demand: probe every configured check concurrently, store
the samples, update the state machine kept on the Script, publish confirmed
transitions, append the daily log and prune old history. It returns a Deferred
and never blocks the reactor; a beat that is still running when the next one
is due is not started twice.

`state_of(name)` answers `world.servicestate.current()` from the Script's
memory, without probing.
"""

import functools
import time

from django.conf import settings
from evennia.utils import logger
from evennia.utils.dbserialize import deserialize
from twisted.internet import defer, task

from world.globalscripts import global_script
from world.heartbeat import history, tracker, transitions
from world.heartbeat.config import CheckConfigError, configured_checks, load_checks
from world.heartbeat.cycle import run_cycle
from world.reactorturns import in_turns
from world.servicestate import UNKNOWN, ServiceState

PRUNE_EVERY = 3600.0


def heartbeat_script():
    """The global heartbeat Script (created on first use)."""
    return global_script("heartbeat")


def checks_or_log():
    """The configured checks; a malformed entry is logged and the rest still run."""
    try:
        return configured_checks()
    except CheckConfigError as err:
        logger.log_err(f"Heartbeat: {err}. Fix settings.HEALTH_CHECKS; checking the valid entries only.")
    valid = []
    for entry in settings.HEALTH_CHECKS:
        try:
            valid.extend(load_checks([entry]))
        except CheckConfigError:
            continue
    return valid


def beat(script=None, checks=None, reactor=None):
    """Run one heartbeat cycle.

    Args:
        script (HeartbeatScript, optional): Holds the state; the global one by default.
        checks (list, optional): CheckSpecs; the configured ones by default.
        reactor (optional): Reactor/clock for the probes and the turns after them.

    Returns:
        Deferred: Fires with (results, transitions) when the cycle is done, or
            with None if a cycle was already running.
    """
    script = script or heartbeat_script()
    if script.ndb.cycle_running:
        return defer.succeed(None)
    checks = checks if checks is not None else checks_or_log()
    script.ndb.cycle_running = True
    started = time.time()
    deferred = run_cycle(checks, reactor)
    deferred.addCallback(_after_cycle, script, checks, started, reactor)
    deferred.addErrback(_cycle_failed)
    deferred.addBoth(_cycle_done, script)
    return deferred


def _after_cycle(results, script, checks, started, reactor=None):
    """Store, record, publish: everything after the probes, on the reactor thread.

    Each in reactor turns of its own, in this order: the tracker, then each of
    the Script's four fields (one database write per turn), the history, the
    transitions. Done in one turn, they held every operator's command behind a
    2-5 ms block at every beat; and the first of them is not run in the turn
    the last probe finished in, which for a probe that timed out is already
    the turn that cancelled its request (README, "Latency", findings 15, 18
    and 21).

    Returns:
        Deferred: Fires with (results, changes) once all of them are done.
    """
    if reactor is None:
        from twisted.internet import reactor

    def store(tracked):
        changes, fields = tracked
        return _store_in_turns(script, fields, reactor).addCallback(lambda _: changes)

    def record(changes):
        return task.deferLater(reactor, 0, _record_history, results, script).addCallback(lambda _: changes)

    def publish(changes):
        if changes:
            return task.deferLater(reactor, 0, _publish, changes, checks).addCallback(lambda _: changes)
        return changes

    deferred = task.deferLater(reactor, 0, _track, results, script, checks, started)
    deferred.addCallback(store)
    deferred.addCallback(record)
    deferred.addCallback(publish)
    deferred.addCallback(lambda changes: (results, changes))
    return deferred


def _track(results, script, checks, started):
    """Run the state machine; return (confirmed transitions, [(field, value)] to store).

    The tracker works on a plain copy of its memory, stored back once: the
    Attribute's own nested dicts would save the whole memory on every field
    change (about two saves per service per beat, on the reactor).
    """
    by_name = {check.name: check for check in checks}
    memory = deserialize(script.tracker_memory or {})
    changes = []
    for result in results:
        change = tracker.update(memory, result, by_name[result.name],
                                settings.HEARTBEAT_DOWN_AFTER, settings.HEARTBEAT_UP_AFTER)
        if change:
            changes.append(change)
    beat_at = time.time()
    fields = [("tracker_memory", memory), ("latest", {result.name: result.as_dict() for result in results}),
              ("last_beat_at", beat_at), ("last_cycle_seconds", round(beat_at - started, 3))]
    return changes, fields


def _store_in_turns(script, fields, reactor):
    """Save each (field, value) on the Script in a reactor turn of its own, in order.

    Each is an Attribute save, an UPDATE built by Django's ORM (0.5-1 ms on
    the project's machine); one per turn lets the operators' commands in
    between them.
    """
    return in_turns([functools.partial(setattr, script, field, value) for field, value in fields], reactor)


def _record_history(results, script):
    """The samples in the history table and the daily log; old history pruned now and then."""
    history.record(results)
    if results:
        history.append_log(results).addErrback(
            lambda failure: logger.log_err(f"Heartbeat log write failed: {failure.getErrorMessage()}")
        )
    if script.last_beat_at - (script.last_prune_at or 0) > PRUNE_EVERY:
        history.prune()
        script.last_prune_at = script.last_beat_at


def _publish(changes, checks):
    by_name = {check.name: check for check in checks}
    for change in changes:
        transitions.publish(change, by_name.get(change.service))


def _cycle_failed(failure):
    logger.log_trace(f"Heartbeat cycle failed: {failure.getErrorMessage()}")
    return None


def _cycle_done(outcome, script):
    script.ndb.cycle_running = False
    return outcome


def states_of(names):
    """The latest known ServiceStates of several services.

    Looks the Script up once and decodes its two Attributes at most once per
    stored value (`decoded_memory`).
    """
    script = heartbeat_script()
    if script is None:
        return [ServiceState(name) for name in names]
    latest, memory = decoded_memory(script)
    return [_state_from(name, latest, memory) for name in names]


def decoded_memory(script):
    """The Script's `latest` and `tracker_memory` as plain dicts, decoded once per save.

    Each read of an AttributeProperty unpickles its whole value: every region
    `look`, `@status` and agent observation read both, although they change
    only once a beat. The decoded pair is kept in the Script's ndb together
    with the stored values it came from; a save gives an Attribute a new
    stored value (Evennia pickles a new `db_value`), so the next read decodes
    again. The kept pair is plain data: callers read it, never change it.

    Args:
        script (HeartbeatScript): The heartbeat Script.

    Returns:
        tuple: (latest, tracker_memory), plain dicts.
    """
    stored = tuple(script.attributes.get(key, return_obj=True) for key in ("latest", "tracker_memory"))
    values = tuple(None if attr is None else attr.db_value for attr in stored)
    kept = script.ndb.decoded_memory
    if kept is not None and all(a is b for a, b in zip(kept[0], stored)) and all(
            a is b for a, b in zip(kept[1], values)):
        return kept[2]
    decoded = (deserialize(script.latest or {}), deserialize(script.tracker_memory or {}))
    script.ndb.decoded_memory = (stored, values, decoded)
    return decoded


def state_of(name, script=None):
    """The latest known ServiceState of a service, from the heartbeat's memory."""
    script = script or heartbeat_script()
    if script is None:
        return ServiceState(name)
    latest, memory = decoded_memory(script)
    return _state_from(name, latest, memory)


def _state_from(name, latest_by_name, memory_by_name):
    """A ServiceState from the Script's `latest` and `tracker_memory` dicts."""
    latest = latest_by_name.get(name)
    memory = memory_by_name.get(name, {})
    if latest is None:
        configured = any(entry.get("name") == name and entry.get("enabled", True)
                         for entry in settings.HEALTH_CHECKS if isinstance(entry, dict))
        reason = "not checked yet" if configured else "not configured"
        return ServiceState(name, reason=reason)
    return ServiceState(
        name=name,
        state=memory.get("state", UNKNOWN),
        latency_ms=latest.get("latency_ms"),
        reason=latest.get("reason", ""),
        checked_at=latest.get("checked_at"),
        since=memory.get("since"),
    )


def heartbeat_age(now=None):
    """Seconds since the last completed beat, or None if there was none."""
    script = heartbeat_script()
    if script is None or not script.last_beat_at:
        return None
    return max(0.0, (now or time.time()) - script.last_beat_at)
