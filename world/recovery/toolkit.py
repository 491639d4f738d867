"""
What steps use to act on the world: a clock, the heartbeat's probe, the
process runner and a thread runner, bundled so tests can swap any of them
(a `task.Clock` and scripted probes where no real process is involved).
"""

import time
from dataclasses import dataclass

from twisted.internet import defer, task, threads

from world.recovery import config


@dataclass
class Toolkit:
    """The means of a recovery run.

    Attributes:
        clock: IReactorTime (and IReactorProcess for real commands).
        probe (callable): (CheckSpec, clock) -> Deferred[ProbeResult].
        run_command (callable): (argv, timeout, reactor=, output_limit=, cwd=) -> Deferred[CommandResult].
        in_thread (callable): Runs a function off the reactor; returns a Deferred.
        poll (float): Seconds between two looks while waiting.
        now (callable): Wall-clock time (agents' last_seen is wall-clock).
    """

    clock: object
    probe: object
    run_command: object
    in_thread: object
    poll: float = 2.0
    now: object = time.time

    def sleep(self, seconds):
        """A Deferred that fires after `seconds` on this toolkit's clock."""
        return task.deferLater(self.clock, seconds, lambda: None)


def default_toolkit():
    """The real thing: the global reactor, the heartbeat's probes, real processes."""
    from twisted.internet import reactor

    from world.heartbeat.probes import probe
    from world.recovery.process import run_command

    return Toolkit(clock=reactor, probe=probe, run_command=run_command, in_thread=threads.deferToThread,
                   poll=config.seconds("RECOVERY_POLL_INTERVAL"))


@defer.inlineCallbacks
def wait_until(kit, check, deadline_seconds):
    """Call `check()` until it says done or the deadline passes.

    Args:
        kit (Toolkit): Clock and poll interval.
        check (callable): Returns (done, text) or a Deferred of it.
        deadline_seconds (float): How long to keep trying.

    Returns:
        Deferred: Fires with (done, text, seconds waited).
    """
    started = kit.clock.seconds()
    while True:
        done, text = yield defer.maybeDeferred(check)
        waited = kit.clock.seconds() - started
        if done or waited >= deadline_seconds:
            return bool(done), text, waited
        yield kit.sleep(min(kit.poll, max(0.0, deadline_seconds - waited)))
