"""
End to end: a real server from a temporary copy of the game directory, on
free ports, driven over telnet and HTTP exactly as an operator would.
"""

import urllib.request
from unittest import TestCase

from .support.liveworld import LiveWorld
from .support.telnet import TelnetClient

PROMPT_AFTER_LOOK = r"Exits:[^\n]*\n"


class TestLiveWorld(TestCase):
    """One world for the whole class: starting one takes a while."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.world = LiveWorld()
        try:
            cls.world.start()
        except Exception:
            cls.world.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        strays = cls.world.stop()
        cls.world.cleanup()
        super().tearDownClass()
        assert not strays, f"processes left after stop: {strays}"

    def connect(self):
        client = TelnetClient("127.0.0.1", self.world.telnet_port, timeout=15)
        self.addCleanup(client.close)
        return client

    def test_superuser_logs_in_at_the_hearth_and_walks_every_region(self):
        client = self.connect()
        text = client.login(self.world.username, self.world.password, PROMPT_AFTER_LOOK)
        self.assertIn("The Hearth", text)
        self.assertRegex(text, r"Exits: forge, oracle, and vault")
        for exit_name, region, service in (
            ("forge", "The Forge", "gitea"),
            ("oracle", "The Oracle", "ollama"),
            ("vault", "The Vault", "backup"),
        ):
            arrived = client.command(exit_name, PROMPT_AFTER_LOOK)
            self.assertIn(region, arrived)
            self.assertIn(service, arrived)
            back = client.command("hearth", PROMPT_AFTER_LOOK)
            self.assertIn("The Hearth", back)

    def test_bad_password_is_refused(self):
        client = self.connect()
        client.read_until("connect")
        reply = client.command(f"connect {self.world.username} wrong-password", r"(?i)incorrect|invalid|fail")
        self.assertNotIn("The Hearth", reply)

    def test_webclient_page_loads(self):
        url = f"http://127.0.0.1:{self.world.web_port}/webclient/"
        with urllib.request.urlopen(url, timeout=15) as response:
            body = response.read().decode()
        self.assertEqual(response.status, 200)
        self.assertIn("webclient", body.lower())
        self.assertIn(str(self.world.websocket_port), body)

    def test_run_again_while_running_changes_nothing(self):
        result = self.world.timmy("run")
        self.assertIn("already running; nothing changed", result.stdout)
        client = self.connect()
        text = client.login(self.world.username, self.world.password, PROMPT_AFTER_LOOK)
        self.assertIn("The Hearth", text)
