"""
Command sets

All commands in the game must be grouped in a cmdset.  A given command
can be part of any number of cmdsets and cmdsets can be added/removed
and merged onto entities at runtime.

To create new commands to populate the cmdset, see
`commands/command.py`.

This module wraps the default command sets of Evennia; overloads them
to add/remove commands from the default lineup. You can create your
own cmdsets by inheriting from them or directly from `evennia.CmdSet`.

"""

from evennia import default_cmds

from commands.agents import CmdAgents, CmdTalk
from commands.backup import CmdBackup
from commands.cmdsetindex import NameIndexedCmdSet
from commands.building import CmdBuildWorld
from commands.connect import CmdUnconnectedConnect
from commands.create import CmdUnconnectedCreate
from commands.heartbeat import CmdHeartbeat
from commands.help import CmdHelp
from commands.incidents import CmdAck, CmdEscalate, CmdIncidents, CmdResolve, CmdSilence
from commands.password import CmdNewPassword, CmdPassword
from commands.recover import CmdConfirm, CmdRecover
from commands.report import CmdReport
from commands.social import CmdPage, CmdPose
from commands.status import CmdStatus
from commands.who import CmdWho


class CharacterCmdSet(NameIndexedCmdSet, default_cmds.CharacterCmdSet):
    """
    The `CharacterCmdSet` contains general in-game commands like `look`,
    `get`, etc available on in-game Character objects. It is merged with
    the `AccountCmdSet` when an Account puppets a Character.
    """

    key = "DefaultCharacter"

    def at_cmdset_creation(self):
        """
        Populates the cmdset
        """
        super().at_cmdset_creation()
        #
        # any commands you add below will overload the default ones.
        #
        self.add(CmdHelp())
        self.add(CmdBuildWorld())
        self.add(CmdStatus())
        self.add(CmdHeartbeat())
        self.add(CmdTalk())
        self.add(CmdAgents())
        self.add(CmdBackup())
        self.add(CmdReport())
        self.add(CmdRecover())
        self.add(CmdConfirm())
        self.add(CmdPose())
        for command in (CmdIncidents, CmdAck, CmdResolve, CmdEscalate, CmdSilence):
            self.add(command())


class AccountCmdSet(NameIndexedCmdSet, default_cmds.AccountCmdSet):
    """
    This is the cmdset available to the Account at all times. It is
    combined with the `CharacterCmdSet` when the Account puppets a
    Character. It holds game-account-specific commands, channel
    commands, etc.
    """

    key = "DefaultAccount"

    def at_cmdset_creation(self):
        """
        Populates the cmdset
        """
        super().at_cmdset_creation()
        #
        # any commands you add below will overload the default ones.
        #
        self.add(CmdHelp())
        self.add(CmdWho())
        self.add(CmdPage())
        self.add(CmdPassword())
        self.add(CmdNewPassword())


class UnloggedinCmdSet(NameIndexedCmdSet, default_cmds.UnloggedinCmdSet):
    """
    Command set available to the Session before being logged in.  This
    holds commands like creating a new account, logging in, etc.
    """

    key = "DefaultUnloggedin"

    def at_cmdset_creation(self):
        """
        Populates the cmdset
        """
        super().at_cmdset_creation()
        #
        # any commands you add below will overload the default ones.
        #
        self.add(CmdUnconnectedConnect())
        self.add(CmdUnconnectedCreate())


class SessionCmdSet(NameIndexedCmdSet, default_cmds.SessionCmdSet):
    """
    This cmdset is made available on Session level once logged in. It
    is empty by default.
    """

    key = "DefaultSession"

    def at_cmdset_creation(self):
        """
        This is the only method defined in a cmdset, called during
        its creation. It should populate the set with command instances.

        As and example we just add the empty base `Command` object.
        It prints some info.
        """
        super().at_cmdset_creation()
        #
        # any commands you add below will overload the default ones.
        #
