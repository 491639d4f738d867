"""
`@report`: the daily report (uptime, incidents, backups, what the agents did).

The work is in world/report/; this command parses the day, asks for that
day's report (kept or made now, without blocking the server) and shows it.
"""

from evennia.utils import logger

from world.presentation import plain_text
from world.report import days, service

from .command import Command


class CmdReport(Command):
    """
    Show the daily report: uptime, incidents, backups, what the agents did.

    Usage:
      @report
      @report <YYYY-MM-DD>

    Without a date: today's report so far (days are UTC). With a date: that
    day's report as it was kept when the day was over, or, if none was kept,
    made now from what the world still knows (heartbeat history is kept for
    a week). Every day at TIMMY_REPORT_AT (06:00 UTC by default) the report
    of the day before is kept under server/logs/reports/ and summed up on
    the ops channel. The website shows the same at /status/report/.

    Examples:
      @report
      @report 2026-11-23
    """

    key = "@report"
    aliases = ["report"]
    locks = "cmd:perm(Helper)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        text = self.args.strip()
        self.day = None
        if not text:
            return
        try:
            day = days.parse_day(text)
        except days.BadDay:
            self.refuse(f"'{plain_text(text, 40)}' is not a date like 2026-11-23 (UTC). {self.usage()}")
        try:
            self.day = days.check_past_or_today(day)
        except days.FutureDay:
            self.refuse(f"There is no report for a day that has not happened yet: {days.day_text(day)} "
                        f"(today is {days.day_text(days.today())} UTC).")

    def func(self):
        service.report_text(self.day).addCallbacks(self.msg, self.failed)

    def failed(self, failure):
        """Say the report could not be made; the details go to the server log."""
        logger.log_err(f"@report failed:\n{failure.getTraceback()}")
        self.msg("|rThe report could not be made; the error is in the server log.|n")
