"""
Backup results as text, the same in game and on the command line.

Everything returns plain text without colour markup; the in-game command
escapes it and adds colour, the CLI prints it as it is.
"""

import time

from world.backup.units import format_seconds, format_size
from world.presentation import age_text

__all__ = ["format_size", "format_seconds", "list_lines", "backup_done_text", "verify_lines", "drill_lines",
           "prune_lines", "restore_lines", "ProgressText"]

STAGE_NAMES = {"database": "database", "files": "files", "verify": "verifying", "restore": "restoring"}
STAGE_UNITS = {"database": "pages", "files": "files", "verify": "files", "restore": "steps"}
PROGRESS_STEPS = (25, 50, 75, 100)
PROGRESS_QUIET_SECONDS = 2.0


def list_lines(entries, now=None):
    """The backup table: id, when, size, verified, drill; newest first."""
    now = time.time() if now is None else now
    if not entries:
        return ["There are no backups yet."]
    lines = [f"{'Backup':<19} {'Created (UTC)':<16} {'Age':>4} {'Size':>10}  {'Verified':<8} Drill"]
    for entry in reversed(entries):
        created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.created))
        size = format_size(entry.size) if entry.valid else "-"
        lines.append(f"{entry.id:<19} {created:<16} {age_text(max(0, now - entry.created)):>4} {size:>10}  "
                     f"{verified_cell(entry):<8} {drill_cell(entry, now)}")
    return lines


def verified_cell(entry):
    """'yes', 'no', 'FAILED' or 'BROKEN' (no valid manifest)."""
    if not entry.valid:
        return "BROKEN"
    if entry.verify is None:
        return "no"
    return "yes" if entry.verify["ok"] else "FAILED"


def drill_cell(entry, now):
    """'-', 'ok 3h ago' or 'FAILED 3h ago'."""
    if not entry.drill:
        return "-"
    word = "ok" if entry.drill["ok"] else "FAILED"
    return f"{word} {age_text(now - entry.drill['at'])} ago"


def backup_done_text(outcome):
    """One line for a finished backup (and its verification)."""
    entry = outcome.entry
    files = len(entry.manifest["files"])
    text = (f"Backup {entry.id} done: {format_size(entry.size)} in {files} file(s), "
            f"{format_seconds(outcome.seconds)}")
    if outcome.verify is None:
        return text + " (not verified)."
    if outcome.verify.ok:
        return text + ", verified."
    return text + ". Its verification FAILED: " + "; ".join(outcome.verify.problems[:3])


def verify_lines(result):
    """Lines for one verification."""
    if result.ok:
        return [f"Backup {result.backup_id} verified: {result.files_checked} file(s), "
                f"{format_size(result.bytes_checked)} match the manifest; integrity_check ok; "
                f"row counts of {result.tables_checked} tables match."]
    return [f"Backup {result.backup_id} FAILED verification:"] + [f"  {line}" for line in result.problems]


def drill_lines(result):
    """Lines for one DR drill."""
    if result.ok:
        return [f"Drill of backup {result.backup_id} passed in {format_seconds(result.seconds)}: restored "
                f"into a scratch folder, integrity_check ok, {result.tables} tables with the recorded rows, "
                f"regions {', '.join(result.regions)}, {result.accounts} account(s). Scratch folder removed."]
    return [f"Drill of backup {result.backup_id} FAILED:"] + [f"  {line}" for line in result.problems]


def prune_lines(report):
    """Lines for a prune (or its dry run)."""
    plan = report.plan
    lines = [plan.note] if plan.note else []
    verb = "Would delete" if report.dry_run else "Deleted"
    if plan.delete:
        lines.append(f"{verb} {len(plan.delete)} backup(s): {', '.join(plan.delete)}"
                     + ("" if report.dry_run else f" ({format_size(report.freed_bytes)} freed)."))
    else:
        lines.append("Nothing to prune.")
    for backup_id, reasons in sorted(plan.keep.items(), reverse=True):
        lines.append(f"  keep {backup_id}: {', '.join(reasons)}")
    return lines


def restore_lines(report):
    """Lines for a finished restore, with where the previous state was kept."""
    lines = [f"Restored backup {report.backup_id} to {report.database_path} "
             f"in {format_seconds(report.seconds)}; integrity_check ok."]
    if report.set_aside:
        lines.append("The previous database was kept as: " + ", ".join(report.set_aside))
    if report.files_restored:
        lines.append(f"Restored {len(report.files_restored)} file(s): {', '.join(report.files_restored[:10])}"
                     + (" ..." if len(report.files_restored) > 10 else ""))
    if report.files_aside_dir:
        lines.append(f"Files they replaced were kept in {report.files_aside_dir}")
    lines.append("Start the server to bring the world back (make run).")
    return lines


class ProgressText:
    """Turns a stream of progress(stage, done, total) calls into a few lines.

    Nothing is said during the first PROGRESS_QUIET_SECONDS of a job (a quick
    job only reports its result); after that each stage is reported when it
    passes 25%, 50%, 75% and 100%, so a big backup says how far it is without
    flooding the caller.
    """

    def __init__(self, label, quiet_seconds=None, clock=time.monotonic):
        self.label = label
        self.quiet_seconds = PROGRESS_QUIET_SECONDS if quiet_seconds is None else quiet_seconds
        self.clock = clock
        self.started = clock()
        self.reported = {}

    def __call__(self, stage, done, total):
        """Return a line to show now, or None."""
        percent = 100 if not total else int(100 * done / total)
        passed = [step for step in PROGRESS_STEPS if percent >= step]
        if not passed or self.reported.get(stage, 0) >= passed[-1]:
            return None
        if self.clock() - self.started < self.quiet_seconds:
            return None
        self.reported[stage] = passed[-1]
        unit = STAGE_UNITS.get(stage, "")
        return f"{self.label}: {STAGE_NAMES.get(stage, stage)} {passed[-1]}% ({done}/{total} {unit})"
