"""
Infrastructure loss: the guided rebuild. Restoring needs the server stopped,
so nothing here changes the world: it finds the backup to restore and shows
the exact command-line steps.
"""

from twisted.internet import defer

from world.backup import store
from world.backup.config import BackupConfigError, load_config
from world.backup.errors import BackupError
from world.presentation import age_text
from world.recovery.steps import Step, StepOutcome

PLAN = (
    "On the machine (a new one: check out the same commit and run `make venv` first;",
    "  copy the backup folder into backups/ and add --files to the restore):",
    "  1. make stop",
    "  2. .venv/bin/python bin/timmy verify {backup}",
    "  3. .venv/bin/python bin/timmy restore {backup}",
    "  4. make run        (starts the world, rebuilds the regions, starts the agents)",
    "  5. in game: @status, then @recover agent for any agent that is not back",
)


def find_backup(wanted):
    """(entry, note) for the backup to restore: `wanted`, or the latest verified one.

    Runs in a worker thread (files only, no ORM).
    """
    config = load_config()
    if wanted:
        entry = store.find(config, wanted)
        return entry, "" if entry.verified else "it has not been verified yet"
    valid = store.valid_backups(config)
    verified = [entry for entry in valid if entry.verified]
    if verified:
        return verified[-1], ""
    if valid:
        return valid[-1], "no backup has been verified; this is the newest intact one"
    return None, "there are no backups"


def plan_lines(backup_id):
    """The exact CLI steps for restoring `backup_id`."""
    return [line.format(backup=backup_id) for line in PLAN]


class LatestBackupStep(Step):
    """Find the backup to restore."""

    kind = "backup"

    def __init__(self, wanted=None):
        self.wanted = wanted

    def describe(self):
        return f"find backup {self.wanted}" if self.wanted else "find the latest verified backup"

    @defer.inlineCallbacks
    def run(self, run):
        try:
            entry, note = yield run.kit.in_thread(find_backup, self.wanted)
        except (BackupError, BackupConfigError) as err:
            return StepOutcome(False, str(err))
        if entry is None:
            return StepOutcome(False, f"{note}: make one with `.venv/bin/python bin/timmy backup` while the world runs")
        run.memo["backup_id"] = entry.id
        age = age_text(run.kit.now() - entry.created)
        verified = "verified" if entry.verified else "not verified"
        return StepOutcome(True, f"backup {entry.id} ({age} old, {verified})" + (f"; {note}" if note else ""))


class GuidanceStep(Step):
    """Show the exact CLI steps of the rebuild (restoring needs the server stopped)."""

    kind = "guidance"
    always = True

    def describe(self):
        return "show the rebuild plan: the exact CLI steps (the restore itself needs the server stopped)"

    def run(self, run):
        backup_id = run.memo.get("backup_id", "latest")
        run.extra_lines.extend(plan_lines(backup_id))
        return StepOutcome(True, f"plan shown: restore {backup_id} with the server stopped, then make run")
