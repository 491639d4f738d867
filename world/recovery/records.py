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
from world.plaintext import is_number
from world.presentation import plain_text

EXCERPT_LIMIT = 2000
INTERRUPTED_SUMMARY = "interrupted: the server stopped during the run"
INTERRUPTED_STEP_TEXT = "the server stopped during this step, its outcome is unknown: {title}"
STEP_RUNNING, STEP_INTERRUPTED = "running", "interrupted"  # besides ok, failed, found, skipped


def start_run(scenario, target, started_by, trigger, now=None):
    """Create the record of a run that starts now."""
    run = RecoveryRun.objects.create(scenario=scenario, target=target or "", started_by=started_by[:80],
                                     trigger=trigger, started_at=now or time.time())
    logger.log_info(f"[recover] run #{run.id} {scenario}{' ' + target if target else ''} "
                    f"started by {started_by} ({trigger})")
    return run


def begin_step(run, index, step, started_at):
    """Store a step that starts now as `running`, so a crash leaves a trace of it.

    `record_step` fills the same row in when the step ends; a row still
    `running` when the server starts again is marked interrupted.
    """
    return RecoveryStep.objects.create(run=run, index=index, kind=step.kind, title=plain_text(step.title, 200),
                                       state=STEP_RUNNING, text="under way", started_at=started_at)


def record_step(run, index, step, outcome, started_at, finished_at, record=None):
    """Store one finished (or skipped) step and log it.

    Args:
        record (RecoveryStep, optional): The row `begin_step` made for this
            step; a new row is made if None (a skipped step).
    """
    result = outcome.command
    if outcome.ok:
        state = "ok"
    else:
        state = "skipped" if outcome.skipped else ("found" if step.informational else "failed")
    fields = dict(
        kind=step.kind, title=plain_text(step.title, 200), state=state,
        text=plain_text(outcome.text, 300), started_at=started_at, finished_at=finished_at,
        duration=round(finished_at - started_at, 3),
        argv=list(result.argv) if result else None,
        exit_code=result.exit_code if result else None,
        output_digest=result.digest if result else "",
        output_bytes=result.output_bytes if result else 0,
        output_excerpt=(result.output[-EXCERPT_LIMIT:] if result else ""),
    )
    if record is None:
        record = RecoveryStep.objects.create(run=run, index=index, **fields)
    else:
        for name, value in fields.items():
            setattr(record, name, value)
        record.save()
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

    The step each was in the middle of (recorded as `running` when it
    started) is marked interrupted too, so the audit says where the run was
    cut off. Called once at server start: no run can be under way before it.
    """
    now = now or time.time()
    runs = list(RecoveryRun.objects.filter(state=RecoveryRun.RUNNING))
    with transaction.atomic():
        for run in runs:
            for step in RecoveryStep.objects.filter(run=run, state=STEP_RUNNING):
                _interrupt_step(run, step, now)
            finish_run(run, RecoveryRun.INTERRUPTED, INTERRUPTED_SUMMARY, now=now)
    return runs


def _interrupt_step(run, step, now):
    """Close a step row a crash left `running`, saying what it was doing."""
    step.state, step.finished_at = STEP_INTERRUPTED, now
    step.text = plain_text(INTERRUPTED_STEP_TEXT.format(title=step.title), 300)
    step.save(update_fields=["state", "finished_at", "text"])
    logger.log_warn(f"[recover] run #{run.id} step {step.index} {step.kind} interrupted: {step.title}")


def recent_runs(limit=15):
    """The latest runs, oldest first."""
    return list(RecoveryRun.objects.order_by("-id")[:limit])[::-1]


def find_run(run_id):
    """The run with this id (an int or '#12'), or None."""
    text = str(run_id).strip().lstrip("#")
    if not is_number(text) or len(text) > 9:
        return None
    return RecoveryRun.objects.filter(id=int(text)).first()


def auto_runs_since(since):
    """How many automatic runs started since `since` (the storm limit counts them)."""
    return RecoveryRun.objects.filter(trigger="auto", started_at__gte=since).count()
