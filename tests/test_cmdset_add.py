"""
`NameIndexedCmdSet.add()` (commands/cmdsetadd.py) against Evennia's own `CmdSet.add()`.

Every case adds the same command instances to a stock CmdSet and to a
NameIndexedCmdSet and compares the resulting lists by identity and order.
"""

import random
from unittest.mock import patch

from evennia import CmdSet
from evennia.commands.command import Command
from evennia.utils.test_resources import EvenniaTest

from commands.cmdsetadd import set_order
from commands.cmdsetindex import NameIndexedCmdSet
from commands.default_cmdsets import AccountCmdSet, CharacterCmdSet

NAME_POOL = ["look", "l", "get", "take", "drop", "say", "'", "pose", ":", "__noinput_command", "__nomatch_command"]


def command(key, aliases=(), cls=Command):
    """A command instance with this key and these aliases."""
    return type(f"Cmd_{abs(hash((key, tuple(aliases))))}", (cls,), {"key": key, "aliases": list(aliases)})()


class EqualsByKey(Command):
    """A command class with its own idea of equality (the fast path must step aside)."""

    def __eq__(self, other):
        return getattr(other, "key", other) == self.key

    __hash__ = Command.__hash__


def identities(commands):
    return [id(cmd) for cmd in commands]


class CmdSetAddTests(EvenniaTest):
    def both(self, *steps):
        """Apply each (what, allow_duplicates) step to a stock and an indexed set; return both."""
        stock, ours = CmdSet(), NameIndexedCmdSet()
        for what, allow_duplicates in steps:
            CmdSet.add(stock, what, allow_duplicates=allow_duplicates)
            ours.add(what, allow_duplicates=allow_duplicates)
        return stock, ours

    def assertSameSets(self, stock, ours):
        self.assertEqual(identities(ours.commands), identities(stock.commands))
        self.assertEqual(identities(ours.system_commands), identities(stock.system_commands))

    def test_random_adds_give_evennias_commands_in_evennias_order(self):
        rng = random.Random(20261124)
        for _ in range(300):
            steps = []
            for _ in range(rng.randint(1, 25)):
                names = rng.sample(NAME_POOL + [f"cmd{n}" for n in range(40)], rng.randint(1, 3))
                commands = [command(names[0], names[1:]) for _ in range(rng.choice([1, 1, 1, 3]))]
                what = commands if len(commands) > 1 or rng.random() < 0.2 else commands[0]
                steps.append((what, rng.random() < 0.15))
            with self.subTest(steps=[(getattr(w, "key", None), d) for w, d in steps]):
                self.assertSameSets(*self.both(*steps))

    def test_the_games_cmdsets_are_built_as_with_evennias_add(self):
        for cmdset_class in (CharacterCmdSet, AccountCmdSet):
            ours = [(type(cmd), cmd.key) for cmd in cmdset_class().commands]
            with patch.object(NameIndexedCmdSet, "add", CmdSet.add):
                stock = [(type(cmd), cmd.key) for cmd in cmdset_class().commands]
            self.assertEqual(ours, stock)

    def test_a_new_command_replaces_every_command_it_shares_a_name_with(self):
        first, second, third = command("get", ["take"]), command("drop"), command("take", ["drop"])
        stock, ours = self.both((first, False), (second, False), (third, False))
        self.assertSameSets(stock, ours)
        self.assertEqual(identities(ours.commands), [id(third)])

    def test_commands_get_their_source_and_object(self):
        cmd = command("look")
        cmdset = NameIndexedCmdSet(cmdsetobj=self.char1)
        cmdset.add(cmd)
        self.assertIs(cmd.cmdset_source, cmdset)
        self.assertIs(cmd.obj, self.char1)

    def test_classes_are_instantiated(self):
        ours = NameIndexedCmdSet()
        ours.add(type(command("look")))
        self.assertIsInstance(ours.commands[0], Command)
        self.assertEqual(ours.commands[0].key, "look")

    def test_a_command_with_its_own_equality_goes_through_evennias_add(self):
        odd = command("look", ["l"], cls=EqualsByKey)
        steps = ((command("l"), False), (odd, False), (command("get"), False))
        with patch.object(CmdSet, "add", side_effect=CmdSet.add, autospec=True) as stock_add:
            NameIndexedCmdSet().add(odd)
        self.assertTrue(stock_add.called)
        self.assertSameSets(*self.both(*steps))

    def test_a_whole_cmdset_is_added_by_evennia(self):
        source = CmdSet()
        for name in ("look", "get", "__noinput_command"):
            source.add(command(name))
        self.assertSameSets(*self.both((command("get"), False), (source, False)))

    def test_duplicates_kept_when_allowed(self):
        twins = [command("look"), command("look")]
        stock, ours = self.both((twins, True))
        self.assertSameSets(stock, ours)
        self.assertEqual(len(ours.commands), 1)  # each add still replaces its equals
        stock, ours = self.both((command("look"), False), (command("look", ["l"]), True), (command("l"), False))
        self.assertSameSets(stock, ours)


class SetOrderTests(EvenniaTest):
    def test_the_order_is_the_order_set_gives_real_commands(self):
        for count in range(0, 200, 7):
            commands = [command(f"cmd{index}") for index in range(count)]
            expected = list(set(commands))
            if commands:
                self.assertEqual([commands[i] for i in set_order(count, hash(commands[0]))], expected)

    def test_an_order_is_a_permutation(self):
        order = set_order(71, hash(command("look")))
        self.assertEqual(sorted(order), list(range(71)))
        self.assertNotEqual(list(order), list(range(71)))
