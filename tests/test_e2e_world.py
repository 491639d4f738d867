"""
End to end: a real server from a temporary copy of the game directory, on
free ports, driven over telnet and HTTP exactly as an operator would.
"""

import json
import os
import re
import sqlite3
import time
import urllib.request
from unittest import TestCase

from .support.fake_http import FakeHTTPService, Route
from .support.liveworld import LiveWorld
from .support.telnet import TelnetClient
from .test_cpu_split import LiveWorldCpuChecks
from .test_hostile_text import HostileWireChecks
from .test_tcp_nodelay import LiveWorldSocketChecks

PROMPT_AFTER_LOOK = r"Exits:[^\n]*\n"
OLLAMA_ROUTES = {
    "/api/version": Route(200, {"version": "0.5.7"}),
    "/api/tags": Route(200, {"models": [{"name": "llama3.2:3b"}]}),
}


class TestLiveWorld(LiveWorldSocketChecks, LiveWorldCpuChecks, HostileWireChecks, TestCase):
    """One world for the whole class: starting one takes a while.

    The world's Ollama is a fake HTTP service the tests can stop, and the
    heartbeat beats every 2 seconds; the status page is public, and so is
    registration (`create` at the login screen). The TCP_NODELAY checks of
    every game connection (tests/test_tcp_nodelay.py), the reactor threads'
    CPUs (tests/test_cpu_split.py) and the hostile text on the telnet and
    web client wire (tests/test_hostile_text.py) run in this world too.
    """

    expected_seconds = 80  # roughly; the parallel runner starts the slowest classes first

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ollama = FakeHTTPService(OLLAMA_ROUTES).start()
        cls.world = LiveWorld(extra_env={"OLLAMA_HOST": cls.ollama.url, "TIMMY_HEARTBEAT_INTERVAL": "2",
                                         "TIMMY_STATUS_PUBLIC": "1", "TIMMY_OPEN_REGISTRATION": "1"})
        try:
            cls.world.start()
        except Exception:
            cls.world.cleanup()
            cls.ollama.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        strays = cls.world.stop()
        cls.world.cleanup()
        cls.ollama.stop()
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

    def test_an_account_made_at_the_login_screen_logs_in_and_changes_its_password(self):
        """`create`, `connect` and `password` over telnet, each hash made in the Server's thread pool."""
        client = self.connect()
        client.read_until(r"connect <username>", timeout=60)
        client.command("create newcomer first-pass-71", r"\[Y\]/N\?")
        made = client.command("yes", r"(?i)(was created|too many|error|could not)[^\n]*\n", timeout=30)
        self.assertIn("A new account 'newcomer' was created", made)
        entered = client.command("connect newcomer first-pass-71", PROMPT_AFTER_LOOK, timeout=30)
        self.assertIn("The Hearth", entered)
        changed = client.command("password first-pass-71 = second-pass-82",
                                 r"(?i)(changed|isn't correct|could not)[^\n]*\n", timeout=30)
        self.assertIn("Password changed.", changed)
        again = self.connect()
        self.assertIn("The Hearth", again.login("newcomer", "second-pass-82", PROMPT_AFTER_LOOK))

    def test_buildworld_makes_a_missing_agent_again_and_its_password_works(self):
        client = self.login()
        client.command('py acc = evennia.search_account("Ezra")[0]; [c.delete() for c in list(acc.characters)]; '
                       'acc.delete(); me.msg("ezra-" + "removed")', r"ezra-removed", timeout=20)
        built = client.command("@buildworld", r"agent Ezra[^\n]*\n", timeout=30)
        self.assertIn("World build: 2 created", built)
        self.assertIn("account Ezra", built)
        with open(os.path.join(self.world.game_dir, "server", "conf", "agent_credentials.json")) as handle:
            password = json.load(handle)["Ezra"]
        checked = client.command(f'py me.msg("ezra-password-" + str(evennia.search_account("Ezra")[0]'
                                 f'.check_password("{password}")))', r"ezra-password-\w+", timeout=20)
        self.assertIn("ezra-password-True", checked)
        again = client.command("@buildworld", r"World build:[^\n]*\n", timeout=30)
        self.assertIn("World build: 0 created", again)

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

    def walk_back_to_the_hearth(self):
        """Leave the superuser where other tests expect to find it."""
        client = self.login()
        client.command("hearth", PROMPT_AFTER_LOOK)

    def login(self):
        client = self.connect()
        client.login(self.world.username, self.world.password, PROMPT_AFTER_LOOK)
        return client

    def test_heartbeat_sees_ollama_fall_and_announces_it_once(self):
        client = self.login()
        self.assertIn("The Oracle", client.command("oracle", PROMPT_AFTER_LOOK))
        self.addCleanup(self.walk_back_to_the_hearth)
        status = client.command("@status ollama", r"Last error:[^\n]*\n", timeout=20)
        self.assertIn("ollama", status)
        deadline = time.monotonic() + 20
        while "ollama: up" not in status and time.monotonic() < deadline:
            time.sleep(1)
            status = client.command("@status ollama", r"Last error:[^\n]*\n")
        self.assertIn("ollama: up", status)
        self.ollama.set_route("/api/version", Route(503, {"error": "down"}))
        try:
            text = client.read_until(r"Oracle's light goes dark[^\n]*\n[\s\S]*Oracle's light goes dark[^\n]*\n",
                                     timeout=30)
            time.sleep(5)  # more beats while it stays down: no further announcement
            client.send("look")
            text += client.read_until(PROMPT_AFTER_LOOK)
        finally:
            self.ollama.set_route("/api/version", OLLAMA_ROUTES["/api/version"])
        announcements = re.findall(r"^.*Oracle's light goes dark.*$", text, re.M)
        self.assertEqual(len(announcements), 2, announcements)  # once in the room, once on ops
        self.assertEqual(len([line for line in announcements if "[ops]" in line]), 1, announcements)
        self.assertIn("HTTP 503", announcements[0])
        self.assertRegex(text, r"ollama: down, \d+ ms, checked \d+s ago")

    def test_heartbeat_cli_exits_nonzero_when_a_critical_service_is_down(self):
        self.ollama.set_route("/api/version", Route(503))
        try:
            result = self.world.timmy("heartbeat", check=False)
        finally:
            self.ollama.set_route("/api/version", OLLAMA_ROUTES["/api/version"])
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertRegex(result.stdout, r"ollama\s+down")
        self.assertRegex(result.stdout, r"evennia\s+up")
        healthy = self.world.timmy("heartbeat", check=False)
        self.assertEqual(healthy.returncode, 0, healthy.stdout)

    def test_the_server_holds_its_database_locks_so_a_cli_run_keeps_its_writes(self):
        database = os.path.join(self.world.game_dir, "server", "evennia.db3")
        with open(os.path.join(self.world.game_dir, "server", "server.pid")) as handle:
            server_pid = handle.read().strip()
        shm_inode = str(os.stat(database + "-shm").st_ino)
        with open("/proc/locks") as handle:
            held = [line.split() for line in handle if f" {server_pid} " in line]
        # WAL mode: an open connection keeps a read lock on byte 128 of the -shm file.
        self.assertTrue([lock for lock in held if lock[5].endswith(":" + shm_inode) and lock[6] == "128"], held)
        client = self.login()
        opened = client.command("@escalate P2 e2e: written before a CLI run", r"Incident #\d+ opened \([^\n]*\n")
        incident_id = int(re.search(r"Incident #(\d+) opened \(", opened).group(1))
        self.world.timmy("heartbeat", check=False)  # another process opens and closes the database
        reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = reader.execute("SELECT summary FROM world_incident WHERE id = ?", (incident_id,)).fetchone()
        finally:
            reader.close()
        self.assertEqual(row, ("e2e: written before a CLI run",))
        client.command(f"@resolve {incident_id} = e2e done", r"is resolved[^\n]*\n")

    def test_the_heartbeat_script_is_single_after_reload_and_incidents_survive(self):
        client = self.login()
        opened = client.command("@escalate P2 e2e: the relay hums oddly", r"Incident #\d+ opened \([^\n]*\n")
        incident_id = re.search(r"Incident #(\d+) opened \(", opened).group(1)
        client.send("@reload")
        client.read_until(r"(?i)restarted|reloaded", timeout=60)
        time.sleep(1)
        reply = client.command("py evennia.search_script('heartbeat').count()", r"<<<[^\n]*\n|\n1\n|\n\d+\n",
                               timeout=20)
        self.assertRegex(reply, r"(?m)^\s*1\s*$", reply)
        status = client.command("@status", r"Heartbeat: last beat[^\n]*\n", timeout=20)
        self.assertIn("every 2s", status)
        self.assertIn("the relay hums oddly", status)
        timeline = client.command(f"@incidents {incident_id}", r"opened[^\n]*\n", timeout=20)
        self.assertIn(f"Incident #{incident_id} P2 open", timeline)
        client.command(f"@resolve {incident_id} = e2e done", r"is resolved[^\n]*\n")
        self.check_reactor_cpus()  # the reloaded Server was started from the Portal's pinned thread

    def test_the_servers_end_of_the_amp_link_is_the_games_protocol(self):
        client = self.login()
        reply = client.command("py type(evennia.EVENNIA_SERVER_SERVICE.amp_protocol).__name__",
                               r"\w*AMP\w*Protocol\b", timeout=20)
        self.assertIn("ServerAMPProtocol", reply)  # server/conf/amplink.py, not Evennia's AMPServerClientProtocol
        self.assertNotIn("AMPServerClientProtocol", reply)

    def test_backup_in_game_runs_in_the_server_and_verifies(self):
        client = self.login()
        client.send("@backup")
        done = client.read_until(r"Backup \S+ done[^\n]*verified[^\n]*\n", timeout=120)
        backup_id = re.search(r"Backup (\S+) done", done).group(1)
        listing = client.command("@backup/list", rf"{backup_id}[^\n]*\n", timeout=20)
        self.assertRegex(listing.splitlines()[-1], rf"{backup_id}.*\syes\s")  # the Verified column
        drill = client.command(f"@backup/drill {backup_id}", r"(?i)drill[^\n]*(passed|failed)[^\n]*\n", timeout=120)
        self.assertRegex(drill, r"(?i)passed")
        bad = client.command("@backup/verify ../etc", r"not a backup id[^\n]*\n")
        self.assertIn("ids look like", bad)

    def test_input_over_the_length_limit_is_refused_and_the_session_lives(self):
        client = self.login()
        client.send("say " + "x" * 7000)
        warning = client.read_until(r"too long[^\n]*\n", timeout=20)
        self.assertIn("too long", warning)
        self.assertIn("The Hearth", client.command("look", PROMPT_AFTER_LOOK))

    def test_a_command_flood_is_cut_by_the_rate_limit_and_the_world_stays_responsive(self):
        client = self.login()
        for _ in range(300):
            client.send("@status evennia")
        flood = client.read_until(r"commands too fast", timeout=30)
        self.assertIn("commands too fast", flood)
        client.drain(quiet=1.5, limit=30)
        time.sleep(1.5)
        self.assertIn("The Hearth", client.command("look", PROMPT_AFTER_LOOK, timeout=20))

    def test_a_connection_flood_is_queued_and_does_not_lock_operators_out(self):
        """The Portal admits 2 new connections a second; the rest wait their turn."""
        flood = []
        try:
            for _ in range(12):
                flood.append(TelnetClient("127.0.0.1", self.world.telnet_port, timeout=10))
            client = self.connect()
            client.read_until(r"connect <username>", timeout=60)  # the real login screen, after the queue
            text = client.command(f"connect {self.world.username} {self.world.password}", PROMPT_AFTER_LOOK)
            self.assertIn("The Hearth", text)
        finally:
            for connection in flood:
                connection.close()

    def test_zz_repeated_bad_logins_are_throttled(self):
        """Runs last in this class: the throttle then holds for 127.0.0.1."""
        replies = []
        for attempt in range(7):
            client = self.connect()
            client.read_until(r"connect <username>", timeout=60)
            replies.append(client.command(f"connect {self.world.username} wrong-{attempt}",
                                          r"(?i)(incorrect|invalid|too many)[^\n]*\n", timeout=20))
            client.close()
        self.assertIn("Too many login failures", replies[-1])
        client = self.connect()
        client.read_until(r"connect <username>", timeout=60)
        right = client.command(f"connect {self.world.username} {self.world.password}",
                               r"(?i)(too many|You become)[^\n]*\n", timeout=20)
        self.assertIn("Too many login failures", right)  # even the right password waits it out
