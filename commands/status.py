"""
`@status`: the fleet on one screen.
"""

from world import status_report
from world.status_report import service_names

from .command import Command


class CmdStatus(Command):
    """
    Show the state of the fleet.

    Usage:
      @status
      @status <service>

    Without an argument: every service (state, latency, since when, last
    check), the agents, open incidents, the last backup and the heartbeat's
    age. With a service name: its recent history as a sparkline, its uptime
    over 24 hours and its last error.

    Examples:
      @status
      @status ollama
    """

    key = "@status"
    aliases = ["status"]
    locks = "cmd:all()"
    help_category = "Operations"

    def parse(self):
        super().parse()
        self.service = self.args.strip().lower()
        if self.service and self.service not in service_names():
            self.refuse(
                f"There is no service called '{self.service[:40]}'. "
                f"Services: {', '.join(service_names())}."
            )

    def func(self):
        if self.service:
            self.msg(status_report.service_detail(self.service))
        else:
            self.msg(status_report.status_screen())
