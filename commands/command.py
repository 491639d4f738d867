"""
The base command of Timmy World.

Commands are thin: `parse()` handles syntax (raising InterruptCommand with a
usage message on bad input), `func()` finds, checks, calls one handler method
and reports. Logic lives in world/ and typeclasses/.
"""

from evennia.commands.command import InterruptCommand
from evennia.commands.default.muxcommand import MuxCommand


class Command(MuxCommand):
    """Base for every Timmy World command.

    MuxCommand parsing gives `self.switches`, `self.lhs` and `self.rhs`;
    `switch_options` lists the switches a command accepts. An unknown switch
    is refused before anything runs (MuxCommand alone would only warn and
    carry on).
    """

    switch_options = ()

    def parse(self):
        """Refuse unknown switches, then parse as MuxCommand does."""
        raw = self.args.strip() if self.args else ""
        if raw.startswith("/"):
            given = raw[1:].split(None, 1)[0].split("/") if raw[1:] else [""]
            allowed = [option.lower() for option in self.switch_options or ()]
            unknown = [switch for switch in given if switch.lower() not in allowed]
            if unknown:
                valid = ", ".join(f"/{option}" for option in allowed) or "none"
                self.refuse(f"Unknown switch '/{unknown[0][:20]}' (valid: {valid}). {self.usage()}")
        super().parse()

    def refuse(self, message):
        """Tell the caller why the input was rejected and stop the command.

        Args:
            message (str): What was wrong, and what would be right.

        Raises:
            InterruptCommand: Always; nothing after this runs.
        """
        self.msg(f"|r{message}|n")
        raise InterruptCommand

    def usage(self):
        """The `Usage:` part of this command's docstring, for error messages."""
        doc = self.__doc__ or ""
        lines, capture = [], False
        for line in doc.splitlines():
            stripped = line.strip()
            if stripped.startswith("Usage:"):
                capture = True
                continue
            if capture and (not stripped or stripped.endswith(":")):
                break
            if capture:
                lines.append(stripped)
        return "Usage: " + "; ".join(lines) if lines else ""
