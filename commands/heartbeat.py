"""
`@heartbeat`: run one beat now, or change how often it beats.
"""

from django.conf import settings
from evennia.utils import logger

from world import status_report
from world.heartbeat.service import beat, heartbeat_script
from world.plaintext import is_number

from .command import Command


class CmdHeartbeat(Command):
    """
    Run the heartbeat now, or change its interval.

    Usage:
      @heartbeat
      @heartbeat/interval <seconds>

    Switches:
      interval - set the seconds between beats (Admin only); it persists
                 across reload and restart.

    The heartbeat probes every configured service at once and announces
    services that go down or come back on the ops channel and in their
    region.

    Examples:
      @heartbeat
      @heartbeat/interval 30
    """

    key = "@heartbeat"
    aliases = ["heartbeat"]
    switch_options = ("interval",)
    locks = "cmd:perm(Helper);interval:perm(Admin)"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.seconds = None
        if "interval" in self.switches:
            low, high = settings.HEARTBEAT_INTERVAL_BOUNDS
            text = self.args.strip()
            if not is_number(text):
                self.refuse(f"The interval must be a whole number of seconds ({low}-{high}). "
                            f"{self.usage()}")
            self.seconds = int(text)
            if not low <= self.seconds <= high:
                self.refuse(f"The interval must be between {low} and {high} seconds.")
        elif self.args.strip():
            self.refuse(self.usage())

    def func(self):
        if self.seconds is not None:
            self.set_interval()
        else:
            self.run_beat()

    def set_interval(self):
        if not self.access(self.caller, "interval"):
            self.msg("|rOnly an Admin can change the heartbeat interval.|n")
            return
        heartbeat_script().set_interval(self.seconds)
        self.msg(f"The heartbeat now beats every {self.seconds} seconds.")

    def run_beat(self):
        deferred = beat()
        deferred.addCallback(self._report)
        deferred.addErrback(self._failed)

    def _report(self, outcome):
        if outcome is None:
            self.msg("A heartbeat is already running; its results will show in |w@status|n.")
            return
        results, changes = outcome
        lines = ["|wHeartbeat results:|n"] + status_report.probe_table(results)
        if changes:
            lines.append(f"{len(changes)} state change(s) announced on the ops channel.")
        self.msg("\n".join(lines))

    def _failed(self, failure):
        logger.log_trace(f"@heartbeat failed: {failure.getErrorMessage()}")
        self.msg("|rThe heartbeat failed; the error is in the server log.|n")
