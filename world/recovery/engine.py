"""
Running a playbook: step by step on Deferreds, each step reported to the
caller as it starts and as it ends, each recorded (database and log). The
caller gets a Deferred at once; the reactor never waits on a step.

One run per scenario at a time: a second request while one runs is refused.
"""

import time

from evennia.utils import logger
from twisted.internet import defer

from world.heartbeat.transitions import announce_ops
from world.models import RecoveryRun
from world.presentation import plain_text
from world.recovery import records
from world.recovery.errors import RecoveryBusy
from world.recovery.steps import StepOutcome
from world.recovery.toolkit import default_toolkit

_RUNNING = {}  # scenario -> RecoveryRun id


def running(scenario=None):
    """{scenario: run id} of the runs under way (or the id for one scenario, or None)."""
    if scenario is None:
        return dict(_RUNNING)
    return _RUNNING.get(scenario)


def start(playbook, started_by, trigger="manual", notify=None, kit=None):
    """Start a playbook now.

    Args:
        playbook (Playbook): What to run.
        started_by (str): Who or what started it (for the audit and the incident).
        trigger (str): "manual", "agent" or "auto".
        notify (callable, optional): Gets each progress line as it happens.
        kit (Toolkit, optional): Clock, probe and runner (the real ones by default).

    Returns:
        Deferred: Fires with the finished RecoveryRun; never errbacks.

    Raises:
        RecoveryBusy: A run of this scenario is already under way.
    """
    busy = _RUNNING.get(playbook.scenario)
    if busy is not None:
        raise RecoveryBusy(f"A '{playbook.scenario}' recovery is already running (run #{busy}); "
                           f"one at a time. See @recover/history {busy}.")
    record = records.start_run(playbook.scenario, playbook.target, started_by, trigger)
    _RUNNING[playbook.scenario] = record.id
    run = Run(playbook, record, kit or default_toolkit(), notify)
    deferred = run.execute()

    def broke(failure):
        logger.log_err(f"recovery #{record.id} broke: {failure.getTraceback()}")
        records.finish_run(record, RecoveryRun.FAILED, "the run broke; see the server log")
        return record

    def release(result):
        _RUNNING.pop(playbook.scenario, None)
        return result

    return deferred.addErrback(broke).addBoth(release)


class Run:
    """One run of a playbook: its state while it runs."""

    def __init__(self, playbook, record, kit, notify=None):
        self.playbook, self.record, self.kit = playbook, record, kit
        self.notify = notify or (lambda text: None)
        self.memo, self.extra_lines = {}, []
        self.failed, self.failed_step = False, None
        self.incident = None
        self.outcomes = []

    def actor(self):
        """Who acts on the incident: 'recovery #12 (Timmy)'."""
        return f"recovery #{self.record.id} ({self.record.started_by})"[:80]

    def failure_reason(self):
        step, outcome = self.failed_step or (None, None)
        return f"{step.kind} step failed: {outcome.text}"[:200] if step else "a step failed"

    def result_line(self):
        """One line for the incident: how it went, and what the key steps found."""
        verdict = "failed" if self.failed else "succeeded"
        facts = "; ".join(outcome.text for step, outcome in self.outcomes
                          if step.kind in ("command", "restart", "wait", "models", "outbox", "control"))
        return f"Recovery '{self.playbook.scenario}' #{self.record.id} by {self.record.started_by} {verdict}: {facts}"

    def tell(self, text):
        try:
            self.notify(text)
        except Exception:  # a caller that went away must not stop the run
            logger.log_trace("recovery: progress could not be delivered")

    @defer.inlineCallbacks
    def execute(self):
        """Run every step; return the finished record. Never raises."""
        playbook, total = self.playbook, len(self.playbook.steps)
        target = f" {playbook.target}" if playbook.target else ""
        self.tell(f"Recovery '{playbook.scenario}'{target} #{self.record.id} started: {playbook.title}.")
        announce_ops(f"|y[recover]|n #{self.record.id} '{playbook.scenario}'{target} started by "
                     f"{self.record.started_by}.")
        for index, step in enumerate(playbook.steps, 1):
            yield self.run_step(index, total, step)
        state = RecoveryRun.FAILED if self.failed else RecoveryRun.SUCCEEDED
        records.finish_run(self.record, state, self.result_line(), incident=self.incident)
        for line in self.extra_lines:
            self.tell(line)
        self.tell(self.closing_line())
        colour = "|r" if self.failed else "|g"
        why = f": {plain_text(self.failure_reason(), 120)}" if self.failed else ""
        announce_ops(f"{colour}[recover]|n #{self.record.id} '{playbook.scenario}'{target} {state}{why}.")
        return self.record

    @defer.inlineCallbacks
    def run_step(self, index, total, step):
        started, pending = time.time(), None
        if self.failed and not step.always:
            outcome = StepOutcome(False, "skipped: an earlier step failed", skipped=True)
        else:
            self.tell(f"  [{index}/{total}] {plain_text(step.describe(), 200)}")
            pending = records.begin_step(self.record, index, step, started)
            try:
                outcome = yield defer.maybeDeferred(step.run, self)
            except Exception as err:  # a step that breaks fails the run, never the server
                logger.log_trace(f"recovery #{self.record.id}: step {index} ({step.kind}) broke")
                outcome = StepOutcome(False, f"failed unexpectedly ({type(err).__name__}); see the server log")
        records.record_step(self.record, index, step, outcome, started, time.time(), pending)
        self.outcomes.append((step, outcome))
        if not outcome.skipped:
            self.tell(self.outcome_line(outcome, step))
        if not outcome.ok and not outcome.skipped and not step.informational and not self.failed:
            self.failed, self.failed_step = True, (step, outcome)

    def outcome_line(self, outcome, step):
        mark = "|gok|n" if outcome.ok else ("|yfound|n" if step.informational else "|rFAILED|n")
        lines = [f"        {mark} {plain_text(outcome.text, 300)}"]
        result = outcome.command
        if result is not None and not outcome.ok and result.output.strip():
            tail = [line for line in result.output.splitlines() if line.strip()][-3:]
            lines += [f"          > {plain_text(line, 100)}" for line in tail]
        return "\n".join(lines)

    def closing_line(self):
        where = f" (incident #{self.incident.id})" if self.incident else ""
        if self.failed:
            step, _outcome = self.failed_step
            return f"|rRecovery #{self.record.id} failed at the {step.kind} step{where}.|n"
        return f"|gRecovery #{self.record.id} succeeded{where}.|n"
