"""
What `@recover` and `@confirm` call: one function per request.

Who may run what: a non-Admin (a Helper, an agent) may run a playbook only
while it is not destructive; an Admin may run any, confirming a destructive
one with the code it is given, within RECOVERY_CONFIRM_SECONDS.
"""

from dataclasses import dataclass

from world.recovery import config, confirm, engine, playbooks, render
from world.recovery.errors import RecoveryBusy, RecoveryError


@dataclass(frozen=True)
class Operator:
    """Who asks: a name for the audit, an identity for confirmations, their rights."""

    name: str
    ident: str
    admin: bool
    trigger: str = "manual"


def overview_text():
    return render.overview()


def dry_run_text(scenario, target=None):
    """Every step `scenario` would take; changes nothing.

    Raises:
        RecoveryError: The scenario cannot be built (no such agent, ...).
    """
    return render.dry_run(playbooks.build(scenario, target))


def history_text(run_id=None):
    return render.run_detail(run_id) if run_id else render.history()


def request(scenario, target, operator, notify, kit=None):
    """Run `scenario` now, or ask for a confirmation if it is destructive.

    Returns:
        str or None: A message for the operator (None: the run streams its own).

    Raises:
        RecoveryError: Refused (the reason says why); nothing was run.
    """
    playbook = playbooks.build(scenario, target)
    _not_busy(scenario)
    reasons = playbook.destructive_reasons()
    if reasons and not operator.admin:
        raise RecoveryError(f"Refused: only an Admin may run '{scenario}' now: {'; '.join(reasons)}.")
    if reasons:
        pending = confirm.ask(operator.ident, scenario, playbook.target)
        seconds = config.seconds("RECOVERY_CONFIRM_SECONDS")
        return (f"|yThis is destructive now:|n {'; '.join(reasons)}.\n"
                f"To go ahead, type |w@confirm {pending.code}|n within {seconds:.0f} s.")
    engine.start(playbook, operator.name, operator.trigger, notify, kit)
    return None


def confirm_run(code, operator, notify, kit=None):
    """Start the destructive run this operator asked for, given its code.

    Raises:
        ConfirmError, RecoveryError: Nothing was run.
    """
    pending = confirm.redeem(code, operator.ident)
    if not operator.admin:
        raise RecoveryError("Refused: only an Admin may confirm a destructive recovery.")
    playbook = playbooks.build(pending.scenario, pending.target or None)
    _not_busy(pending.scenario)
    engine.start(playbook, operator.name, operator.trigger, notify, kit)


def _not_busy(scenario):
    busy = engine.running(scenario)
    if busy is not None:
        raise RecoveryBusy(f"A '{scenario}' recovery is already running (run #{busy}); one at a time. "
                           f"See @recover/history {busy}.")
