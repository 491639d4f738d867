"""
The daily report: a global Script (settings.GLOBAL_SCRIPTS["daily_report"]).

Every minute it does two things:

- notes what the agents did since the last minute in its activity ledger
  (world/report/activity.py), because an agent's own memory keeps only
  about the last hour of decisions;
- once the daily time (TIMMY_REPORT_AT, UTC, default 06:00) has passed for
  a day not yet reported, it makes the report of the day before, keeps it
  as server/logs/reports/report-YYYY-MM-DD.md (the file is written in a
  worker thread) and posts a short summary on the ops channel.

The last day reported is kept in an Attribute, so a reload or a restart
neither repeats nor skips a day; a server that was down at the daily time
catches up once (the latest day only) at its next check. A Script that has
never run starts counting from its first check. A report that could not be
kept is said on the ops channel and tried again RETRY_SECONDS later.
"""

import time

from django.conf import settings
from typeclasses.scripts import Script
from evennia.typeclasses.attributes import AttributeProperty
from evennia.utils import logger

CHECK_INTERVAL = 60
RETRY_SECONDS = 600


class DailyReportScript(Script):
    """Makes, keeps and announces the daily report; keeps the agents' activity ledger."""

    last_reported_day = AttributeProperty(None, autocreate=False)
    activity = AttributeProperty(dict, autocreate=False)

    def at_script_creation(self):
        self.key = "daily_report"
        self.desc = "Daily report: uptime, incidents, backups, agents (world/report)"
        self.interval = CHECK_INTERVAL
        self.persistent = True

    def at_repeat(self, **kwargs):
        """Note the agents' activity, then make the daily report if it is due."""
        self.tick()

    def tick(self, now=None):
        """One check (tests call it with a fixed `now`).

        Returns:
            Deferred or None: The report being made, if one was started.
        """
        now = time.time() if now is None else now
        try:
            self.note_activity(now)
        except Exception:
            logger.log_trace("Daily report: noting the agents' activity failed")
        return self.check_schedule(now)

    def note_activity(self, now):
        """Add what the agents did since the last check to the ledger (saved only if it changed)."""
        from evennia.utils.dbserialize import deserialize

        from world.report.service import observe_agents

        before = deserialize(self.activity or {})
        after = observe_agents(before, now)
        if after != before:
            self.activity = after

    def report_at(self):
        """TIMMY_REPORT_AT, or the default (with one logged error) when it is malformed."""
        from world.report.days import DEFAULT_REPORT_AT, BadReportTime, parse_report_at

        value = getattr(settings, "TIMMY_REPORT_AT", DEFAULT_REPORT_AT)
        try:
            parse_report_at(value)
            return value
        except BadReportTime as err:
            if not self.ndb.warned:
                logger.log_err(f"Daily report: {err}; using {DEFAULT_REPORT_AT}.")
                self.ndb.warned = True
            return DEFAULT_REPORT_AT

    def check_schedule(self, now=None):
        """Start the report of the previous day if its time has come.

        Args:
            now (float, optional): Current unix time.

        Returns:
            Deferred or None: Fires with (path, facts) once the report is kept.
        """
        from world.report import days, service

        now = time.time() if now is None else now
        due = days.day_due(now, self.report_at(), self.last_reported_day)
        if due is None:
            return None
        if self.last_reported_day is None:
            self.last_reported_day = days.day_text(due)  # the first report is of the first day seen
            return None
        if self.ndb.running or now < (self.ndb.retry_at or 0):
            return None
        self.ndb.running = True
        deferred = service.make_daily_report(due, now, ledger=self.activity_ledger())
        deferred.addCallbacks(self._kept, self._failed, callbackArgs=(due,), errbackArgs=(due, now))
        deferred.addBoth(self._finished)
        deferred.addErrback(lambda failure: logger.log_err(
            f"Daily report: announcing failed:\n{failure.getTraceback()}"))
        return deferred

    def activity_ledger(self):
        """The ledger as plain data."""
        from evennia.utils.dbserialize import deserialize

        return deserialize(self.activity or {})

    def _kept(self, result, day):
        from world.heartbeat.transitions import announce_ops
        from world.report import render
        from world.report.days import day_text

        path, facts = result
        self.last_reported_day = day_text(day)
        self.ndb.retry_at = None
        logger.log_info(f"Daily report for {day_text(day)} kept in {path}")
        announce_ops(render.summary(facts))
        return result

    def _failed(self, failure, day, now):
        from world.heartbeat.transitions import announce_ops
        from world.report.days import day_text

        self.ndb.retry_at = now + RETRY_SECONDS
        logger.log_err(f"Daily report for {day_text(day)} failed:\n{failure.getTraceback()}")
        reason = failure.getErrorMessage().replace("|", "||")[:200]
        announce_ops(f"|r[report] The daily report for {day_text(day)} could not be made ({reason}); "
                     f"trying again in {RETRY_SECONDS // 60} minutes.|n")
        return None

    def _finished(self, outcome):
        self.ndb.running = False
        return outcome
