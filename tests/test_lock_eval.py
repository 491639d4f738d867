"""
Lock checks from compiled expressions (typeclasses/lockeval.py): every game
typeclass uses them, they answer exactly as Evennia's own handler does, and
a check that was made once compiles nothing again (README, "Latency").
"""

import builtins
import types
from unittest import mock

from evennia.locks.lockhandler import LockException, LockHandler
from evennia.utils import create
from evennia.utils.test_resources import EvenniaTest

from typeclasses.lockeval import LockExpression, QuickLockHandler, compiled

LOCKSTRINGS = (
    "call:false()",
    "call:true()",
    "view:all();search:not false()",
    "get:perm(Builder) or id({char1})",
    "edit:perm(Admin) and not id({char2})",
    "puppet:(id({char1}) or perm(Developer)) and not false()",
    "control:not (perm(Builder) or id({char2})) and true()",
)


class LockEvalTests(EvenniaTest):
    """The game's lock handler against Evennia's, on the same objects and locks."""

    def lockstring(self, template):
        return template.format(char1=self.char1.id, char2=self.char2.id)

    def test_every_game_typeclass_uses_it(self):
        script = create.create_script("typeclasses.scripts.Script", key="lock_eval_probe")
        channel = create.create_channel("LockEvalProbe", typeclass="typeclasses.channels.Channel")
        self.addCleanup(script.delete)
        self.addCleanup(channel.delete)
        for holder in (self.char1, self.room1, self.exit, self.obj1, self.account, script, channel):
            self.assertIsInstance(holder.locks, QuickLockHandler, holder)

    def test_it_answers_as_evennias_handler_for_every_lock_and_accessor(self):
        self.obj1.locks.add(";".join(self.lockstring(template) for template in LOCKSTRINGS))
        stock = LockHandler(self.obj1)
        access_types = sorted(stock.locks)
        self.assertEqual(access_types, sorted(self.obj1.locks.locks))
        self.assertTrue({"call", "view", "search", "get", "edit", "puppet", "control"} <= set(access_types))
        answers = {True: 0, False: 0}
        for accessor in (self.char1, self.char2, self.account, self.account2):
            for access_type in access_types:
                for bypass in (False, True):
                    ours = self.obj1.locks.check(accessor, access_type, no_superuser_bypass=bypass)
                    theirs = stock.check(accessor, access_type, no_superuser_bypass=bypass)
                    self.assertIs(ours, theirs, (accessor, access_type, bypass))
                    answers[ours] += 1
        self.assertTrue(answers[True] and answers[False], answers)  # both answers were exercised

    def test_a_lock_it_does_not_hold_gives_the_default(self):
        self.assertIs(self.obj1.locks.check(self.char1, "no_such_access", default=True), True)
        self.assertIs(self.obj1.locks.check(self.char1, "no_such_access"), False)

    def test_a_repeated_check_evaluates_compiled_code_and_compiles_nothing(self):
        self.obj1.locks.add(self.lockstring("open:id({char1}) and not false()"))
        self.assertTrue(self.obj1.locks.check(self.char1, "open", no_superuser_bypass=True))
        evaluated = []

        def recording_eval(source, *args):
            evaluated.append(source)
            return builtins.eval(source, *args)

        with mock.patch("evennia.locks.lockhandler.eval", recording_eval, create=True), \
                mock.patch("typeclasses.lockeval.compile", side_effect=AssertionError("compiled"), create=True):
            self.assertTrue(self.obj1.locks.check(self.char1, "open", no_superuser_bypass=True))
        self.assertEqual(len(evaluated), 1)
        self.assertIsInstance(evaluated[0], types.CodeType)

    def test_the_stored_lockstring_is_unchanged_text(self):
        lockstring = self.lockstring("get:perm(Builder) or id({char1})")
        self.obj1.locks.add(lockstring)
        self.assertIn(lockstring, self.obj1.lock_storage.split(";"))
        self.assertIn(lockstring, str(self.obj1.locks))
        self.assertEqual(self.obj1.locks.get("get"), lockstring)

    def test_a_malformed_lock_is_refused_as_evennia_refuses_it_and_changes_nothing(self):
        before = self.obj1.lock_storage
        for handler in (self.obj1.locks, LockHandler(self.obj1)):
            for malformed in ("open:nosuchlockfunc()", "no colon here", "open:id(1"):
                with self.assertRaises(LockException, msg=malformed):
                    handler.add(malformed)
        self.assertEqual(self.obj1.lock_storage, before)
        self.assertNotIn("open", self.obj1.locks.locks)
        self.assertTrue(self.obj1.locks.check(self.char1, "view"))

    def test_the_expression_fills_in_like_text_and_is_compiled_once(self):
        expression = LockExpression("%s and not %s")
        code = expression % (True, False)
        self.assertIsInstance(code, types.CodeType)
        self.assertIs(builtins.eval(code), True)
        self.assertIs(expression % (True, False), code)  # the same code object, kept
        self.assertEqual(expression, "%s and not %s")
        self.assertIs(compiled("True and not False"), code)


class LockParseOnceTests(EvenniaTest):
    """A lockstring is parsed once per process; each handler keeps its own locks."""

    def test_check_lockstring_parses_a_string_once_and_answers_as_evennia(self):
        lockstring = f"id({self.char2.id}) and true() and not false()"  # a string no other test uses
        stock = LockHandler(self.obj1)
        with mock.patch.object(LockHandler, "_parse_lockstring", autospec=True,
                               side_effect=LockHandler._parse_lockstring) as parse:
            answers = [self.obj1.locks.check_lockstring(accessor, lockstring, no_superuser_bypass=True)
                       for accessor in (self.char1, self.char2, self.char1, self.char2)]
        self.assertEqual(parse.call_count, 1)
        theirs = [stock.check_lockstring(accessor, lockstring, no_superuser_bypass=True)
                  for accessor in (self.char1, self.char2, self.char1, self.char2)]
        self.assertEqual(answers, theirs)
        self.assertEqual(answers, [False, True, False, True])

    def test_deleting_a_lock_on_one_object_leaves_another_with_the_same_string_alone(self):
        lockstring = f"sit:id({self.char1.id});lean:false()"
        self.obj1.locks.add(lockstring)
        self.obj2.locks.add(lockstring)
        self.obj1.locks.delete("lean")
        self.assertNotIn("lean", self.obj1.locks.locks)
        self.assertEqual(self.obj2.locks.get("lean"), "lean:false()")
        self.assertFalse(self.obj2.locks.check(self.char1, "lean", default=True, no_superuser_bypass=True))
        self.assertTrue(self.obj2.locks.check(self.char1, "sit", no_superuser_bypass=True))
        self.assertIs(self.obj1.locks.check(self.char1, "lean", default=True, no_superuser_bypass=True), True)

    def test_a_string_that_fails_to_parse_fails_every_time(self):
        for _ in range(2):
            with self.assertRaises(LockException):
                self.obj1.locks.check_lockstring(self.char1, "open:nosuchlockfunc()")

    def test_a_full_cache_drops_the_string_used_least_recently(self):
        from typeclasses import lockeval

        strings = [f"pet:id({self.char1.id}) and true() or false() or {'true() and ' * n}true()" for n in range(3)]
        with mock.patch.object(lockeval, "_PARSED", lockeval.OrderedDict()), \
                mock.patch.object(lockeval, "PARSED_LIMIT", 2):
            self.obj1.locks.check_lockstring(self.char1, strings[0])
            self.obj1.locks.check_lockstring(self.char1, strings[1])
            self.obj1.locks.check_lockstring(self.char1, strings[0])  # used again: now the most recent
            self.assertTrue(self.obj1.locks.check_lockstring(self.char1, strings[2], no_superuser_bypass=True))
            self.assertEqual(list(lockeval._PARSED), [strings[0], strings[2]])


class ConstantLockTests(EvenniaTest):
    """A lock of constant functions (or none at all) is answered without running Evennia's check."""

    def setUp(self):
        super().setUp()
        self.superuser = create.create_account("LockEvalRoot", email="root@example.com",
                                               password="quartz-otter-harbour", is_superuser=True)
        self.addCleanup(self.superuser.delete)

    def stock_check_refused(self):
        return mock.patch.object(LockHandler, "check", side_effect=AssertionError("Evennia's check ran"))

    def test_constant_answers_skip_evennias_check_and_match_it(self):
        self.obj1.locks.add("call:false();view:all();search:not false();open:true() and not none()")
        stock = LockHandler(self.obj1)
        cases = [("view", False, True), ("search", False, True), ("open", False, True),
                 ("call", True, False), ("missing", True, False)]
        for accessor in (self.char1, self.char2, self.superuser):
            for access_type, no_bypass, expected in cases:
                with self.subTest(accessor=accessor, access_type=access_type), self.stock_check_refused():
                    answer = self.obj1.locks.check(accessor, access_type, no_superuser_bypass=no_bypass)
                self.assertIs(answer, expected)
                self.assertIs(stock.check(accessor, access_type, no_superuser_bypass=no_bypass), expected)
            with self.stock_check_refused():
                self.assertIs(self.obj1.locks.check(accessor, "missing", default=True), True)

    def test_a_constant_refusal_the_superuser_may_bypass_goes_to_evennias_check(self):
        self.obj1.locks.add("call:false()")
        self.assertIs(self.obj1.locks.check(self.superuser, "call"), True)
        self.assertIs(self.obj1.locks.check(self.char2, "call"), False)
        self.assertIs(self.obj1.locks.check(self.superuser, "missing"), True)
        with mock.patch.object(LockHandler, "check", return_value="evennia's") as stock:
            self.assertEqual(self.obj1.locks.check(self.char2, "call"), "evennia's")
        stock.assert_called_once()

    def test_a_lock_that_depends_on_who_asks_is_not_constant(self):
        self.obj1.locks.add(f"get:all() and id({self.char1.id});drop:perm(Admin) or true()")
        self.assertIsNone(self.obj1.locks.constant_answer("get"))
        self.assertIsNone(self.obj1.locks.constant_answer("drop"))
        self.assertIs(self.obj1.locks.check(self.char1, "get", no_superuser_bypass=True), True)
        self.assertIs(self.obj1.locks.check(self.char2, "get", no_superuser_bypass=True), False)

    def test_a_changed_lock_is_answered_anew_at_once(self):
        locks = self.obj1.locks
        locks.add("view:all()")
        self.assertIs(locks.check(self.char2, "view"), True)
        locks.add("view:false()")  # replaces the view lock
        self.assertIs(locks.check(self.char2, "view"), False)
        locks.replace(f"view:id({self.char1.id})")
        self.assertIsNone(locks.constant_answer("view"))
        self.assertIs(locks.check(self.char2, "view"), False)
        self.assertIs(locks.check(self.char1, "view", no_superuser_bypass=True), True)
        locks.add("view:all()")
        self.assertIs(locks.check(self.char2, "view"), True)
        locks.remove("view")
        self.assertIs(locks.check(self.char2, "view"), False)
        self.assertIs(locks.check(self.char2, "view", default=True), True)
        locks.add("view:none()")
        locks.clear()
        self.assertIs(locks.check(self.char2, "view", default=True), True)
        locks.add("view:all()")
        locks.reset()  # reloaded from storage: the cleared-then-added string
        self.assertIs(locks.check(self.char2, "view"), True)
