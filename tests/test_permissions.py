"""
Permissions, checked statically (every operations command has an explicit
`cmd:` lock) and live (through Evennia's real command handler, a Player, a
quelled Admin and the agents' accounts try every operations command).
"""

import re
from unittest.mock import patch

from evennia.utils import create
from evennia.utils.test_resources import EvenniaTest

from commands import default_cmdsets
from world import passwords
from world.agentfleet import ensure_agents, find_agent

from .support.fixtures import BuiltWorldMixin, private_agent_credentials
from .support.threads import ThreadRecorder

REFUSED = "is not available"
# command line -> lowest permission that may run it (None: everyone)
OPERATIONS = {
    "@status": None,
    "help": None,
    "who": None,
    "@incidents": None,
    "talk timmy hello": None,
    "pose waves at the status board": None,
    "page timmy hello": None,
    "password not-the-old-one = another-pass-12": None,
    "userpassword nobody-here = another-pass-12": "Admin",
    "@heartbeat": "Helper",
    "@escalate P2 permission drill": "Helper",
    "@ack 999": "Helper",
    "@agents": "Helper",
    "@resolve 999": "Builder",
    "@silence": "Builder",
    "@backup/list": "Builder",
    "@report": "Helper",
    "@recover": "Helper",
    "@confirm 000000": "Helper",
    "@buildworld now": "Developer",
}
HIERARCHY = ["Player", "Helper", "Builder", "Admin", "Developer"]


LOGGED_IN_CMDSETS = ("CharacterCmdSet", "AccountCmdSet", "SessionCmdSet")


def own_commands(cmdset_names=LOGGED_IN_CMDSETS + ("UnloggedinCmdSet",)):
    """Every command the named cmdsets add that comes from this game's commands/ package."""
    found = []
    for name in cmdset_names:
        cmdset = getattr(default_cmdsets, name)()
        cmdset.at_cmdset_creation()
        found += [cmd for cmd in cmdset.commands if type(cmd).__module__.startswith("commands.")]
    return found


class StaticLockTests(EvenniaTest):
    def test_every_operations_command_has_an_explicit_cmd_lock(self):
        commands = own_commands()
        self.assertGreater(len(commands), 10)
        missing = [cmd.key for cmd in commands if not re.search(r"(^|;)\s*cmd:", cmd.locks or "")]
        self.assertEqual(missing, [])

    def test_the_matrix_below_covers_every_operations_command(self):
        keys = {cmd.key for cmd in own_commands(LOGGED_IN_CMDSETS)}  # `connect` is the login screen's
        covered = {line.split()[0].split("/")[0] for line in OPERATIONS}
        self.assertEqual(keys - covered, set(), "add the new command to OPERATIONS")


class LivePermissionTests(BuiltWorldMixin, EvenniaTest):
    def setUp(self):
        private_agent_credentials(self)
        super().setUp()
        ensure_agents()
        patcher = patch.object(passwords, "deferToThread", ThreadRecorder())  # `password` hashes in a thread
        patcher.start()
        self.addCleanup(patcher.stop)

    def actor(self, name, permission, quell=False):
        account = create.create_account(name, email="", password="a-long-password-1",
                                        typeclass="typeclasses.accounts.Account", permissions=[permission])
        character, _ = account.create_character()
        character.account = account
        if quell:
            account.db._quell = True
        return character

    def outcome(self, character, line):
        """Run a line through the real command handler; True if it was refused by the locks."""
        with patch.object(character, "msg") as said:
            character.execute_cmd(line)
        text = " ".join(str(call.args[0] if call.args else call.kwargs.get("text")) for call in said.call_args_list)
        return REFUSED in text

    def expected_refused(self, level, needed):
        return needed is not None and HIERARCHY.index(level) < HIERARCHY.index(needed)

    def check(self, character, level):
        for line, needed in OPERATIONS.items():
            with self.subTest(who=character.key, command=line):
                self.assertEqual(self.outcome(character, line), self.expected_refused(level, needed))

    def test_a_player(self):
        self.check(self.actor("Visitor", "Player"), "Player")

    def test_a_quelled_admin_acts_as_a_player(self):
        admin = self.actor("Boss", "Admin", quell=True)
        self.check(admin, "Player")
        admin.account.db._quell = False
        self.assertFalse(self.outcome(admin, "@silence"))

    def test_the_agents_have_their_personas_permission(self):
        from evennia.accounts.models import AccountDB

        for name, level in (("Timmy", "Helper"), ("Ezra", "Helper"), ("Bezalel", "Builder")):
            agent = find_agent(name)
            agent.account = AccountDB.objects.get(username=name)  # as when its runtime puppets it
            self.check(agent, level)

    def test_switch_level_locks(self):
        helper = self.actor("Aide", "Helper")
        with patch.object(helper, "msg") as said:
            helper.execute_cmd("@heartbeat/interval 30")
            helper.execute_cmd("@agents/pause timmy")
        text = " ".join(str(call.args[0] if call.args else call.kwargs.get("text")) for call in said.call_args_list)
        self.assertIn("Only an Admin can change the heartbeat interval.", text)
        self.assertIn("Only an Admin can pause, resume or restart agents.", text)
        self.assertFalse(find_agent("Timmy").paused)
