"""
World-building commands.
"""

from world.builder import build_world
from world.regions import RegionDataError

from .command import Command


class CmdBuildWorld(Command):
    """
    Rebuild the regions from the region data file.

    Usage:
      @buildworld

    Reads world/regions.toml and makes the world match it: missing regions and
    exits are created, changed names, aliases and descriptions are applied,
    nothing is duplicated. A bad data file changes nothing and the problems
    are listed.

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
            report = build_world()
        except RegionDataError as err:
            self.msg(f"|rThe world was not changed.|n {err}")
            return
        self.msg(report.summary())
        for line in report.created + report.updated + report.removed:
            self.msg(f"  {line}")
