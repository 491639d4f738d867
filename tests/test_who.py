"""
`who` without EvTable (commands/who.py, world/whoonline.py): the same
columns as Evennia's, laid out as plain text, names shown as plain text.
"""

import re
import types

from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTest

from commands.who import CmdWho
from world.whoonline import PRIVILEGED_COLUMNS, who_text


def fake_session(name, connected, idle, puppet=None, logged_in=True, now=10_000.0):
    """A session as `who` reads it (account, times, puppet, counters)."""
    account = types.SimpleNamespace(key=name, get_display_name=lambda viewer: name)
    return types.SimpleNamespace(
        account=account, logged_in=logged_in, conn_time=now - connected, cmd_last_visible=now - idle,
        get_puppet=lambda: puppet, cmd_total=7, protocol_key="telnet", address=("10.0.0.9", 4000))


def rows_of(text):
    return text.splitlines()[2:-1]


class WhoTextTests(EvenniaTest):
    def test_rows_are_sorted_by_account_and_the_columns_line_up(self):
        now = 10_000.0
        sessions = [fake_session(f"Player{n:03d}", connected=3600 + n, idle=n) for n in range(100, 0, -1)]
        sessions.append(fake_session("Lurker", 5, 5, logged_in=False))
        text = who_text(None, sessions, privileged=False, account_count=100, now=now)
        lines = text.splitlines()
        self.assertEqual(lines[0], "|wAccounts:|n")
        self.assertEqual(re.split(r"\s{2,}", lines[1].strip("|wn")), ["Account name", "On for", "Idle"])
        rows = rows_of(text)
        self.assertEqual([row.split()[0] for row in rows], [f"Player{n:03d}" for n in range(1, 101)])
        self.assertNotIn("Lurker", text)
        self.assertEqual(len({row.index(row.split()[1]) for row in rows}), 1)  # "On for" starts in one column
        self.assertEqual(lines[-1], "100 unique accounts logged in.")

    def test_privileged_rows_show_the_session_and_one_account_is_one(self):
        room = types.SimpleNamespace(key="The |rHearth|n")
        puppet = types.SimpleNamespace(location=room, get_display_name=lambda viewer: "Timmy")
        text = who_text(None, [fake_session("Alexander", 90, 3, puppet=puppet)], privileged=True,
                        account_count=1, now=10_000.0)
        header, row = text.splitlines()[1:3]
        self.assertEqual(re.split(r"\s{2,}", header.strip("|wn")), list(PRIVILEGED_COLUMNS))
        self.assertEqual(re.split(r"\s{2,}", row), ["Alexander", "00:01", "3s", "Timmy", "The Hearth", "7",
                                                    "telnet", "10.0.0.9"])
        self.assertTrue(text.endswith("One unique account logged in."))

    def test_markup_in_names_is_shown_as_plain_text(self):
        session = fake_session("|rBoss|n|[r", 10, 1)
        text = who_text(None, [session], privileged=False, account_count=1, now=10_000.0)
        self.assertNotIn("|r", text)
        self.assertIn("Boss", rows_of(text)[0])


class WhoCommandTests(EvenniaCommandTest):
    def test_a_developer_sees_the_session_columns(self):
        text = self.call(CmdWho(), "", caller=self.account)
        self.assertIn("Puppeting", text)
        self.assertRegex(text, r"TestAccount\S*\s+\S+\s+\S+\s+Char\S*\s+Room\s+\d+\s+telnet")
        self.assertIn("One unique account logged in.", text)

    def test_doing_shows_everyone_the_short_list(self):
        text = self.call(CmdWho(), "", caller=self.account, cmdstring="doing")
        self.assertNotIn("Puppeting", text)
        self.assertRegex(text, r"TestAccount\S*\s+\S+\s+\S+")

    def test_an_admin_sees_the_session_columns_too(self):
        self.account.permissions.remove("Developer")
        self.account.permissions.add("Admin")
        self.assertIn("Puppeting", self.call(CmdWho(), "", caller=self.account))

    def test_a_player_sees_the_short_list(self):
        self.account.permissions.remove("Developer")
        self.account.permissions.add("Player")
        text = self.call(CmdWho(), "", caller=self.account)
        self.assertNotIn("Puppeting", text)
        self.assertNotIn("telnet", text)
        self.assertIn("TestAccount", text)
