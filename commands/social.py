"""
Evennia's `pose` and `page`, holding their text to plain text.

Speech (`say`, `whisper`) and channel lines are cleaned where they are
made (Character.at_pre_say, Channel.at_pre_msg); these two default
commands send text by other roads, so they are replaced here: what a player
or an agent poses or pages arrives as one plain line (no MXP link, escape
sequence, colour flood or line break that fakes another speaker), and a pose
goes into the room through `msg_contents`' mapping, so braces and `$func()`
calls in it are shown as typed instead of being run.
"""

from evennia.commands.default.comms import CmdPage as DefaultCmdPage
from evennia.commands.default.general import CmdPose as DefaultCmdPose

from world.plaintext import SPEECH_LIMIT, plain_text


class CmdPose(DefaultCmdPose):
    """
    Strike a pose: describe what you do, after your name.

    Usage:
      pose <pose text>
      pose's <pose text>

    Examples:
      pose checks the relay's lamps.
      :frowns at the Oracle.

    Everyone in the room sees your name followed by the text, as plain text.
    """

    def parse(self):
        """Clean the text, then keep Evennia's rule for "'s", "," and ":" poses."""
        self.args = plain_text(self.args, SPEECH_LIMIT)
        super().parse()
        if self.args.strip() in ("", "'", ",", ":"):
            self.args = ""

    def func(self):
        """Show the pose to the room, the text as written."""
        if not self.args:
            self.msg("What do you want to do?")
            return
        self.caller.location.msg_contents(
            text=("{name}{pose}", {"type": "pose"}), from_obj=self.caller,
            mapping={"name": self.caller, "pose": self.args},
        )


class CmdPage(DefaultCmdPage):
    """
    Send a private message to another account.

    Usage:
      page <account> <message>
      page[/switches] [<account>,<account>,... = <message>]
      page <number>

    Switches:
      last - shows who you last messaged
      list - show your last <number> of tells/pages (default)

    Examples:
      page bezalel the vault drill passed
      page ezra, timmy = ollama is back
      page/list 5

    The message arrives as plain text: markup, links and line breaks are
    removed or folded.
    """

    def parse(self):
        """Clean the whole line before Evennia splits it into targets and message."""
        self.args = plain_text(self.args, SPEECH_LIMIT)
        super().parse()
