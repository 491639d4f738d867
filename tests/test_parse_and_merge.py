"""
The rest of a command's cost on the Server: the parser only tries the
commands that can match (commands/parseindex.py) and a repeated command-set
merge is remembered (commands/mergememo.py). Both must give exactly what
the stock code gives, and see every change Evennia's own ways make.
"""

from unittest.mock import patch

from evennia import CmdSet
from evennia.commands.cmdparser import cmdparser as evennia_cmdparser
from evennia.commands.command import Command
from evennia.utils.test_resources import EvenniaTest

from commands.cmdsetindex import NameIndexedCmdSet
from commands.default_cmdsets import AccountCmdSet, CharacterCmdSet, SessionCmdSet
from commands.mergekeeper import kept_merged_cmdset
from commands.mergememo import MEMO_SIZE
from commands.parseindex import candidate_commands, line_letters
from server.conf.cmdparser import cmdparser as game_cmdparser
from world.builder import find_hub

from .support.fixtures import BuiltWorldMixin
from .test_lookup_costs import EchoCmdSet, ShownMixin, command, names, plain_copy


class CmdAnyWord(Command):
    """A command with its own matching: it claims every line that ends with '!'."""

    key = "shout"

    def match(self, cmdname, include_prefixes=True):
        return (cmdname, cmdname) if cmdname.endswith("!") else (None, None)

    def func(self):
        self.caller.msg("shouted")


def game_merged_set():
    """The Session, Account and Character sets merged as the command handler does."""
    return ((CmdSet() + SessionCmdSet()) + AccountCmdSet()) + CharacterCmdSet()


def comparable(matches):
    """Matches with the command object by identity."""
    return [(name, args, id(cmd), length, ratio, raw) for name, args, cmd, length, ratio, raw in matches]


class ParseIndexTests(BuiltWorldMixin, EvenniaTest):
    def setUp(self):
        super().setUp()
        self.merged = game_merged_set()
        self.merged.add(command("@", aliases=["&"]))  # names that are all prefix: they match any stripped line
        self.merged.add(CmdAnyWord())
        self.merged.add(command("smile at", aliases=["grin"]))

    def lines(self):
        """Every name as typed, with and without prefixes, arguments, case and numbers; and strays."""
        lines = ["", "x", "@", "&", "/", "zzz", "loo", "LOOK", "look here", "l", "2-look", "look-2 me",
                 "@@status", "+status", "wow!", "smile at you", "SMILE AT me", "grin", "1-grin x", "é", "İx"]
        for cmd in self.merged:
            for name in cmd._keyaliases:
                bare = name.lstrip("@&/+")
                lines += [name, f"{name} arg", name.upper(), bare, f"@{bare}", f"{bare}x", f"2-{bare}", f"{bare}-1 y"]
        return lines

    def test_the_game_parser_gives_evennias_matches_for_every_line(self):
        for line in self.lines():
            with self.subTest(line=line):
                stock = evennia_cmdparser(line, self.merged, self.char1)
                ours = game_cmdparser(line, self.merged, self.char1)
                self.assertEqual(comparable(ours), comparable(stock))

    def test_only_a_few_commands_are_tried_for_a_line(self):
        candidates = candidate_commands("look", self.merged)
        self.assertIn("look", [cmd.key for cmd in candidates])
        self.assertLess(len(candidates), len(self.merged.commands) / 4)
        # the commands that can match anything are always there, in the set's own order
        keys = [cmd.key for cmd in candidates]
        self.assertIn("shout", keys)
        self.assertIn("@", keys)
        order = [cmd.key for cmd in self.merged.commands]
        self.assertEqual(keys, [key for key in order if key in keys])

    def test_the_line_is_read_in_every_form_the_parser_tries(self):
        self.assertEqual(line_letters("look"), {"l"})
        self.assertEqual(line_letters("@Look"), {"@", "l"})
        self.assertEqual(line_letters("@look-2"), {"@", "l"})  # the number taken off, then the prefix
        self.assertEqual(line_letters("@"), {"@"})
        self.assertEqual(line_letters(""), {""})

    def test_a_command_added_to_the_set_is_found_at_once(self):
        self.assertEqual(game_cmdparser("zebra", self.merged, self.char1), [])
        self.merged.add(command("zebra"))
        self.assertEqual([match[2].key for match in game_cmdparser("zebra", self.merged, self.char1)], ["zebra"])
        self.merged.commands.append(command("zulu"))  # in place, the length changes
        self.assertEqual([match[2].key for match in game_cmdparser("zulu", self.merged, self.char1)], ["zulu"])
        self.merged.remove("zebra")
        self.assertEqual(game_cmdparser("zebra", self.merged, self.char1), [])

    def test_a_stock_set_is_indexed_too(self):
        stock = plain_copy(self.merged)
        self.assertNotIsInstance(stock, NameIndexedCmdSet)
        for line in ("look", "@status", "2-look", "nothing"):
            with self.subTest(line=line):
                self.assertEqual(comparable(game_cmdparser(line, stock, self.char1)),
                                 comparable(evennia_cmdparser(line, stock, self.char1)))


class MergeMemoTests(EvenniaTest):
    def setUp(self):
        super().setUp()
        self.low = NameIndexedCmdSet()
        self.low.priority = -5
        self.low.add(command("look", aliases=["l"]))
        self.low.add(command("page"))
        self.high = NameIndexedCmdSet()
        self.high.add(command("status", aliases=["st"]))
        self.high.add(command("look"))

    def test_a_repeated_merge_gives_the_same_result_as_stock(self):
        first = self.low + self.high
        self.assertIs(self.low + self.high, first)
        self.assertEqual(names(first), names(plain_copy(self.low) + plain_copy(self.high)))

    def test_a_fresh_empty_set_merged_with_ours_is_remembered(self):
        session = SessionCmdSet()
        first = CmdSet() + session
        self.assertIs(CmdSet() + session, first)
        self.assertEqual(names(first), names(CmdSet() + plain_copy(session)))
        nonempty = CmdSet()
        nonempty.add(command("extra"))
        self.assertIsNot(nonempty + session, first)
        self.assertIn("extra", nonempty + session)

    def test_added_and_removed_commands_give_a_new_result(self):
        before = self.low + self.high
        self.high.add(command("backup"))
        after = self.low + self.high
        self.assertIsNot(after, before)
        self.assertIn("backup", after)
        self.high.remove("backup")
        self.assertNotIn("backup", self.low + self.high)
        self.low.commands.append(command("appended"))  # in place, the length changes
        self.assertIn("appended", self.low + self.high)

    def test_changed_options_give_a_new_result(self):
        def stock():
            return plain_copy(self.low) + plain_copy(self.high)

        results = [self.low + self.high]
        for change in (lambda: setattr(self.high, "mergetype", "Replace"),
                       lambda: setattr(self.high, "mergetype", "Union"),
                       lambda: setattr(self.low, "priority", 10),  # the low set wins: its options go to the result
                       lambda: setattr(self.low, "priority", 0),
                       lambda: setattr(self.high, "duplicates", True),
                       lambda: setattr(self.high, "key_mergetypes", {self.low.key: "Remove"})):
            change()
            merged = self.low + self.high
            self.assertIsNot(merged, results[-1])
            self.assertEqual(names(merged), names(stock()))
            self.assertEqual((merged.priority, merged.mergetype), (stock().priority, stock().mergetype))
            results.append(merged)
        self.assertNotIn("page", results[1])  # Replace
        self.assertIs(results[2], results[0])  # back to the first state: the first result
        self.assertEqual(results[3].priority, 10)
        self.assertEqual([cmd.key for cmd in results[5].commands].count("look"), 2)  # duplicates at equal priority

    def test_a_stock_set_changed_in_place_gives_a_new_result(self):
        echo = CmdSet()
        echo.add(command("echo_response"))
        before = self.high + echo
        self.assertIs(self.high + echo, before)
        echo.commands.append(command("other"))
        self.assertIn("other", self.high + echo)

    def test_each_set_remembers_only_its_last_merges(self):
        others = []
        for number in range(MEMO_SIZE + 3):
            other = NameIndexedCmdSet()
            other.add(command(f"cmd{number}"))
            others.append(other)
            self.low + other
        self.assertEqual(len(self.low._merge_memo), MEMO_SIZE)

    def test_a_result_changed_in_place_is_not_used_again(self):
        self.high.duplicates = True
        self.low.priority = 0
        merged = self.low + self.high
        self.assertEqual([cmd.key for cmd in merged.commands].count("look"), 2)
        merged.make_unique(self.char1)  # what Evennia's help does to the set it lists
        again = self.low + self.high
        self.assertIsNot(again, merged)
        self.assertEqual([cmd.key for cmd in again.commands].count("look"), 2)
        self.assertIs(self.low + self.high, again)

    def test_the_object_a_set_sits_on_counts_by_identity(self):
        self.high.cmdsetobj = ["not", "hashable"]  # Evennia copies it, never hashes or compares it
        first = self.low + self.high
        self.assertIs(self.low + self.high, first)
        self.high.cmdsetobj = ["not", "hashable"]  # equal, but another object
        second = self.low + self.high
        self.assertIsNot(second, first)
        self.assertEqual(names(second), names(first))

    def test_a_set_with_an_unhashable_option_is_merged_every_time(self):
        self.high.errmessage = ["not", "hashable"]
        first = self.low + self.high
        self.assertIsNot(self.low + self.high, first)
        self.assertEqual(names(first), names(self.low + self.high))


class CommandMergesTests(ShownMixin, BuiltWorldMixin, EvenniaTest):
    def test_a_callers_next_command_merges_nothing(self):
        self.char1.move_to(find_hub(), quiet=True)
        stock_merges = patch.object(CmdSet, "__add__", autospec=True, side_effect=CmdSet.__add__)
        with stock_merges as first:
            self.shown("look")
        with stock_merges as second:
            self.assertIn("The Hearth", self.shown("look"))
        self.assertGreater(first.call_count, 0)
        self.assertEqual(second.call_count, 0)

    def test_a_set_added_to_the_character_takes_effect_and_its_removal_too(self):
        self.shown("look")
        self.char1.cmdset.add(EchoCmdSet, persistent=False)
        self.assertIn("echo ran", self.shown("echo_response"))
        self.char1.cmdset.remove(EchoCmdSet)
        self.assertIn("not available", self.shown("echo_response"))
        self.assertNotIn("echo_response", kept_merged_cmdset(self.char1))


class CmdPress(Command):
    """Presses the object it sits on."""

    key = "press"

    def func(self):
        self.caller.msg(f"pressed {self.obj.key}")


class PressCmdSet(CmdSet):
    key = "PressCmdSet"

    def at_cmdset_creation(self):
        self.add(CmdPress())


class HelpKeepsTheMergeTests(ShownMixin, EvenniaTest):
    def test_two_objects_with_the_same_command_stay_apart_after_help(self):
        for obj in (self.obj1, self.obj2):
            obj.cmdset.add(PressCmdSet, persistent=False)
        self.assertIn("More than one match", self.shown("press"))
        shown = self.shown("help")
        self.assertIn("look", shown)
        self.assertIn("More than one match", self.shown("press"))
        self.assertEqual(sum(cmd.key == "press" for cmd in kept_merged_cmdset(self.char1)), 2)

    def test_help_still_reads_its_entries(self):
        self.assertIn("help", self.shown("help help").lower())
        self.assertNotIn("More than one match", self.shown("help look"))
