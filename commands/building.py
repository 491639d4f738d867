"""
World-building commands.
"""

from evennia.utils import logger

from world.builder import build_world_in_game
from world.regions import RegionDataError

from .command import Command

NOT_CHANGED = "|rThe world was not changed.|n"


class CmdBuildWorld(Command):
    """
    Rebuild the regions from the region data file.

    Usage:
      @buildworld

    Reads world/regions.toml and makes the world match it: missing regions and
    exits are created, changed names, aliases and descriptions are applied,
    nothing is duplicated. A bad data file changes nothing and the problems
    are listed. A missing agent gets its account and character back; its
    password is hashed in the background first, so the report can take a
    moment then.

    Examples:
      @buildworld
    """

    key = "@buildworld"
    aliases = ["buildworld"]
    locks = "cmd:perm(Developer)"
    help_category = "Building"

    def parse(self):
        super().parse()
        if self.args.strip():
            self.refuse(self.usage())

    def func(self):
        try:
            deferred = build_world_in_game()
        except RegionDataError as err:
            self.msg(f"{NOT_CHANGED} {err}")
            return
        deferred.addCallbacks(self._report, self._failed)

    def _report(self, report):
        self.msg(report.summary())
        for line in report.created + report.updated + report.removed:
            self.msg(f"  {line}")

    def _failed(self, failure):
        if failure.check(RegionDataError):  # the file changed while the hashes were made
            self.msg(f"{NOT_CHANGED} {failure.value}")
            return
        logger.log_err(f"@buildworld by {self.caller} failed: {failure.getTraceback()}")
        self.msg("The build failed; the server log says why.")  # maybe after some of it was done
