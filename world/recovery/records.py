"""
The audit trail: recovery runs and their steps in the database, and in the log.

Every function runs on the reactor thread (ORM). Outputs are stored as their
SHA-256 digest, their size and a bounded excerpt (the end, where errors are).
"""

import shlex
import time

from django.db import transaction
from evennia.utils import logger

from world.models import RecoveryRun, RecoveryStep
from world.presentation import plain_text

EXCERPT_LIMIT = 2000
INTERRUPTED_SUMMARY = "interrupted: the server stopped during the run"


def start_run(scenario, target, started_by, trigger, now=None):
    """Create the record of a run that starts now."""
    run = RecoveryRun.objects.create(scenario=scenario, target=target or "", started_by=started_by[:80],
                                     trigger=trigger, started_at=now or time.time())
    logger.log_info(f"[recover] run #{run.id} {scenario}{' ' + target if target else ''} "
                    f"started by {started_by} ({trigger})")
    return run


def record_step(run, index, step, outcome, started_at, finished_at):
    """Store one finished (or skipped) step and log it."""
    result = outcome.command
    if outcome.ok:
        state = "ok"
    else:
        state = "skipped" if outcome.skipped else ("found" if step.informational else "failed")
    record = RecoveryStep.objects.create(
        run=run, index=index, kind=step.kind, title=plain_text(step.title, 200), state=state,
        text=plain_text(outcome.text, 300), started_at=started_at, finished_at=finished_at,
        duration=round(finished_at - started_at, 3),
        argv=list(result.argv) if result else None,
        exit_code=result.exit_code if result else None,
        output_digest=result.digest if result else "",
        output_bytes=result.output_bytes if result else 0,
        output_excerpt=(result.output[-EXCERPT_LIMIT:] if result else ""),
    )
    command = f" argv={shlex.join(result.argv)} exit={result.exit_code} sha256={result.digest}" if result else ""
    logger.log_info(f"[recover] run #{run.id} step {index} {step.kind} {state} "
                    f"({record.duration:.1f} s){command}: {record.text}")
    return record


def finish_run(run, state, summary, incident=None, now=None):
    """Close the record of a run."""
    run.state, run.summary = state, plain_text(summary, 300)
    run.finished_at = now or time.time()
    if incident is not None:
        run.incident = incident
    run.save()
    logger.log_info(f"[recover] run #{run.id} {run.scenario} {state} "
                    f"after {run.finished_at - run.started_at:.1f} s: {run.summary}")
    return run


def mark_interrupted(now=None):
    """Mark runs left `running` by a crash or restart as interrupted; return them.

    Called once at server start: no run can be under way before it.
    """
    now = now or time.time()
    runs = list(RecoveryRun.objects.filter(state=RecoveryRun.RUNNING))
    with transaction.atomic():
        for run in runs:
            finish_run(run, RecoveryRun.INTERRUPTED, INTERRUPTED_SUMMARY, now=now)
    return runs


def recent_runs(limit=15):
    """The latest runs, oldest first."""
    return list(RecoveryRun.objects.order_by("-id")[:limit])[::-1]


def find_run(run_id):
    """The run with this id (an int or '#12'), or None."""
    text = str(run_id).strip().lstrip("#")
    if not text.isdigit() or len(text) > 9:
        return None
    return RecoveryRun.objects.filter(id=int(text)).first()


def auto_runs_since(since):
    """How many automatic runs started since `since` (the storm limit counts them)."""
    return RecoveryRun.objects.filter(trigger="auto", started_at__gte=since).count()
