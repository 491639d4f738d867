"""
Playbook steps: the base class, and the steps about services and incidents.

A step says what it would do (`describe`, for dry runs), whether it is
destructive right now (`destructive_reason`), and does it (`run(run)`,
returning a StepOutcome or a Deferred of one; it must never block). A failed
step stops the playbook, except `informational` steps (the checks before);
`always` steps (note, escalate) run even after a failure.
"""

import shlex
import time
from dataclasses import dataclass

from django.conf import settings
from twisted.internet import defer

from world import servicestate
from world.presentation import plain_text
from world.recovery import config, incidentlink
from world.recovery.config import ArgumentRejected, RecoveryConfigError
from world.recovery.toolkit import wait_until
from world.servicestate import DEGRADED, UP

RECOVERY_ACTOR = "recovery"


@dataclass
class StepOutcome:
    """What a step did: ok or not, one line, and the command it ran (if any)."""

    ok: bool
    text: str
    command: object = None
    skipped: bool = False


class Step:
    """One step of a playbook."""

    kind = "step"
    informational = False
    always = False

    @property
    def title(self):
        return self.describe()

    def describe(self):
        """One line: what this step does (shown by dry runs and as the step starts)."""
        raise NotImplementedError

    def destructive_reason(self):
        """Why running this now would interrupt something that works, or None."""
        return None

    def run(self, run):
        """Do it; return a StepOutcome (or a Deferred of one)."""
        raise NotImplementedError


# ------------------------------------------------------------ services


def check_for(service):
    """The heartbeat's CheckSpec of `service`, or None when it is not configured."""
    from world.heartbeat.service import checks_or_log

    for check in checks_or_log():
        if check.name == service:
            return check
    if service == "ollama":
        from world.heartbeat.config import CheckSpec

        return CheckSpec(name="ollama", kind="ollama", target=settings.OLLAMA_HOST)
    return None


def probe_text(result):
    return f"{result.name} is {result.state} ({plain_text(result.reason, 100)})"


class ProbeStep(Step):
    """Probe a service now (the check before: it is expected to be down)."""

    kind = "probe"
    informational = True

    def __init__(self, service, when="before"):
        self.service, self.when = service, when

    def describe(self):
        return f"check {self.service} {self.when}: probe it now"

    @defer.inlineCallbacks
    def run(self, run):
        check = check_for(self.service)
        if check is None:
            return StepOutcome(False, f"{self.service} has no check in HEALTH_CHECKS")
        result = yield run.kit.probe(check, run.kit.clock)
        run.memo[f"probe:{self.service}"] = result
        return StepOutcome(result.ok, probe_text(result))


class CommandStep(Step):
    """Run an allowlisted command from RECOVERY_COMMANDS."""

    kind = "command"

    def __init__(self, name, service="", target=None):
        self.name, self.service, self.target = name, service, target

    def spec(self):
        try:
            return config.command(self.name), ""
        except RecoveryConfigError as err:
            return None, str(err)

    def describe(self):
        spec, problem = self.spec()
        if problem:
            return f"run {self.name}: misconfigured ({problem}); the playbook would escalate"
        if spec is None:
            return (f"run {self.name}: not configured (set RECOVERY_COMMANDS['{self.name}']); "
                    f"the playbook would escalate")
        try:
            argv = shlex.join(spec.render(self.target))
        except (ArgumentRejected, RecoveryConfigError) as err:
            return f"run {self.name}: cannot be run ({err})"
        return f"run {self.name}: {argv} (timeout {spec.timeout:.0f} s)"

    def destructive_reason(self):
        spec, _problem = self.spec()
        if spec is not None and spec.destructive:
            return f"RECOVERY_COMMANDS['{self.name}'] is marked destructive"
        if self.service:
            state = servicestate.current(self.service).state
            if state in (UP, DEGRADED):
                return f"{self.service} is {state}: restarting it interrupts a working service"
        return None

    def run(self, run):
        spec, problem = self.spec()
        if problem:
            return StepOutcome(False, f"{self.name} is misconfigured: {problem}")
        if spec is None:
            return StepOutcome(False, f"{self.name} is not configured (RECOVERY_COMMANDS['{self.name}'])")
        try:
            argv = spec.render(self.target)
        except (ArgumentRejected, RecoveryConfigError) as err:
            return StepOutcome(False, f"{self.name} cannot be run: {err}")
        deferred = run.kit.run_command(argv, spec.timeout, reactor=run.kit.clock,
                                       output_limit=int(config.setting("RECOVERY_OUTPUT_LIMIT")),
                                       cwd=settings.GAME_DIR)
        return deferred.addCallback(command_outcome, self.name)


def command_outcome(result, name):
    """A StepOutcome from a CommandResult: the outcome, the duration, the last line of output."""
    last = [line for line in result.output.splitlines() if line.strip()][-1:]
    tail = f": {plain_text(last[0], 120)}" if last else ""
    extra = f" ({'; '.join(result.notes)})" if result.notes else ""
    text = f"{name}: {result.outcome_text()} in {result.duration:.1f} s{extra}{tail}"
    return StepOutcome(result.ok, text, command=result)


class WaitHealthyStep(Step):
    """Probe until the service answers, or give up at the deadline."""

    kind = "wait"

    def __init__(self, service):
        self.service = service

    def deadline(self):
        return config.seconds("RECOVERY_SERVICE_WAIT")

    def describe(self):
        return f"check {self.service} after: wait up to {self.deadline():.0f} s until it answers"

    @defer.inlineCallbacks
    def run(self, run):
        check = check_for(self.service)
        if check is None:
            return StepOutcome(False, f"{self.service} has no check in HEALTH_CHECKS")

        @defer.inlineCallbacks
        def answered():
            result = yield run.kit.probe(check, run.kit.clock)
            run.memo[f"probe:{self.service}"] = result
            return result.ok, probe_text(result)

        done, text, waited = yield wait_until(run.kit, answered, self.deadline())
        if done:
            return StepOutcome(True, f"{text} after {waited:.1f} s")
        return StepOutcome(False, f"still not answering after {waited:.0f} s: {text}")


# ------------------------------------------------------------ incidents


class NoteStep(Step):
    """Note the run's result on the service's open incident; resolve it if all is green."""

    kind = "note"
    always = True

    def __init__(self, service):
        self.service = service

    def describe(self):
        return (f"note the result on the open {self.service} incident, and resolve it "
                f"when the check after is green")

    def run(self, run):
        incident = incidentlink.open_incident(self.service)
        if incident is None:
            return StepOutcome(True, f"no open incident about {self.service}")
        run.incident = incident
        actor = run.actor()
        incidentlink.note(incident, actor, run.result_line())
        if run.failed:
            return StepOutcome(True, f"noted on incident #{incident.id}")
        still = run.playbook.still_failing()
        if still:
            return StepOutcome(True, f"noted on incident #{incident.id}; left open: {still}")
        incidentlink.resolve(incident, actor, f"recovery #{run.record.id} brought {self.service} back")
        return StepOutcome(True, f"noted on incident #{incident.id} and resolved it")


class EscalateStep(Step):
    """When the playbook failed, escalate (the peer, then the humans)."""

    kind = "escalate"
    always = True

    def __init__(self, service, scenario):
        self.service, self.scenario = service, scenario

    def describe(self):
        return f"if a step failed: escalate the {self.service} incident (or open one at level 2)"

    def run(self, run):
        if not run.failed:
            return StepOutcome(True, "not needed: every check passed")
        incident, what = incidentlink.escalate(self.service, self.scenario, run.actor(), run.failure_reason(),
                                               now=time.time())
        if incident is not None:
            run.incident = incident
        return StepOutcome(True, what)
