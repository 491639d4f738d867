"""
What makes a command cheap on the Server: command sets answer membership
from a name index (commands/cmdsetindex.py) and the global Scripts are found
without a query per use (world/globalscripts.py). Both must give exactly the
answers of the stock code they replace.
"""

from unittest.mock import patch

from evennia import CmdSet, default_cmds
from evennia.commands.cmdhandler import cmdhandler
from evennia.commands.command import Command
from evennia.utils.idmapper.models import flush_cache
from evennia.utils.test_resources import EvenniaTest

from commands.cmdsetindex import NameIndexedCmdSet
from commands.mergekeeper import kept_merged_cmdset
from commands.default_cmdsets import AccountCmdSet, CharacterCmdSet
from world import globalscripts
from world.builder import find_hub, find_region

from .support.fixtures import BuiltWorldMixin


class CmdNamed(Command):
    """A bare command for membership checks."""

    def func(self):
        self.caller.msg(f"ran {self.key}")


def command(key, aliases=()):
    return CmdNamed(key=key, aliases=list(aliases))


def plain_copy(cmdset):
    """The same commands and options in a stock CmdSet."""
    plain = CmdSet._duplicate(cmdset)
    plain.commands = list(cmdset.commands)
    plain.system_commands = list(cmdset.system_commands)
    return plain


def names(cmdset):
    return sorted((cmd.key, tuple(sorted(cmd.aliases))) for cmd in cmdset.commands)


class NameIndexedCmdSetTests(EvenniaTest):
    def setUp(self):
        super().setUp()
        self.indexed = NameIndexedCmdSet()
        self.indexed.add(command("status", aliases=["@status", "st"]))
        self.indexed.add(command("look", aliases=["l"]))
        self.plain = plain_copy(self.indexed)

    def test_membership_matches_stock_for_keys_aliases_and_strings(self):
        probes = [command("status"), command("st"), command("other", aliases=["l"]),
                  command("stat"), command("looks"), "look", "l", "@status", "nothing"]
        for probe in probes:
            with self.subTest(probe=str(probe)):
                # stock __contains__ cannot take a name (its cache is weak-keyed): compare per command
                stock = any(cmd == probe for cmd in self.plain.commands) if isinstance(probe, str) else probe in self.plain
                self.assertEqual(probe in self.indexed, stock)
        self.assertIn("st", self.indexed)
        self.assertNotIn(command("stat"), self.indexed)

    def test_add_and_remove_update_the_index(self):
        self.assertNotIn("backup", self.indexed)
        self.indexed.add(command("backup", aliases=["@backup"]))
        self.assertIn("@backup", self.indexed)
        self.indexed.remove("backup")
        self.assertNotIn("@backup", self.indexed)
        self.assertNotIn(command("backup"), self.indexed)
        self.indexed.commands.append(command("appended"))  # in place, length changes
        self.assertIn("appended", self.indexed)

    def test_a_merge_onto_an_indexed_set_is_indexed_with_the_stock_result(self):
        lower = CmdSet()
        lower.priority = -10
        lower.add(command("look", aliases=["l"]))
        lower.add(command("page"))
        merged = lower + self.indexed
        stock = lower + self.plain
        self.assertIsInstance(merged, NameIndexedCmdSet)
        self.assertEqual(names(merged), names(stock))
        self.assertEqual(merged.priority, stock.priority)
        self.assertIn("page", merged)

    def test_a_stock_set_on_either_side_of_a_merge_gives_an_indexed_stock_result(self):
        echo = CmdSet()  # like the dummyrunner's set: stock, same priority as the character's
        echo.add(command("echo_response"))
        echo.add(command("look", aliases=["peer"]))
        for label, ours, stock in (("indexed + stock", lambda: self.indexed + echo, lambda: self.plain + echo),
                                   ("stock + indexed", lambda: echo + self.indexed, lambda: echo + self.plain)):
            with self.subTest(label):
                merged, expected = ours(), stock()
                self.assertIsInstance(merged, NameIndexedCmdSet)
                self.assertEqual(names(merged), names(expected))
                self.assertEqual((merged.key, merged.priority), (expected.key, expected.priority))
        self.assertEqual(len(echo.commands), 2)  # the stock set itself is not changed
        self.assertNotIsInstance(echo, NameIndexedCmdSet)

    def test_the_merge_chain_stays_indexed_after_a_stock_set_wins_a_tie(self):
        echo = CmdSet()
        echo.add(command("echo_response"))
        character, account = CharacterCmdSet(), AccountCmdSet()
        ours = account + (character + echo)
        stock = plain_copy(account) + (plain_copy(character) + echo)
        self.assertIsInstance(ours, NameIndexedCmdSet)
        self.assertEqual(names(ours), names(stock))
        self.assertIn("echo_response", ours)

    def test_adding_something_that_is_not_a_cmdset_is_refused(self):
        with self.assertRaises(TypeError):
            "look" + self.indexed

    def test_game_cmdsets_merge_to_what_stock_merging_gives(self):
        character, account = CharacterCmdSet(), AccountCmdSet()
        ours = account + character
        stock = plain_copy(account) + plain_copy(character)
        self.assertEqual(names(ours), names(stock))
        self.assertGreater(len(ours.commands), 80)
        self.assertTrue(issubclass(CharacterCmdSet, default_cmds.CharacterCmdSet))


class ShownMixin:
    """Runs lines through Evennia's real command handler as char1 and returns what char1 saw."""

    def shown(self, *lines):
        with patch.object(self.char1, "msg") as msg:
            for line in lines:
                cmdhandler(self.session, line)
        return " ".join(str(call.args[0] if call.args else call.kwargs.get("text")) for call in msg.call_args_list)


class ExitCmdSetTests(ShownMixin, BuiltWorldMixin, EvenniaTest):
    def test_exit_cmdsets_are_indexed_and_still_move_the_player(self):
        hub = find_hub()
        self.char1.move_to(hub, quiet=True)
        exit_to_forge = next(e for e in hub.exits if e.key == "forge")
        cmdset = exit_to_forge.create_exit_cmdset(exit_to_forge)
        self.assertIsInstance(cmdset, NameIndexedCmdSet)
        self.assertEqual(cmdset.key, "ExitCmdSet")
        self.assertTrue(cmdset.duplicates)
        self.assertIn("forge", cmdset)
        cmdhandler(self.session, "forge")
        self.assertEqual(self.char1.location, find_region("forge"))

    def test_a_look_in_the_hub_still_lists_its_exits_and_commands_still_resolve(self):
        self.char1.move_to(find_hub(), quiet=True)
        shown = self.shown("look", "@status")
        self.assertIn("The Hearth", shown)
        self.assertIn("forge", shown)
        self.assertIn("heartbeat", shown.lower())
        self.assertNotIn("Command '@status' is not available", shown)


class CmdEcho(Command):
    """Says it ran (a command from an added set)."""

    key = "echo_response"

    def func(self):
        self.caller.msg("echo ran")


class EchoCmdSet(CmdSet):
    key = "EchoCmdSet"

    def at_cmdset_creation(self):
        self.add(CmdEcho())


class MergedCmdSetKeepingTests(ShownMixin, BuiltWorldMixin, EvenniaTest):
    def test_a_callers_next_command_reuses_the_merge(self):
        self.char1.move_to(find_hub(), quiet=True)
        merges = patch.object(NameIndexedCmdSet, "__add__", autospec=True, side_effect=NameIndexedCmdSet.__add__)
        with merges as first_merges:
            self.shown("look")
        first = kept_merged_cmdset(self.char1)
        self.assertIsNotNone(first)
        with merges as next_merges:
            self.assertIn("The Hearth", self.shown("look"))
        self.assertIs(kept_merged_cmdset(self.char1), first)
        # what is left is each provider's "current" chain; the stack and the hub's exits are not merged again
        self.assertLessEqual(next_merges.call_count, first_merges.call_count - 2)

    def test_an_added_and_a_removed_set_take_effect_at_the_next_command(self):
        self.shown("look")
        before = kept_merged_cmdset(self.char1)
        self.assertIn("not available", self.shown("echo_response"))
        self.char1.cmdset.add(EchoCmdSet, persistent=False)
        self.assertIn("echo ran", self.shown("echo_response"))
        self.assertIsNot(kept_merged_cmdset(self.char1), before)
        self.char1.cmdset.remove(EchoCmdSet)
        self.assertIn("not available", self.shown("echo_response"))

    def test_moving_gives_the_exits_of_the_new_room(self):
        hub, forge = find_hub(), find_region("forge")
        self.char1.move_to(hub, quiet=True)
        self.shown("look")
        in_hub = kept_merged_cmdset(self.char1)
        self.assertIn("forge", in_hub)
        self.shown("forge")
        self.assertEqual(self.char1.location, forge)
        self.shown("look")
        self.assertNotIn("forge", kept_merged_cmdset(self.char1))
        self.assertIn("not available", self.shown("forge"))
        self.assertEqual(self.char1.location, forge)


class GlobalScriptLookupTests(EvenniaTest):
    def test_a_second_lookup_runs_no_query(self):
        first = globalscripts.global_script("heartbeat")
        self.assertIsNotNone(first)
        with self.assertNumQueries(0):
            again = globalscripts.global_script("heartbeat")
        self.assertIs(again, first)

    def test_a_deleted_script_is_looked_up_and_recreated(self):
        first = globalscripts.global_script("heartbeat")
        first_id = first.id
        first.delete()
        second = globalscripts.global_script("heartbeat")
        self.assertIsNotNone(second.pk)
        self.assertNotEqual(second.id, first_id)
        self.assertEqual(second.key, "heartbeat")

    def test_a_cache_flush_forgets_the_script(self):
        globalscripts.global_script("daily_report")
        self.assertIn("daily_report", globalscripts._REMEMBERED)
        flush_cache()
        self.assertNotIn("daily_report", globalscripts._REMEMBERED)
        self.assertEqual(globalscripts.global_script("daily_report").key, "daily_report")

    def test_an_unknown_key_is_none_and_remembers_nothing(self):
        self.assertIsNone(globalscripts.global_script("no_such_script"))
        self.assertNotIn("no_such_script", globalscripts._REMEMBERED)
