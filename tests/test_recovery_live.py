"""
Recovery in a real world with its five agents (one live world for all of
recovery's tests): restart an agent that answers (destructive: confirmed),
bring back agents whose supervisor is gone (`bin/timmy agents start` run by
the playbook), re-link the orphan, and a run cut short by a reload shown as
interrupted afterwards.

The copy's secret_settings.py configures a slow restart command (so a run
can be cut short by a reload) and quick polls.
"""

import os
import re
import secrets
import signal
import sys
import time
from unittest import TestCase

from .support.fake_ollama import FakeOllama
from .support.liveworld import LiveWorld, copy_game_dir
from .support.procs import running
from .support.telnet import TelnetClient

LOOK = r"Exits:[^\n]*\n(?:Characters:[^\n]*\n)?"
SLEEPER = "import time; time.sleep(5)  # timmy-recovery-live"
ALL_BACK = r"(yes[\s\S]*){5}"
AGENTS = ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")


def wire(game_dir):
    """The copy's secret settings: a key, a slow restart command, quick polls."""
    commands = {"restart_ollama": {"argv": [sys.executable, "-c", SLEEPER], "timeout": 30}}
    text = (f"SECRET_KEY = {secrets.token_urlsafe(40)!r}\n"
            + f"RECOVERY_COMMANDS = {commands!r}\n"
            + "RECOVERY_POLL_INTERVAL = 0.5\nRECOVERY_AGENT_RESTART_GRACE = 10\n")
    with open(os.path.join(game_dir, "server", "conf", "secret_settings.py"), "w") as handle:
        handle.write(text)


class TestRecoveryInALiveWorld(TestCase):
    expected_seconds = 50  # roughly; the parallel runner starts the slowest classes first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ollama = FakeOllama().start()
        game_dir = copy_game_dir()
        wire(game_dir)
        cls.world = LiveWorld(game_dir=game_dir, extra_env={
            "OLLAMA_HOST": cls.ollama.url, "TIMMY_AGENTS": "1", "TIMMY_HEARTBEAT_INTERVAL": "2",
            "TIMMY_AGENT_IDLE_TICK": "5", "TIMMY_AGENT_MIN_INTERVAL": "1", "TIMMY_AGENT_OLLAMA_TIMEOUT": "3",
        })
        try:
            cls.world.start()
            cls.client = TelnetClient("127.0.0.1", cls.world.telnet_port, timeout=20)
            cls.client.login(cls.world.username, cls.world.password, LOOK)
        except Exception:
            cls.world.cleanup()
            cls.ollama.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.kill_agents()
        strays = cls.world.stop()
        cls.world.cleanup()
        cls.ollama.stop()
        super().tearDownClass()
        assert not strays, f"processes left after stop: {strays}"

    @classmethod
    def kill_agents(cls):
        """Stop the supervisor's whole group at once.

        `bin/timmy stop` would wait 30 s for the supervisor: it runs its
        reactor without signal handlers, so it never hears its agents exit.
        """
        try:
            with open(os.path.join(cls.world.game_dir, "agents", "run", "supervisor.pid")) as handle:
                os.killpg(int(handle.read()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def until(self, command, pattern, timeout=60):
        """Repeat `command` until its answer matches `pattern`; return that answer."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self.client.send(command)
            text = self.client.drain(quiet=0.7)
            if re.search(pattern, text):
                return text
        self.fail(f"{pattern!r} not seen after {command!r}:\n{text}\n{self.world.log_tail('agents.log')}")

    def read(self, pattern, timeout=60):
        try:
            return self.client.read_until(pattern, timeout=timeout)
        except TimeoutError as err:
            self.fail(f"{err}\n{self.world.log_tail()}")

    def wait_for_logins(self, text, names, timeout=60):
        """Read on until every agent in `names` is announced as connected (in `text` or after it)."""
        deadline = time.monotonic() + timeout
        missing = list(names)
        while missing and time.monotonic() < deadline:
            missing = [name for name in names if not re.search(rf"\]: {re.escape(name)} connected", text)]
            if missing:
                text += self.client.drain(quiet=1.0)
        self.assertEqual(missing, [], text[-2000:])

    def agent_pid(self, name):
        try:
            with open(os.path.join(self.world.game_dir, "agents", "run", f"{name.lower()}.pid")) as handle:
                return int(handle.read())
        except (OSError, ValueError):
            return None

    def confirm(self, text):
        code = re.search(r"@confirm ([A-Z0-9]{6})", text).group(1)
        self.client.send(f"@confirm {code}")

    def test_1_restarting_an_agent_that_answers_needs_a_confirmation(self):
        self.until("@agents", ALL_BACK, timeout=90)
        before = self.agent_pid("Timmy")
        asked = self.client.command("@recover agent Timmy", r"within 60 s\.")
        self.assertIn("This is destructive now: Timmy is online and answering", asked)
        self.confirm(asked)
        done = self.read(r"Recovery #\d+ (succeeded|failed)[^\n]*\n", timeout=90)
        self.assertIn("told Timmy's runtime to restart", done)
        self.assertRegex(done, r"Timmy logged in again \(session \d+\), puppets Timmy and reports")
        self.assertRegex(done, r"Recovery #\d+ succeeded")
        self.assertNotEqual(self.agent_pid("Timmy"), before)

    def test_2_agents_whose_supervisor_died_are_started_again(self):
        self.until("@agents", ALL_BACK, timeout=90)
        supervisor, timmy = self.agent_pid("supervisor"), self.agent_pid("Timmy")
        os.killpg(supervisor, signal.SIGKILL)  # the supervisor and its agents die at once
        self.assertTrue(self.world.wait_for(lambda: not running(timmy), timeout=10))
        started = self.client.command("@recover agent Timmy", r"Recovery #\d+ (succeeded|failed)[^\n]*\n",
                                      timeout=90)
        self.assertIn("its process is gone, so its 1 dead session(s) were closed", started)
        self.assertRegex(started, r"start_agents: exit 0 in [\d.]+ s: Agents started \(supervisor pid \d+")
        self.assertRegex(started, r"Recovery #\d+ succeeded")
        self.assertNotEqual(self.agent_pid("supervisor"), supervisor)
        # Before the history: reading it would swallow the login announcements that come meanwhile.
        self.wait_for_logins(started, AGENTS)  # the new supervisor started them all: their logins replace dead sessions
        history = self.until("@recover/history", r"agent\s+Timmy\s+succeeded")
        run_id = re.findall(r"#(\d+)\s+agent\s+Timmy\s+succeeded", history)[-1]
        detail = self.until(f"@recover/history {run_id}", r"argv: ")
        self.assertRegex(detail, r"argv: \S*python\S* \S*/bin/timmy agents start")
        self.assertRegex(detail, r"exit 0, \d+ bytes of output, sha256 [0-9a-f]{16}")

    def test_3_the_orphan_is_put_in_autonomy_and_relinked(self):
        self.until("@agents", ALL_BACK, timeout=90)
        self.until("@status", r"ollama\s+up")
        done = self.client.command("@recover orphan", r"Recovery #\d+ (succeeded|failed)[^\n]*\n", timeout=60)
        self.assertIn("autonomy sent to Allegro-Primus", done)
        self.assertIn("relink sent to Allegro-Primus", done)
        self.until("@agents/memory allegro-primus", r"Re-linked with Allegro\.")

    def test_4_a_run_cut_short_by_a_reload_shows_as_interrupted(self):
        self.until("@status", r"ollama\s+up")
        asked = self.client.command("@recover ollama", r"within 60 s\.")
        self.assertIn("This is destructive now: ollama is up", asked)
        self.confirm(asked)
        self.read(r"\[2/7\] run restart_ollama")
        self.client.send("@reload")
        self.read(r"(?i)restarted|reloaded", timeout=60)
        history = self.until("@recover/history", r"ollama\s+-\s+interrupted", timeout=30)
        self.assertRegex(history, r"ollama\s+-\s+interrupted")
        self.until("@agents", ALL_BACK, timeout=30)
        deadline = time.monotonic() + 15
        while self._sleeper_alive() and time.monotonic() < deadline:
            time.sleep(0.3)

    def _sleeper_alive(self):
        return any("timmy-recovery-live" in cmdline for _pid, cmdline in self.world.stray_processes())
