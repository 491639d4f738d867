"""
`create`, `password` and `userpassword` make their password hashes in a worker thread.

The worker thread is a recorder (tests/support/threads.py): each test sees
what would run in the thread (a function and plain strings, never a model),
that nothing changed before the answer, then fires the answer computed by
the real function. While the answer is handled, Django's hashing on the
current thread is made to fail, so a test also shows that nothing is hashed
on the reactor. The live world's test (test_e2e_world) runs `create`,
`connect` and `password` over telnet through the real thread pool.
"""

from unittest.mock import patch

from django.test import override_settings
from evennia.accounts.accounts import CREATION_THROTTLE
from evennia.accounts.models import AccountDB
from evennia.utils.test_resources import EvenniaCommandTest, EvenniaTest

from commands.create import ABORTED, FAILED, PENDING, USAGE, CmdUnconnectedCreate
from commands.password import CmdNewPassword, CmdPassword
from tests.support.loginscreen import LoginScreenMixin
from tests.support.threads import ThreadRecorder, no_hashing_here, sent
from typeclasses.accounts import Account
from world import passwords
from world.passwords import CHANGED_MEANWHILE, OLD_WRONG, check_and_hash, prehashed

PASSWORD = "correct-horse-7"
NEW_PASSWORD = "battery-staple-9"


class PrehashedTests(EvenniaTest):
    def test_set_password_stores_the_hash_made_elsewhere_and_only_inside(self):
        encoded = passwords.make_password(NEW_PASSWORD)
        with no_hashing_here(), prehashed(NEW_PASSWORD, encoded):
            self.account.set_password(NEW_PASSWORD)
        self.assertEqual(self.account.password, encoded)
        self.assertTrue(self.account.check_password(NEW_PASSWORD))
        self.assertIsNone(passwords.prehashed_for(NEW_PASSWORD))
        self.account.set_password(NEW_PASSWORD)  # outside: hashed here, a new salt
        self.assertNotEqual(self.account.password, encoded)
        self.assertTrue(self.account.check_password(NEW_PASSWORD))

    def test_the_hook_and_the_security_log_still_run(self):
        with patch.object(Account, "at_password_change") as hook, \
                patch("typeclasses.accounts.logger.log_sec") as log_sec, \
                prehashed(NEW_PASSWORD, passwords.make_password(NEW_PASSWORD)):
            self.account.set_password(NEW_PASSWORD)
        hook.assert_called_once_with()
        self.assertIn("Password successfully changed", log_sec.call_args.args[0])

    def test_check_and_hash_hashes_only_after_a_right_old_password(self):
        stored = passwords.make_password(PASSWORD)
        correct, encoded = check_and_hash(PASSWORD, stored, NEW_PASSWORD)
        self.assertTrue(correct)
        self.assertTrue(passwords.check_password(NEW_PASSWORD, encoded))
        self.assertEqual(check_and_hash("wrong", stored, NEW_PASSWORD), (False, None))
        self.assertEqual(check_and_hash(PASSWORD, stored, None), (True, None))


@override_settings(NEW_ACCOUNT_REGISTRATION_ENABLED=True)
class CreateInThreadTests(LoginScreenMixin, EvenniaTest):
    thread_modules = (passwords,)

    def setUp(self):
        super().setUp()
        address = self.login_session.address
        ip = address[0] if isinstance(address, (tuple, list)) else address  # as Evennia's create reads it
        CREATION_THROTTLE.remove(ip)  # the throttle outlives each test
        self.addCleanup(CREATION_THROTTLE.remove, ip)

    def create(self, args, answer="yes"):
        """Run `create` at the login screen, answering its question with `answer`."""
        cmd = CmdUnconnectedCreate()
        cmd.caller, cmd.session, cmd.args = self.login_session, self.login_session, f" {args}"
        steps = cmd.func()
        try:
            question = next(steps)
        except StopIteration:  # refused before the question
            return None
        with self.assertRaises(StopIteration):
            steps.send(answer)
        return question

    def test_the_hash_is_made_in_a_thread_and_the_account_waits_for_it(self):
        question = self.create(f"newcomer {PASSWORD}")
        self.assertIn("newcomer", question)
        function, args, _deferred = self.thread.calls[0]
        self.assertIs(function, passwords.make_password)
        self.assertEqual(args, (PASSWORD,))
        self.assertFalse(AccountDB.objects.filter(username="newcomer").exists())
        with no_hashing_here():
            self.thread.answer()
        account = AccountDB.objects.get(username="newcomer")
        self.assertTrue(account.check_password(PASSWORD))
        self.assertEqual([char.key for char in account.characters.all()], ["newcomer"])
        self.assertIn("A new account 'newcomer' was created", self.shown[-1])
        self.assertIn("connect newcomer <your password>", self.shown[-1])
        self.assertFalse(self.login_session.ndb.create_pending)

    def test_evennia_s_own_checks_still_run_after_the_hash(self):
        for name in ("first-one", "second-one", "third-one"):
            self.create(f"{name} {PASSWORD}")
            self.thread.answer(len(self.thread.calls) - 1)
        self.assertIn("creating too many accounts", self.shown[-1])
        self.assertEqual(AccountDB.objects.filter(username__endswith="-one").count(), 2)

    def test_the_typed_password_is_shown_literally_not_as_markup(self):
        question = self.create("newcomer |rred|lcquit|ltx|le-pass-1")
        self.assertIn("'|rred|lcquit|ltx|le-pass-1'".replace("|", "||"), question)
        self.thread.answer()
        self.assertTrue(AccountDB.objects.get(username="newcomer").check_password("|rred|lcquit|ltx|le-pass-1"))

    def test_a_password_django_refuses_is_refused_without_a_hash(self):
        self.create("newcomer 123")
        self.assertEqual(self.thread.calls, [])
        self.assertIn("too short", self.shown[-1])
        self.assertFalse(AccountDB.objects.filter(username="newcomer").exists())

    def test_a_name_taken_is_refused_without_a_hash(self):
        self.create(f"{self.account.key} {PASSWORD}")
        self.assertEqual(self.thread.calls, [])
        self.assertIn("already taken", self.shown[-1].lower())

    def test_no_as_the_answer_creates_nothing(self):
        self.create(f"newcomer {PASSWORD}", answer="no")
        self.assertEqual(self.thread.calls, [])
        self.assertEqual(self.shown[-1], ABORTED)

    def test_a_second_create_while_the_first_is_made_is_refused(self):
        self.create(f"newcomer {PASSWORD}")
        self.assertIsNone(self.create(f"other {PASSWORD}"))
        self.assertEqual(self.shown[-1], PENDING)
        self.assertEqual(len(self.thread.calls), 1)
        self.thread.answer()
        self.assertTrue(AccountDB.objects.filter(username="newcomer").exists())
        self.assertFalse(AccountDB.objects.filter(username="other").exists())

    def test_a_session_that_left_gets_the_account_but_no_message(self):
        self.create(f"newcomer {PASSWORD}")
        shown_before = list(self.shown)
        self.leave()
        self.thread.answer()
        self.assertTrue(AccountDB.objects.filter(username="newcomer").exists())
        self.assertEqual(self.shown, shown_before)

    def test_a_broken_thread_says_so_and_allows_another_try(self):
        self.create(f"newcomer {PASSWORD}")
        with patch("commands.connect.logger.log_err") as log_err:
            self.thread.fail()
        self.assertIn("worker thread broke", log_err.call_args.args[0])
        self.assertEqual(self.shown[-1], FAILED)
        self.create(f"newcomer {PASSWORD}")
        self.thread.answer(1)
        self.assertTrue(AccountDB.objects.filter(username="newcomer").exists())

    def test_a_check_that_raises_is_logged_said_and_ends_the_create(self):
        with patch.object(Account, "validate_username", side_effect=RuntimeError("database gone")), \
                patch("commands.connect.logger.log_err") as log_err:
            self.create(f"newcomer {PASSWORD}")
        self.assertIn("database gone", log_err.call_args.args[0])
        self.assertEqual(self.shown[-1], FAILED)
        self.assertFalse(self.login_session.ndb.create_pending)

    def test_usage_without_a_password(self):
        self.assertIsNone(self.create("newcomer"))
        self.assertEqual(self.shown, [USAGE])
        self.assertEqual(self.thread.calls, [])


class PasswordInThreadTests(EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.account.set_password(PASSWORD)
        self.account.save()
        self.thread = ThreadRecorder()
        patcher = patch.object(passwords, "deferToThread", self.thread)
        patcher.start()
        self.addCleanup(patcher.stop)

    def password(self, args, expected=""):
        return self.call(CmdPassword(), args, expected, caller=self.account)

    def answered(self, index=0):
        """Fire the thread's answer; return what the account was sent meanwhile."""
        with patch.object(self.account, "msg") as msg, no_hashing_here():
            self.thread.answer(index)
        return sent(msg)

    def test_the_old_is_checked_and_the_new_hashed_in_one_thread_call(self):
        self.password(f"{PASSWORD} = {NEW_PASSWORD}")
        function, args, _deferred = self.thread.calls[0]
        self.assertIs(function, check_and_hash)
        self.assertTrue(all(isinstance(arg, str) for arg in args))
        self.assertTrue(self.account.check_password(PASSWORD))  # nothing changed before the answer
        self.assertIn("Password changed.", self.answered())
        self.account.refresh_from_db()
        self.assertTrue(self.account.check_password(NEW_PASSWORD))
        self.assertFalse(self.account.ndb.password_pending)

    def test_a_password_with_a_comma_is_taken_whole(self):
        self.password(f"{PASSWORD} = with,comma-42")
        self.assertEqual(self.thread.calls[0][1][2], "with,comma-42")
        self.answered()
        self.assertTrue(self.account.check_password("with,comma-42"))

    def test_a_wrong_old_password_changes_nothing(self):
        self.password(f"wrong-one = {NEW_PASSWORD}")
        self.assertEqual(self.answered(), OLD_WRONG)
        self.account.refresh_from_db()
        self.assertTrue(self.account.check_password(PASSWORD))

    def test_an_invalid_new_password_is_said_once_and_changes_nothing(self):
        self.password(f"{PASSWORD} = 123")
        self.assertIsNone(self.thread.calls[0][1][2])  # the new one is not even hashed
        answer = self.answered()
        self.assertEqual(answer.count("too short"), 1)
        self.account.refresh_from_db()
        self.assertTrue(self.account.check_password(PASSWORD))

    def test_a_change_made_meanwhile_is_kept(self):
        self.password(f"{PASSWORD} = {NEW_PASSWORD}")
        self.account.set_password("someone-else-8")
        self.assertEqual(self.answered(), CHANGED_MEANWHILE)
        self.assertTrue(self.account.check_password("someone-else-8"))

    def test_one_change_at_a_time(self):
        self.password(f"{PASSWORD} = {NEW_PASSWORD}")
        self.password(f"{PASSWORD} = other-pass-77", passwords.PENDING)
        self.assertEqual(len(self.thread.calls), 1)
        self.answered()
        self.assertTrue(self.account.check_password(NEW_PASSWORD))

    def test_a_broken_thread_is_logged_said_and_ends_the_change(self):
        self.password(f"{PASSWORD} = {NEW_PASSWORD}")
        with patch.object(self.account, "msg") as msg, patch("commands.password.logger.log_err") as log_err:
            self.thread.fail()
        self.assertIn("worker thread broke", log_err.call_args.args[0])
        self.assertIn("could not be changed", sent(msg))
        self.assertFalse(self.account.ndb.password_pending)

    def test_usage(self):
        self.password(PASSWORD, "Usage: password <oldpass> = <newpass>")
        self.assertEqual(self.thread.calls, [])


class UserPasswordInThreadTests(EvenniaCommandTest):
    def setUp(self):
        super().setUp()
        self.thread = ThreadRecorder()
        patcher = patch.object(passwords, "deferToThread", self.thread)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_an_admin_sets_another_accounts_password_hashed_in_a_thread(self):
        self.call(CmdNewPassword(), f"{self.account2.key} = {NEW_PASSWORD}", "")
        self.assertEqual(self.thread.calls[0][:2], (passwords.make_password, (NEW_PASSWORD,)))
        with patch.object(self.char1, "msg") as msg, patch.object(self.account2, "msg") as told, no_hashing_here():
            self.thread.answer()
        self.assertIn("new password set", sent(msg))
        self.assertIn("has changed your password", sent(told))
        self.account2.refresh_from_db()
        self.assertTrue(self.account2.check_password(NEW_PASSWORD))

    def test_the_new_password_is_shown_literally_not_as_markup(self):
        self.call(CmdNewPassword(), f"{self.account2.key} = |rred-pass-12", "")
        with patch.object(self.char1, "msg") as msg, patch.object(self.account2, "msg") as told:
            self.thread.answer()
        self.assertIn("'||rred-pass-12'", sent(msg))
        self.assertIn("'||rred-pass-12'", sent(told))

    def test_an_invalid_password_is_refused_without_a_hash(self):
        self.call(CmdNewPassword(), f"{self.account2.key} = 123", "This password is too short")
        self.assertEqual(self.thread.calls, [])

    def test_usage_and_an_unknown_account(self):
        self.call(CmdNewPassword(), "nobody", "Usage: userpassword")
        self.call(CmdNewPassword(), f"nobody-here = {NEW_PASSWORD}", "Could not find")
        self.assertEqual(self.thread.calls, [])
