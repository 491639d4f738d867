"""
The daily backup: a global Script (settings.GLOBAL_SCRIPTS["backup_schedule"]).

Every `interval` seconds it asks world/backup/schedule.py whether the daily
slot (BACKUP_DAILY_AT, UTC) has passed since its last run; if so it starts
the scheduled job (world/backup/jobs.py: backup, verify, and prune only if
the new backup verified) in a worker thread and says how it went in the
server log and on the ops channel. The time of the last run is kept in an
Attribute, so a reload or a restart neither repeats nor skips a day; a
server that was down at the daily time catches up at its next check.
"""

import time

from django.conf import settings
from typeclasses.scripts import Script
from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils import logger

CHECK_INTERVAL = 60


class BackupScheduleScript(Script):
    """Runs the daily backup, verification and prune."""

    last_run_at = AttributeProperty(None, autocreate=False)
    last_result = AttributeProperty(dict, autocreate=False)

    def at_script_creation(self):
        self.key = "backup_schedule"
        self.desc = "Daily backup, verification and retention (world/backup)"
        self.interval = CHECK_INTERVAL
        self.persistent = True

    def at_repeat(self, **kwargs):
        """Start the daily backup if its time has come."""
        self.check_schedule()

    def check_schedule(self, now=None, reactor=None):
        """Start the scheduled job if the daily slot has passed since the last run.

        Args:
            now (float, optional): Current unix time.
            reactor (optional): Reactor the job reports through.

        Returns:
            Deferred or None: The job, if one was started.
        """
        from world.backup import jobs, schedule
        from world.backup.config import BackupConfigError, load_config

        now = time.time() if now is None else now
        try:
            config = load_config()
        except BackupConfigError as err:
            logger.log_err(f"Daily backup: {err}")
            return None
        if self.last_run_at is None:
            self.last_run_at = now  # the first slot counts from the first start
            return None
        if self.ndb.running or not schedule.is_due(now, config.daily_at, self.last_run_at):
            return None
        previous, self.last_run_at = self.last_run_at, now
        self.ndb.running = True
        deferred = jobs.start_scheduled_backup(reactor=reactor, config=config)
        deferred.addCallbacks(self._succeeded, self._failed, errbackArgs=(previous,))
        deferred.addBoth(self._finished)
        deferred.addErrback(lambda failure: logger.log_err(
            f"Daily backup: reporting failed:\n{failure.getTraceback()}"))
        return deferred

    def _succeeded(self, outcome):
        from world.backup.report import backup_done_text, format_size

        text = f"Daily backup: {backup_done_text(outcome)}"
        if outcome.prune and outcome.prune.deleted:
            text += (f" Pruned {len(outcome.prune.deleted)} old backup(s), "
                     f"{format_size(outcome.prune.freed_bytes)} freed.")
        ok = outcome.verify is not None and outcome.verify.ok
        self.last_result = {"ok": ok, "at": time.time(), "id": outcome.entry.id, "text": text}
        logger.log_info(text)
        announce(text, ok)
        return outcome

    def _failed(self, failure, previous):
        from world.backup.errors import BackupBusy

        if failure.check(BackupBusy):
            self.last_run_at = previous  # another backup runs: try again at the next check
            return None
        text = f"Daily backup failed: {failure.getErrorMessage()}"
        self.last_result = {"ok": False, "at": time.time(), "id": None, "text": text}
        announce(text, ok=False)
        return None

    def _finished(self, outcome):
        self.ndb.running = False
        return outcome


def announce(text, ok=True):
    """Say a line on the ops channel, if there is one (red when something failed)."""
    from evennia import search_channel

    channels = search_channel(getattr(settings, "OPS_CHANNEL_KEY", "ops"))
    if channels:
        escaped = text.replace("|", "||")
        channels[0].msg(escaped if ok else f"|r{escaped}|n")
