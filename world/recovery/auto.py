"""
Self-healing, Monit-style: a service the heartbeat confirms down runs its
playbook once by itself, if its HEALTH_CHECKS entry says `auto_recover: True`.

Which playbook heals which service: RECOVERY_SERVICE_PLAYBOOKS (ollama,
gitea, agents). A storm limit keeps a flapping fleet from restarting itself
in a loop: past RECOVERY_AUTO_LIMIT automatic runs in RECOVERY_AUTO_WINDOW
seconds (all services together), the incident is escalated instead. An
automatic run never does anything destructive: that needs a person, so it
escalates too. Connected once at server start, like the incident sources.
"""

import time

from evennia.utils import logger

from world.heartbeat.transitions import announce_ops, service_transition
from world.recovery import config, engine, incidentlink, playbooks, records
from world.recovery.errors import RecoveryError
from world.recovery.steps import check_for
from world.servicestate import DOWN

AUTO_ACTOR = "heartbeat"


def on_transition(sender, transition, **kwargs):
    """A confirmed transition: if a service went down, heal it soon (after the incident is open)."""
    if transition.new != DOWN:
        return
    from twisted.internet import reactor

    reactor.callLater(0, _consider_logged, transition.service)


def _consider_logged(service):
    try:
        consider(service)
    except Exception:
        logger.log_trace(f"Automatic recovery of {service} failed")


def consider(service, now=None, kit=None):
    """Run the service's playbook automatically, or escalate; return what was done.

    Returns:
        str: "off", "no playbook", "busy", "escalated", "started" or "cannot".
    """
    check = check_for(service)
    if check is None or not check.auto_recover:
        return "off"
    scenario = (config.setting("RECOVERY_SERVICE_PLAYBOOKS") or {}).get(service)
    if scenario not in playbooks.SCENARIOS:
        logger.log_warn(f"[recover] {service} asks for auto_recover but no playbook heals it")
        return "no playbook"
    if engine.running(scenario) is not None:
        return "busy"
    now = now or time.time()
    limit, window = int(config.setting("RECOVERY_AUTO_LIMIT")), config.seconds("RECOVERY_AUTO_WINDOW")
    if records.auto_runs_since(now - window) >= limit:
        return _escalate(service, scenario, f"automatic recovery storm limit reached ({limit} runs in "
                                            f"{window / 60:.0f} min); a person must look", now)
    try:
        playbook = playbooks.build(scenario)
    except RecoveryError as err:
        logger.log_info(f"[recover] no automatic {scenario} recovery: {err}")
        return "cannot"
    reasons = playbook.destructive_reasons()
    if reasons:
        return _escalate(service, scenario, f"automatic recovery would be destructive ({reasons[0]})", now)
    engine.start(playbook, AUTO_ACTOR, "auto", kit=kit)
    return "started"


def _escalate(service, scenario, reason, now):
    incident, what = incidentlink.escalate(service, scenario, f"recovery ({AUTO_ACTOR})", reason, now=now)
    announce_ops(f"|r[recover]|n no automatic '{scenario}' recovery: {reason}; {what}.")
    return "escalated"


def connect():
    """Subscribe to the heartbeat's transitions (idempotent)."""
    service_transition.connect(on_transition, dispatch_uid="recovery.auto")
