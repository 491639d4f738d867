"""
`connect` checks the password hash in a worker thread (world/login.py, commands/connect.py).

The worker thread is replaced by a recorder (tests/support/threads.py): a
test sees what would run in the thread (a function and plain strings),
checks that nothing happened on the session before the answer, then fires
the answer computed by the real `verify_password`. The live tests
(test_e2e_world and others) log in over telnet through the real thread
pool.
"""

from unittest.mock import patch

import evennia
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from evennia.accounts.accounts import LOGIN_THROTTLE
from evennia.utils.test_resources import EvenniaTest

from commands.connect import FAILED, PENDING, USAGE, CmdUnconnectedConnect
from tests.support.loginscreen import LoginScreenMixin
from world import login
from world.login import INCORRECT, verify_password

PASSWORD = "correct-horse-7"
SCRYPT_FIRST = ["django.contrib.auth.hashers.ScryptPasswordHasher", "django.contrib.auth.hashers.MD5PasswordHasher"]


class ConnectInThreadTests(LoginScreenMixin, EvenniaTest):
    thread_modules = (login,)

    def setUp(self):
        super().setUp()
        self.account.set_password(PASSWORD)
        self.account.save()
        real_login = evennia.SESSION_HANDLER.login
        patcher = patch.object(evennia.SESSION_HANDLER, "login",
                               side_effect=lambda session, account: real_login(session, account, testmode=True))
        self.login_call = patcher.start()
        self.addCleanup(patcher.stop)

    def connect(self, args):
        cmd = CmdUnconnectedConnect()
        cmd.caller, cmd.session, cmd.args = self.login_session, self.login_session, f" {args}"
        self.assertIsNone(cmd.func())

    def test_the_hash_is_checked_in_a_thread_and_the_login_waits_for_it(self):
        self.connect(f"{self.account.key} {PASSWORD}")
        function, args, _deferred = self.thread.calls[0]
        self.assertIs(function, verify_password)
        self.assertTrue(all(isinstance(arg, str) for arg in args))  # no model objects in the thread
        self.assertFalse(self.login_session.logged_in)
        self.login_call.assert_not_called()
        self.thread.answer()
        self.login_call.assert_called_once_with(self.login_session, self.account)
        self.assertTrue(self.login_session.logged_in)
        self.assertEqual(self.login_session.account, self.account)

    def test_the_name_is_found_ignoring_case_and_quotes_work(self):
        self.connect(f'"{self.account.key.upper()}" "{PASSWORD}"')
        self.thread.answer()
        self.assertTrue(self.login_session.logged_in)

    def test_a_wrong_password_is_refused_and_counted_by_the_throttle(self):
        before = len(LOGIN_THROTTLE.get(self.login_session.address) or [])
        self.connect(f"{self.account.key} wrong-password")
        self.thread.answer()
        self.assertFalse(self.login_session.logged_in)
        self.assertIn(INCORRECT, self.shown[-1])
        self.assertEqual(len(LOGIN_THROTTLE.get(self.login_session.address)), before + 1)

    def test_an_unknown_name_is_refused_without_a_thread(self):
        self.connect(f"nobody-here {PASSWORD}")
        self.assertEqual(self.thread.calls, [])
        self.assertIn(INCORRECT, self.shown[-1])

    def test_a_second_connect_while_the_first_is_checked_is_refused(self):
        self.connect(f"{self.account.key} {PASSWORD}")
        self.connect(f"{self.account.key} {PASSWORD}")
        self.assertEqual(len(self.thread.calls), 1)
        self.assertEqual(self.shown[-1], PENDING)
        self.thread.answer()
        self.assertTrue(self.login_session.logged_in)
        self.assertFalse(self.login_session.ndb.login_pending)

    def test_an_answer_for_a_session_that_left_is_dropped(self):
        self.connect(f"{self.account.key} {PASSWORD}")
        self.leave()
        self.thread.answer()
        self.login_call.assert_not_called()
        self.assertEqual(self.shown, [])

    def test_a_broken_check_says_so_and_allows_another_try(self):
        self.connect(f"{self.account.key} {PASSWORD}")
        with patch("commands.connect.logger.log_err") as log_err:
            self.thread.fail()
        self.assertIn("worker thread broke", log_err.call_args.args[0])
        self.assertEqual(self.shown[-1], FAILED)
        self.connect(f"{self.account.key} {PASSWORD}")
        self.thread.answer(1)
        self.assertTrue(self.login_session.logged_in)

    def test_usage_without_a_password(self):
        self.connect(self.account.key)
        self.assertEqual(self.shown, [USAGE])
        self.assertEqual(self.thread.calls, [])

    @override_settings(PASSWORD_HASHERS=SCRYPT_FIRST)
    def test_an_outdated_hash_is_renewed_in_the_thread_and_saved(self):
        self.account.password = make_password(PASSWORD, hasher="md5")
        self.account.save(update_fields=["password"])
        self.connect(f"{self.account.key} {PASSWORD}")
        self.thread.answer()
        self.account.refresh_from_db()
        self.assertTrue(self.account.password.startswith("scrypt$"))
        self.assertTrue(self.account.check_password(PASSWORD))
        self.assertTrue(self.login_session.logged_in)


class VerifyPasswordTests(EvenniaTest):
    def test_right_wrong_and_renewed(self):
        stored = make_password(PASSWORD)
        self.assertEqual(verify_password(PASSWORD, stored), (True, None))
        self.assertEqual(verify_password("nope", stored), (False, None))
        with override_settings(PASSWORD_HASHERS=SCRYPT_FIRST):
            correct, renewed = verify_password(PASSWORD, make_password(PASSWORD, hasher="md5"))
        self.assertTrue(correct)
        self.assertTrue(renewed.startswith("scrypt$"))
