"""
End to end with the agents: a real server, the agent supervisor and its five
agent processes logging in over the websocket, and a fake Ollama speaking
HTTP on loopback that the test stops and starts again.
"""

import json
import os
import re
import time
from unittest import TestCase

from .support.fake_ollama import FakeOllama
from .support.liveworld import LiveWorld
from .support.telnet import TelnetClient

AGENTS = ("Timmy", "Allegro", "Allegro-Primus", "Ezra", "Bezalel")
LOOK = r"Exits:[^\n]*\n(?:Characters:[^\n]*\n)?"


def niceness(pid):
    """The nice value of process `pid` (field 19 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rsplit(")", 1)[1].split()[16])


class TestAgentsInTheWorld(TestCase):
    expected_seconds = 55  # roughly; the parallel runner starts the slowest classes first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ollama = FakeOllama().start()
        cls.world = LiveWorld(extra_env={
            "OLLAMA_HOST": cls.ollama.url, "TIMMY_AGENTS": "1", "TIMMY_HEARTBEAT_INTERVAL": "2",
            "TIMMY_AGENT_IDLE_TICK": "4", "TIMMY_AGENT_MIN_INTERVAL": "1", "TIMMY_AGENT_BREAKER_RESET": "3",
            "TIMMY_AGENT_OLLAMA_TIMEOUT": "3",
        })
        try:
            cls.world.start()
        except Exception:
            cls.world.cleanup()
            cls.ollama.stop()
            raise
        cls.client = TelnetClient("127.0.0.1", cls.world.telnet_port, timeout=20)
        cls.client.login(cls.world.username, cls.world.password, LOOK)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        strays = cls.world.stop()
        cls.world.cleanup()
        cls.ollama.stop()
        super().tearDownClass()
        assert not strays, f"processes left after stop: {strays}"

    def until(self, command, pattern, timeout=60):
        """Repeat `command` until what comes back matches `pattern`; return that text."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self.client.send(command)
            text = self.client.drain(quiet=1.0)
            if re.search(pattern, text):
                return text
        self.fail(f"{pattern!r} not seen after {command!r}; last output:\n{text}\n{self.world.log_tail('agents.log')}")

    def test_1_agents_log_in_and_appear_in_their_home_regions(self):
        who = self.until("who", r"(\bwebsocket\b[\s\S]*){5}")
        for name in AGENTS:  # each agent's account puppets its character, over the websocket
            self.assertRegex(who, rf"(?m)^{re.escape(name)}\s+\S+\s+\S+\s+{re.escape(name)}\s.*\bwebsocket\b")
        agents = self.until("@agents", r"Timmy\s+yes\s+(hybrid|llm)")
        self.assertRegex(agents, r"Bezalel\s+yes\s+planner\s+The Vault")
        self.assertRegex(agents, r"Allegro\s+yes\s+\w+\s+The Forge")
        self.until("look", r"The Hearth[\s\S]*Characters:[^\n]*Timmy")
        # each agent runs 10 steps below the world's processes (TIMMY_AGENT_NICE)
        server_nice = niceness(self.pid_in("server", "server.pid"))
        for name in AGENTS:
            self.assertEqual(niceness(self.pid_in("agents", "run", f"{name.lower()}.pid")), server_nice + 10, name)

    def pid_in(self, *path):
        """The pid written in the live world's file at `path` (under its game folder)."""
        with open(os.path.join(self.world.game_dir, *path)) as handle:
            return int(handle.read().split()[0])

    def test_2_talk_gets_an_in_character_answer(self):
        self.until("@agents", r"Timmy\s+yes")
        self.client.send("talk timmy hello")
        text = self.client.read_until(r'Timmy says[^\n]*"[^\n]*"\n', timeout=30)
        self.assertIn("All quiet on my watch.", text)
        with open(os.path.join(self.world.game_dir, "server", "conf", "agent_credentials.json")) as handle:
            passwords = json.load(handle).values()
        prompts = json.dumps(self.ollama.chat_requests)
        self.assertIn("hello", prompts)
        for secret in list(passwords) + [self.world.password]:
            self.assertNotIn(secret, prompts)

    def test_3_without_ollama_timmy_goes_to_the_oracle_and_escalates_then_recovers(self):
        self.client.command("@silence ollama 30m = e2e: the agent opens it, not the heartbeat", r"silenced[^\n]*\n")
        self.ollama.stop()
        try:
            self.until("@agents", r"Timmy\s+yes\s+autonomy")
            incidents = self.until("@incidents", r"#\d+\s+P\d[^\n]*ollama is down", timeout=60)
            incident_id = re.search(r"#(\d+)\s+P\d[^\n]*ollama is down", incidents).group(1)
            timeline = self.until(f"@incidents {incident_id}", r"opened\s+\w+")
            self.assertRegex(timeline, r"opened\s+Timmy")
            memory = self.until("@agents/memory timmy", r"at oracle \(autonomy\): @escalate P1 ollama is down")
            self.assertRegex(memory, r"at hearth \(autonomy\): oracle")  # he walked there first
        finally:
            self.ollama.start()
        self.until("@agents", r"Timmy\s+yes\s+(hybrid|llm)", timeout=60)
        self.client.command("@silence/clear ollama", r"silenced[^\n]*\n")

    def test_4_agents_stay_connected_through_a_reload(self):
        self.until("@agents", r"(yes[\s\S]*){5}")
        self.client.send("@reload")
        self.client.read_until(r"(?i)restarted|reloaded", timeout=60)
        agents = self.until("@agents", r"(yes[\s\S]*){5}", timeout=30)
        self.assertNotRegex(agents, r"\s+no\s+")
