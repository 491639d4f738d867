"""
A session at the login screen, its output kept, and the worker thread recorded.

For the commands that run before a login (`connect`, `create`): the
session is a real ServerSession known to the session handler, not logged
in; what it is sent goes to `self.shown`; `deferToThread` in each module of
`thread_modules` is a `ThreadRecorder` (`self.thread`).
"""

from unittest.mock import patch

import evennia
from evennia.server.serversession import ServerSession

from tests.support.threads import ThreadRecorder


class LoginScreenMixin:
    """Mix into an EvenniaTest: `self.login_session`, `self.shown`, `self.thread`."""

    thread_modules = ()

    def setUp(self):
        super().setUp()
        self.login_session = self.unlogged_session(sessid=2)
        self.shown = []
        self.login_session.msg = lambda text=None, **kwargs: self.shown.append(str(text))
        self.thread = ThreadRecorder()
        for module in self.thread_modules:
            patcher = patch.object(module, "deferToThread", self.thread)
            patcher.start()
            self.addCleanup(patcher.stop)

    def tearDown(self):
        evennia.SESSION_HANDLER.pop(self.login_session.sessid, None)
        super().tearDown()

    def unlogged_session(self, sessid):
        """A telnet session that has connected and not logged in."""
        dummy = ServerSession()
        dummy.init_session("telnet", f"10.0.0.{sessid}", evennia.SESSION_HANDLER)  # a string, as Evennia's telnet gives
        dummy.sessid = sessid
        evennia.SESSION_HANDLER.portal_connect(dummy.get_sync_data())
        return evennia.SESSION_HANDLER.session_from_sessid(sessid)

    def leave(self):
        """The session disconnects (the Server forgets it)."""
        evennia.SESSION_HANDLER.pop(self.login_session.sessid)
